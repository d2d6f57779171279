"""Agents: profiles (role and prompt contract), the built-in agents and the registry."""
