"""Measure a real endpoint: an OpenAI-compatible streaming load generator and a mock server."""
