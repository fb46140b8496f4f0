"""Conventions presets: each library's defaults written as our hyperparameters.

:data:`PRESETS` maps a convention (``notes``, ``torch``, ``optax``, ``keras``,
``tf1``, ``paper``) to, per algorithm, the hyperparameter values that make our one
rule behave as that library's optimizer with its defaults.  A preset has no entry
for an optimizer the library lacks, or whose convention our rule cannot express;
:data:`UNAVAILABLE` says why, and :func:`preset` refuses in one line.  An explicit
hyperparameter always overrides the preset (:func:`apply`).

Where each column comes from, and how it is checked (tests/test_conventions.py):

* ``torch``: torch.optim 2.13's defaults; run against torch.optim, and against every
  configuration of torch's own ``optim_db`` (tests/test_optim_db.py).
* ``optax``: optax 0.2.8's aliases (``optax.sgd``, ``adagrad``, ``rmsprop``,
  ``adadelta``, ``adam``/``adamw``/``amsgrad``, ``yogi``), read in its code and run
  against it (jax on CPU with x64), 200 float64 steps.
* ``keras``: Keras 3.15's optimizers (``weight_decay`` is decoupled and lr-scaled,
  applied before the step, on every optimizer), read in its code and run against it
  (torch backend, float64), 200 steps.
* ``tf1``: ``tf.compat.v1.train``'s documented defaults and kernels (RMSProp's
  average starts at 1); TensorFlow is not installed, so the tests check them against
  steps computed by hand from TF1's documented formulas.
* ``paper``: the values the original papers give; only checked for being valid.

What no switch expresses is listed in :data:`UNAVAILABLE` and in the README.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CONVENTIONS: tuple[str, ...] = ("notes", "torch", "optax", "keras", "tf1", "paper")

_TORCH_ADAGRAD = {"eps": 1e-10, "eps_in_sqrt": False}
_TORCH_RMSPROP = {"gamma": 0.99, "eps": 1e-8, "eps_in_sqrt": False}
_KERAS_DECAY = {"decoupled_weight_decay": True}

PRESETS: dict[str, dict[str, dict[str, Any]]] = {
    # the notes' own defaults: every hyperparameter table's default
    "notes": {name: {} for name in ("sgd", "momentum", "adagrad", "rmsprop", "adadelta", "adam", "yogi")},
    "torch": {
        "sgd": {"lr": 0.001},
        "momentum": {"lr": 0.001, "form": "torch"},
        "adagrad": {"lr": 0.01, **_TORCH_ADAGRAD},
        "rmsprop": {"lr": 0.01, **_TORCH_RMSPROP},
        "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
        "adam": {"lr": 0.001, "eps": 1e-8},
    },
    "optax": {
        "sgd": {},
        # optax.trace: t <- g + decay t, update -lr t: torch's form without dampening
        "momentum": {"form": "torch"},
        # optax.scale_by_rss: s starts at 0.1, g * rsqrt(s + eps)
        "adagrad": {"initial_accumulator_value": 0.1, "eps": 1e-7, "eps_in_sqrt": True},
        # optax.rmsprop: scale_by_rms (decay 0.9, g * rsqrt(nu + eps), initial_scale 0, no bias correction),
        # then -lr, then optax.trace(momentum): the momentum buffer holds lr u (the velocity form)
        "rmsprop": {"gamma": 0.9, "eps": 1e-8, "eps_in_sqrt": True, "momentum_form": "velocity"},
        # optax.adadelta's default learning_rate=None skips the -lr scaling: x <- x + g', up the gradient;
        # its weight_decay is add_decayed_weights before the rule (L2)
        "adadelta": {"lr": -1.0, "signed_lr": True, "rho": 0.9, "eps": 1e-6},
        # optax.adam (eps_root 0); optax.adam has no weight decay, optax.adamw's is decoupled and lr-scaled;
        # optax.amsgrad takes the maximum of the bias-corrected v^
        "adam": {"eps": 1e-8, "decoupled_weight_decay": True, "amsgrad_max": "after_correction"},
        # optax.scale_by_yogi: mu and nu start at 1e-6, eps 1e-3 outside the root, bias-corrected
        "yogi": {"eps": 1e-3, "initial_accumulator_value": 1e-6},
    },
    # every Keras optimizer's weight_decay: x <- x (1 - weight_decay lr) before the step (base_optimizer)
    "keras": {
        "sgd": {"lr": 0.01, **_KERAS_DECAY},
        # keras SGD: m <- momentum m - lr g, x <- x + m: the velocity form
        "momentum": {"lr": 0.01, "form": "velocity", **_KERAS_DECAY},
        "adagrad": {"lr": 0.001, "initial_accumulator_value": 0.1, "eps": 1e-7, "eps_in_sqrt": True, **_KERAS_DECAY},
        # keras RMSprop: b <- momentum b + lr g / sqrt(s + eps), x <- x - b: the velocity form
        "rmsprop": {"lr": 0.001, "gamma": 0.9, "eps": 1e-7, "eps_in_sqrt": True, "momentum_form": "velocity",
                    **_KERAS_DECAY},
        "adadelta": {"lr": 0.001, "rho": 0.95, "eps": 1e-7, **_KERAS_DECAY},
        "adam": {"lr": 0.001, "eps": 1e-7, "eps_mode": "epsilon_hat", **_KERAS_DECAY},
    },
    "tf1": {
        # MomentumOptimizer: accum <- momentum accum + g, x <- x - lr accum
        "momentum": {"form": "torch"},
        "sgd": {},
        # AdagradOptimizer: accumulator starts at 0.1, x <- x - lr g / sqrt(accum), no eps
        "adagrad": {"initial_accumulator_value": 0.1, "eps": 0.0, "eps_in_sqrt": True},
        # RMSPropOptimizer: ms starts at 1; mom <- momentum mom + lr g / sqrt(ms + eps), x <- x - mom
        "rmsprop": {"gamma": 0.9, "eps": 1e-10, "eps_in_sqrt": True, "initial_accumulator_value": 1.0,
                    "momentum_form": "velocity"},
        "adadelta": {"lr": 0.001, "rho": 0.95, "eps": 1e-8},
        "adam": {"lr": 0.001, "eps": 1e-8, "eps_mode": "epsilon_hat"},
    },
    "paper": {
        "adam": {"lr": 0.001, "eps": 1e-8},  # Kingma & Ba, Algorithm 1
        "adadelta": {"lr": 1.0, "rho": 0.95, "eps": 1e-6},  # Zeiler, section 4
        "rmsprop": {"gamma": 0.9},  # Tieleman & Hinton, lecture 6e
        "yogi": {"lr": 0.01, "eps": 1e-3},  # Zaheer et al., section 4
    },
}

UNAVAILABLE: dict[tuple[str, str], str] = {
    ("torch", "yogi"): "torch.optim has no Yogi",
    ("keras", "yogi"): "Keras 3 has no Yogi",
    ("tf1", "yogi"): "TF1 has no Yogi",
    ("paper", "sgd"): "no single paper fixes SGD's defaults",
    ("paper", "momentum"): "no single paper fixes momentum's defaults",
    ("paper", "adagrad"): "Duchi et al. give no eps or initial accumulator",
}


def preset(convention: str, algorithm: str) -> dict[str, Any]:
    """The hyperparameters of ``algorithm`` under ``convention`` (a new dict); ``ValueError`` in one line if none."""
    if convention not in PRESETS:
        raise ValueError(f"unknown conventions {convention!r}; choose one of: {', '.join(CONVENTIONS)}")
    table = PRESETS[convention]
    if algorithm not in table:
        reason = UNAVAILABLE.get((convention, algorithm), f"{convention} has no {algorithm}")
        raise ValueError(f"conventions {convention!r} have no {algorithm}: {reason}")
    return dict(table[algorithm])


def apply(convention: str | None, algorithm: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """``given`` over the preset (a new dict; neither is changed): an explicit hyperparameter wins."""
    if convention is None:
        return dict(given)
    return {**preset(convention, algorithm), **given}


__all__ = ["CONVENTIONS", "PRESETS", "UNAVAILABLE", "apply", "preset"]
