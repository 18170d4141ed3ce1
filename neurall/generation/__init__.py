"""Generation: validation, cost, submission, cancellation and the job's life cycle."""
