"""The shared plain types at the bottom: ids, digests, frames, tree nodes and chat messages."""
