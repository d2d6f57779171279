"""Generation units with explicit contracts.

Currency, prompt collection, provider execution, metadata construction and
orchestration produce one frame; plan, executor and run drive a whole ``generate``.
"""
