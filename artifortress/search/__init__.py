"""Index plane: a rebuildable full-text projection of packages, fed by the outbox worker."""
