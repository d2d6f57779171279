"""contextree: AI-generated context frames for a code workspace, kept in a Merkle tree."""

__version__ = "0.1.0"
