"""``descentlab benchmark``: a fair optimizer comparison under one declared protocol.

``problems`` (data, model, budget, target), ``spaces`` (search spaces, optimizers
by name or import path), ``engine`` (batched registry rules, the torch.optim loop,
Ray), ``protocol`` (tuning, selection, fresh-seed re-runs), ``scoring``
(AlgoPerf's performance profiles), ``summary`` and ``report`` (tables, figures,
JSON and CSV).  Nothing is imported here, so ``descentlab --help`` stays light.
"""
