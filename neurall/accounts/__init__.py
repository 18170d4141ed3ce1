"""Accounts: passwords, sessions, API keys and profile changes. Knows nothing of GraphQL."""
