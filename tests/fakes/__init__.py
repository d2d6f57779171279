"""Fakes that speak real protocols, for tests and benchmarks (not mocks)."""
