"""Notifications: per-repository webhook subscriptions, delivered by the outbox worker."""
