"""Neurall: the backend of a hosted AI image-generation service."""

__version__ = "0.1.0"
