"""Policy plane: decisions at publish time and the quarantine workflow."""
