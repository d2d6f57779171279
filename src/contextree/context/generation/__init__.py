"""Generation units with explicit contracts.

Scope, currency, prompt collection, provider execution, metadata construction and
orchestration produce one frame; plan, executor and run drive a whole ``generate``.
"""
