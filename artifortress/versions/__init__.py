"""The metadata/publish plane: packages, versions, artifacts, labels."""
