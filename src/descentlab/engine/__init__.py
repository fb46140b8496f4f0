"""The optimizer engine: how a registry rule becomes a ``torch.optim.Optimizer``.

* :mod:`~descentlab.engine.adapter`: :class:`RuleOptimizer`, the one adapter
  (validation, param groups, ``step``, ``state_dict``/``load_state_dict``).
* :mod:`~descentlab.engine.paths`: how a step evaluates the rule: ``eager`` (the
  default: the rule traced once and replayed in place, :mod:`.paths.inplace`, or run
  as one compiled C loop, :mod:`.paths.native`),
  ``fast`` (compiled with ``torch.compile``), and the step counters of a batch
  (:mod:`.paths.counters`).
* :mod:`~descentlab.engine.state`: low-precision state and compensation
  (:mod:`.state.precision`), torch.optim checkpoints in and out
  (:mod:`.state.checkpoints`).
* :mod:`~descentlab.engine.torch_names`: the torch.optim class and names behind
  each algorithm.
* :mod:`~descentlab.engine.torch_face`: the adapter storing torch.optim's names
  (group keys, state keys), the base of :mod:`descentlab.torch_optim`'s classes.

The public faces are :mod:`descentlab.optim` (the notes' conventions) and
:mod:`descentlab.torch_optim` (torch.optim's names and signatures).
"""
