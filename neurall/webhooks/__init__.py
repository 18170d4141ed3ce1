"""Webhooks: endpoints, signed events, delivery with retries, SSRF-safe HTTP."""
