"""The 2D lab: objectives with their curvature, trajectories of the registry's rules, and the theory beside them.

``objectives`` holds the landscapes (the notes' quadratic, a quadratic family with
condition number and rotation, Rosenbrock, Himmelblau, a saddle) with Hessians from
autograd; ``trajectory`` runs rules on them, K settings as one batch; ``theory``
measures rates against the closed forms.
"""

from __future__ import annotations

from .objectives import OBJECTIVES, Objective, curvature, get_objective, quadratic, quadratic_theory
from .trajectory import Trajectory, effective_learning_rates, newton, run, run_batch, run_batches, run_many

__all__ = [
    "OBJECTIVES",
    "Objective",
    "Trajectory",
    "curvature",
    "effective_learning_rates",
    "get_objective",
    "newton",
    "quadratic",
    "quadratic_theory",
    "run",
    "run_batch",
    "run_batches",
    "run_many",
]
