"""Benchmark curves: measured points with provenance, their store and length interpolation."""
