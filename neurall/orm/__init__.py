"""Persistence: Tortoise models and their migrations. No domain logic lives here."""
