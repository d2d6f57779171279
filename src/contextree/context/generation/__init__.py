"""Generation units with explicit contracts: scope, currency, prompt collection, provider execution, metadata construction, orchestration, plan, executor and run."""
