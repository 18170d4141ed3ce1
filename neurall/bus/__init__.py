"""Infrastructure: the event buses that carry job and clone events between processes."""
