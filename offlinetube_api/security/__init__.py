"""API keys, their scopes, and signed media URLs."""
