"""Retention: each promise about how long data lives is a policy the sweeper runs."""
