"""Event plane: the transactional outbox and the workers that consume it."""
