"""A digital twin of an LLM deployment: continuous batching under seeded traffic, no I/O."""
