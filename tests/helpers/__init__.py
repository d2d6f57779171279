"""Helpers shared by tests (not fixtures: plain functions)."""
