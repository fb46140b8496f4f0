"""How a step evaluates a rule: the in-place replay (default), the compiled path, step counters."""
