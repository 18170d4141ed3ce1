"""The reactions to domain events, above the domain: each module one subscriber, and
``registry.SUBSCRIBERS`` the list the relay hands every event to (see docs/events.md)."""
