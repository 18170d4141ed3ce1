"""Background work: broker setup, the generation actor, and the job event bus."""
