"""The exercises' sentences, each computed from one :class:`~descentlab.chapter.exercises.Exercise`'s numbers.

One function per exercise, all in English and all here, so that a translation
can later be applied in one place.  ``conclusion(exercise)`` dispatches by key;
a proof-only exercise gets its sketch (fixed text: a derivation, not a result).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .exercises import ADADELTA_RHOS, ADADELTA_SCALES, ADAM_LRS, AIRFOIL_MOMENTUM, MOMENTUM_BETAS, Exercise

DIFFERENT = 1.5
"""Two final values "differ" when one is more than this factor larger than the other."""


SAME_PATH = 1e-9
"""Two paths are "the same" when no coordinate differs by more than this, relative."""


def _g(value: float) -> str:
    return "diverged" if not math.isfinite(value) else f"{value:.3g}"


def _ratio(a: float, b: float) -> float:
    return math.inf if b == 0 else a / b


def momentum_grid_words(e: Exercise) -> str:
    n = e.numbers
    best_beta = min(MOMENTUM_BETAS, key=lambda b: n[f"best_f[{b:g}]"])
    within = [b for b in MOMENTUM_BETAS if n[f"largest_stable_lr[{b:g}]"] <= n[f"bound[{b:g}]"]]
    gd_lr = n["largest_stable_lr[0]"]
    grew = [b for b in MOMENTUM_BETAS if b > 0 and n[f"largest_stable_lr[{b:g}]"] > gd_lr]
    return (f"After {n['steps']:g} steps the best pair is β = {best_beta:g} with η = {n[f'best_lr[{best_beta:g}]']:g} "
            f"(f = {_g(n[f'best_f[{best_beta:g}]'])}); without momentum the best is η = {n['best_lr[0]']:g} "
            f"(f = {_g(n['best_f[0]'])}). "
            f"The largest η of the grid that still lowers f grows with β for {len(grew)} of the "
            f"{len(MOMENTUM_BETAS) - 1} momentum values, and it stays below the bound (2+2β)/λmax for "
            f"{len(within)} of {len(MOMENTUM_BETAS)} β. "
            + (f"A large β is not free: at β = {MOMENTUM_BETAS[-1]:g} the best f is {_g(n[f'best_f[{MOMENTUM_BETAS[-1]:g}]'])}, "
               f"{'worse' if n[f'best_f[{MOMENTUM_BETAS[-1]:g}]'] > n[f'best_f[{best_beta:g}]'] else 'no better'} than at "
               f"β = {best_beta:g}: the velocity oscillates longer than 20 steps." if best_beta != MOMENTUM_BETAS[-1] else ""))


def many_eigenvalues_words(e: Exercise) -> str:
    n = e.numbers
    better = n["momentum_f"] < n["gd_f"]
    return (f"With {n['dimensions']:g} eigenvalues from {n['lmax']:g} down to {n['lmin']:.3g} and η = {n['lr']:g}, after "
            f"{n['steps']:g} steps gradient descent leaves f = {n['gd_f']:.3g} and momentum (β = {n['beta']:g}) "
            f"f = {n['momentum_f']:.3g}, {_ratio(n['gd_f'], n['momentum_f']):.3g} times "
            f"{'less' if better else 'more'}. The coordinate with the smallest λ is still at {n['gd_slowest']:.3g} "
            f"under GD (it shrinks by 1 − ηλ per step) and at {n['momentum_slowest']:.3g} under momentum; the steepest "
            f"coordinate is at {n['gd_fastest']:.2g} and {n['momentum_fastest']:.2g}. "
            + ("Momentum trades a little error on the fast directions for much faster progress on the slow ones."
               if n["momentum_slowest"] < n["gd_slowest"] and n["momentum_fastest"] > n["gd_fastest"] else
               "Momentum " + ("helps" if better else "does not help") + " on this spectrum."))


def minibatch_momentum_words(e: Exercise) -> str:
    n = e.numbers
    tags = [f"{lr:g}/{b:g}" for lr, b in AIRFOIL_MOMENTUM]
    best = min(tags, key=lambda t: n[f"mean[{t}]"])
    worst = max(tags, key=lambda t: n[f"mean[{t}]"])
    same_eff = [t for t in tags if math.isclose(n[f"effective[{t}]"], n[f"effective[{tags[0]}]"], rel_tol=1e-9)
                and t != tags[0]]
    parts = [f"Over {n['seeds']:g} seeds, the lowest mean final loss is η/β = {best} ({n[f'mean[{best}]']:.6f}, "
             f"{n[f'mean[{best}]'] - n['optimum']:+.4f} above the optimum) and the highest {worst} "
             f"({n[f'mean[{worst}]']:.6f} ± {n[f'std[{worst}]']:.4f})."]
    largest = max(tags, key=lambda t: n[f"effective[{t}]"])
    smallest = min(n[f"effective[{t}]"] for t in tags)
    if largest == worst and math.isclose(n[f"effective[{best}]"], smallest, rel_tol=1e-9):
        parts.append(f"What matters is the effective step η/(1−β): the largest, {n[f'effective[{largest}]']:g}, ends "
                     f"highest, in the noise floor of the minibatch gradients, and the best run has the smallest, "
                     f"{smallest:g}.")
    else:
        parts.append("The effective step η/(1−β) alone does not order the runs here.")
    for t in same_eff:
        parts.append(f"{t} has the same η/(1−β) as {tags[0]} and ends at {n[f'mean[{t}]']:.6f} against "
                     f"{n[f'mean[{tags[0]}]']:.6f}, with standard deviation {n[f'std[{t}]']:.4f} against "
                     f"{n[f'std[{tags[0]}]']:.4f}.")
    return " ".join(parts)


def rotated_words(e: Exercise) -> str:
    n = e.numbers
    ratio = _ratio(n["rotated_f"], n["aligned_f"])
    differs = ratio > DIFFERENT or ratio < 1 / DIFFERENT
    name = {"adagrad": "AdaGrad", "rmsprop": "RMSProp"}[e.section]
    return (f"The two problems have the same eigenvalues; only the axes differ. After {n['steps']:g} steps at η = "
            f"{n['lr']:g}, {name} reaches f = {_g(n['aligned_f'])} (distance {n['aligned_distance']:.3g} from the minimum) "
            f"on the axis-aligned one and f = {_g(n['rotated_f'])} (distance {n['rotated_distance']:.3g}) on the rotated "
            f"one, {ratio:.3g} times as much. "
            + ("Its per-coordinate scaling is a diagonal preconditioner: it fits the curvature only when the "
               "curvature's axes are the coordinates, so the rotation costs it." if differs else
               "On this run the rotation makes little difference."))


def adagrad_decay_words(e: Exercise) -> str:
    n = e.numbers
    f_ada, f99, f9 = n["f[adagrad]"], n["f[rmsprop0.99]"], n["f[rmsprop0.9]"]
    best = min((f_ada, "AdaGrad"), (f99, "RMSProp γ = 0.99"), (f9, "RMSProp γ = 0.9"))
    return (f"Replacing AdaGrad's growing sum by a leaky average (RMSProp) stops the decay: its effective learning rate "
            f"η/√s recovers as the gradients shrink. At η = {n['lr']:g} over {n['steps']:g} steps AdaGrad ends at "
            f"f = {f_ada:.3g} (x1 = {n['x1[adagrad]']:.3g}), RMSProp with γ = 0.99 at f = {f99:.3g} and with γ = 0.9 at "
            f"f = {f9:.3g}; the lowest is {best[1]}. "
            + ("A short memory (γ = 0.9) ends higher than γ = 0.99: it keeps η/√s large near the minimum and hops around it."
               if f9 > f99 else "The shorter memory (γ = 0.9) does at least as well here."))


def rmsprop_gamma_one_words(e: Exercise) -> str:
    n = e.numbers
    diverged = not math.isfinite(n["gamma1_f"]) or n["gamma1_f"] > n["start_f"]
    return (f"With γ = 1 the average s ← 1·s + 0·g² never leaves its start: its largest entry after {n['steps']:g} steps "
            f"is {n['s_max']:g}. Every step is then g/√(0 + ε) times η, gradient descent with η/√ε = "
            f"{n['effective_lr']:g}: the two paths differ by at most {n['max_gd_relative']:.2g} relative"
            f"{', the same path' if n['max_gd_relative'] <= SAME_PATH else ''}. "
            + (f"That is above GD's limit 2/λmax = {n['gd_bound']:g}, so f goes from {n['start_f']:g} to "
               f"{_g(n['gamma1_f'])}, where γ = 0.9 reaches {_g(n['gamma09_f'])}." if diverged and
               n["effective_lr"] > n["gd_bound"] else
               f"f ends at {_g(n['gamma1_f'])} against {_g(n['gamma09_f'])} for γ = 0.9."))


def adadelta_rho_words(e: Exercise) -> str:
    n = e.numbers
    finals = {r: n[f"f[{r:g}]"] for r in ADADELTA_RHOS}
    best = min(finals, key=finals.get)
    worst = max(finals, key=finals.get)
    monotone = all(finals[a] >= finals[b] for a, b in zip(ADADELTA_RHOS, ADADELTA_RHOS[1:]))
    return (f"After {n['steps']:g} steps: " + ", ".join(f"ρ = {r:g}: f = {_g(f)}" for r, f in finals.items())
            + f". The best is ρ = {best:g}, the worst ρ = {worst:g}. "
            + ("A longer memory is better at every step of the grid here." if monotone else
               "The effect of ρ is not monotone: a longer memory keeps the two averages in step, a shorter one lets "
               "the step size follow the latest gradients."))


def adadelta_scale_words(e: Exercise) -> str:
    n = e.numbers
    left = {s: n[f"remaining[{s:g}]"] for s in ADADELTA_SCALES}
    small, large = ADADELTA_SCALES[0], ADADELTA_SCALES[-1]
    broken = left[large] > 0.5 and left[small] < 0.5
    return (f"Changing the units of x changes nothing for the problem, but AdaDelta's first steps have length about "
            f"√ε whatever the gradient. After {n['steps']:g} steps the share of the distance still to go is "
            + ", ".join(f"{left[s]:.3g} for a start {s:g} times as far" for s in ADADELTA_SCALES) + ". "
            + ("So it is not learning-rate free: ε sets the step length, and a problem posed in large units breaks it."
               if broken else "On these scales AdaDelta copes."))


def adam_lr_words(e: Exercise) -> str:
    n = e.numbers
    parts = []
    for objective in ("notes", "rosenbrock"):
        finals = {lr: n[f"{objective}[{lr:g}]"] for lr in ADAM_LRS}
        best = min(finals, key=finals.get)
        parts.append(f"on the {'notes’ quadratic' if objective == 'notes' else 'Rosenbrock function'} the best η after "
                     f"{n['steps']:g} steps is {best:g} (f = {_g(finals[best])}; η = {ADAM_LRS[0]:g} leaves "
                     f"f = {_g(finals[ADAM_LRS[0]])})")
    diverged = [lr for lr in ADAM_LRS if not math.isfinite(n[f"notes[{lr:g}]"])]
    return ("; ".join(parts).capitalize() + ". "
            + ("Adam's step is about η per coordinate whatever the gradient's size, so a small η crawls and a large one "
               "does not blow up: " + (f"{len(diverged)} of the {len(ADAM_LRS)} rates diverged." if diverged else
                                       f"none of the {len(ADAM_LRS)} rates diverged.")))


def adam_yogi_words(e: Exercise) -> str:
    n = e.numbers
    adam_worse = n["adam_gap"] > n["start_f"] - n["f_star"]
    yogi_better = n["yogi_gap"] < n["start_f"] - n["f_star"]
    return (f"Gradients C + μx on every third step and −1 + μx otherwise (C = {n['C']:g}, μ = {n['mu']:g}) average to "
            f"F(x) = (C−2)/3·x + μ/2·x², minimum at x* = {n['x_star']:.4g}. With β1 = 0, β2 = {n['beta2']:g} and "
            f"η = {n['lr']:g}, after {n['steps']:g} steps Adam is at x = {n['adam_x']:.4g} with F − F* = "
            f"{n['adam_gap']:.4g}, and Yogi at x = {n['yogi_x']:.4g} with F − F* = {n['yogi_gap']:.4g} (the start "
            f"has {n['start_f'] - n['f_star']:.4g}). "
            + ("Adam's loss rose: its s follows the latest g², so each step has length about η and the two small "
               "gradients outvote the large one; Yogi's s grows by (1−β2)g² while g² > s and so remembers the large "
               "gradient, and its loss fell." if adam_worse and yogi_better else
               "On this run the two do not part as the construction intends."))


SKETCHES: dict[str, str] = {
    "momentum-3": "Setting the gradient Qx + c to zero gives x* = −Q⁻¹c (Q positive definite), and substituting, "
                  "h(x*) = b − ½ cᵀQ⁻¹c.",
    "adagrad-1": "‖Uc − Uδ‖² = (c − δ)ᵀUᵀU(c − δ) = ‖c − δ‖² since UᵀU = I; a rotation keeps every distance, so a "
                 "perturbation has the same size in the new variables.",
    "adagrad-3": "Take an eigenvector v of M with |v_j| maximal; row j of Mv = λv gives (λ − M_jj)v_j = Σ_{k≠j} M_jk v_k, "
                 "and dividing by |v_j| bounds |λ − M_jj| by Σ_{k≠j} |M_jk|.",
    "adagrad-4": "After the diagonal preconditioning the diagonal entries are all 1, so every eigenvalue lies within "
                 "Σ_{k≠j} |M_jk|/√(M_jj M_kk) of 1: it helps when the off-diagonal part is small — on a rotated "
                 "problem it is not (see the AdaGrad rotation experiment).",
    "adagrad-5": "Needs Fashion-MNIST and a LeNet, outside this package's data; not run here.",
    "rmsprop-3": "Needs Fashion-MNIST, outside this package's data; the airfoil regression of the report is the real "
                 "problem run here.",
    "rmsprop-4": "γ sets the memory 1/(1−γ); a γ that grows over training makes RMSProp tend to AdaGrad. The stability "
                 "map over (η, γ) measures its sensitivity.",
    "adadelta-2": "Fold g′ into the update: x ← x − √(Δ + ε)/√(s + ε) ⊙ g and Δ ← ρΔ + (1−ρ)(that step)²: one "
                  "temporary fewer.",
    "adadelta-4": "All three scale per coordinate by a root of past g²; AdaGrad's sum only grows (the step decays), "
                  "RMSProp's and AdaDelta's averages forget; AdaDelta also replaces η by the RMS of its past steps "
                  "(see the ρ and units experiments).",
    "adam-2": "Start the averages at the first values instead of 0 (m₁ = g₁, s₁ = g₁²), or use weights "
              "(1−β)/(1−βᵗ) in the update; then the averages are unbiased from the start.",
    "adam-3": "Near the minimum the stochastic gradient's noise does not shrink, and Adam's step stays about η per "
              "coordinate, so only a decreasing η lets the iterates settle.",
}


WORDS: dict[str, Callable[[Exercise], str]] = {
    "momentum-1": momentum_grid_words,
    "momentum-2": many_eigenvalues_words,
    "momentum-4": minibatch_momentum_words,
    "adagrad-2": rotated_words,
    "adagrad-6": adagrad_decay_words,
    "rmsprop-1": rmsprop_gamma_one_words,
    "rmsprop-2": rotated_words,
    "adadelta-1": adadelta_rho_words,
    "adadelta-3": adadelta_scale_words,
    "adam-1": adam_lr_words,
    "adam-4": adam_yogi_words,
}


def conclusion(exercise: Exercise) -> str:
    """The exercise's conclusion from its numbers, or the sketch of a proof-only one."""
    if not exercise.experimental:
        return "Not experimental. " + SKETCHES[exercise.key]
    return WORDS[exercise.key](exercise)


def title(exercise: Exercise) -> str:
    return f"{exercise.section} {exercise.number}: {exercise.question}"


__all__ = ["SKETCHES", "WORDS", "conclusion", "title"]
