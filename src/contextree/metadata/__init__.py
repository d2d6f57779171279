"""Frame metadata: the key registry, the forbidden-key/value policy and the write contract."""
