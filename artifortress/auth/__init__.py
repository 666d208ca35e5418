"""Authentication: users, personal access tokens and the request principal."""
