"""Playground history: PLAYGROUND jobs with their parameters and images, kept until deleted."""
