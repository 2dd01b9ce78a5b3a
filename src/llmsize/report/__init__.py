"""Renderers over result models: rich tables for people, versioned JSON for tools."""
