"""Example third-party plugin: a Helm chart repository."""
