"""The exercises: each conclusion asserted from the experiment's own numbers, and the command's contract."""

from __future__ import annotations

import dataclasses
import math
import re
import warnings

import pytest

from descentlab.chapter import exercises as ex
from descentlab.chapter.exercise_words import SKETCHES, WORDS, conclusion, title
from descentlab.cli import main
from descentlab.lang import EN, ZH

HAN = re.compile(r"[\u4e00-\u9fff]")
NUMBER = re.compile(r"(?<![A-Za-z\u0370-\u03ff\d._])[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
"""A number as the sentences print it; not the digit of a name such as x1 or β2."""
NAMES = ("AdaGrad", "RMSProp", "AdaDelta", "Adam", "Yogi", "Rosenbrock", "Gerschgorin", "Fashion", "MNIST", "LeNet",
         "airfoil")


@pytest.fixture(scope="module")
def answered(airfoil) -> dict[str, ex.Exercise]:
    return {e.key: e for e in ex.run_exercises(airfoil)}


def test_every_exercise_is_answered_or_sketched(answered) -> None:
    experimental = {k for k, e in answered.items() if e.experimental}
    assert experimental == set(WORDS) == {key for key, _ in ex.experiments(data=object())}
    assert {k for k, e in answered.items() if not e.experimental} == set(SKETCHES) == {k for k, _ in ex.PROOFS}
    for e in answered.values():
        assert conclusion(e)
        if e.experimental:
            assert e.series and all(len(v) == len(e.x) for v in e.series.values()), e.key


def test_momentum_grid_widens_the_stable_range(answered) -> None:
    n = answered["momentum-1"].numbers
    assert n["largest_stable_lr[0]"] <= n["bound[0]"] == 0.5  # GD: 2/lambda_max
    assert n["largest_stable_lr[0.5]"] > n["largest_stable_lr[0]"]  # momentum lowers f beyond GD's limit
    assert n["best_f[0.5]"] < n["best_f[0]"] / 100
    assert "grows with β for 4 of the 4" in conclusion(answered["momentum-1"])


def test_many_eigenvalues_momentum_helps_the_slow_directions(answered) -> None:
    n = answered["momentum-2"].numbers
    assert n["momentum_f"] < n["gd_f"] / 10
    assert n["momentum_slowest"] < n["gd_slowest"]  # the smallest eigenvalue's coordinate
    assert n["gd_slowest"] == pytest.approx((1 - n["lr"] * n["lmin"]) ** n["steps"], rel=1e-12)  # GD's closed form
    assert "less" in conclusion(answered["momentum-2"])


def test_minibatch_momentum_large_effective_step_ends_highest(answered) -> None:
    n = answered["momentum-4"].numbers
    assert n["mean[0.01/0.9]"] > n["mean[0.002/0.9]"]  # eta/(1-beta) 0.1 against 0.02
    assert n["mean[0.01/0.9]"] > n["mean[0.02/0]"]
    words = conclusion(answered["momentum-4"])
    assert ("the largest, 0.1, ends highest" in words) == (max(
        (k for k in n if k.startswith("mean[")), key=n.get) == "mean[0.01/0.9]")


@pytest.mark.parametrize("key", ["adagrad-2", "rmsprop-2"])
def test_diagonal_preconditioning_depends_on_the_basis(answered, key: str) -> None:
    """Same eigenvalues, rotated axes: a measurably different point (and f) after the same steps."""
    n = answered[key].numbers
    assert n["rotated_f"] > 1.5 * n["aligned_f"]
    assert abs(n["rotated_distance"] - n["aligned_distance"]) > 0.1
    assert "diagonal preconditioner" in conclusion(answered[key])


def test_the_rotated_problem_is_d2ls() -> None:
    import torch
    x = torch.tensor([[0.3, -1.7], [2.0, 0.5]], dtype=torch.float64)
    expected = 0.1 * (x[:, 0] + x[:, 1]) ** 2 + 2 * (x[:, 0] - x[:, 1]) ** 2
    assert torch.allclose(ex.ROTATED.f(x), expected, rtol=1e-12)


def test_rmsprop_gamma_one_is_gd_at_lr_over_root_eps(answered) -> None:
    n = answered["rmsprop-1"].numbers
    assert n["s_max"] == 0.0  # the average never leaves its start
    assert n["max_gd_relative"] <= 1e-9  # every step is GD's at eta / sqrt(eps)
    assert n["effective_lr"] > n["gd_bound"] and n["gamma1_f"] > n["start_f"]
    assert "the same path" in conclusion(answered["rmsprop-1"])


def test_a_leaky_average_decays_less_than_adagrads_sum(answered) -> None:
    n = answered["adagrad-6"].numbers
    assert n["f[rmsprop0.99]"] < n["f[adagrad]"]


def test_adadelta_rho_changes_the_result(answered) -> None:
    finals = [answered["adadelta-1"].numbers[f"f[{r:g}]"] for r in ex.ADADELTA_RHOS]
    assert max(finals) > 10 * min(finals)


def test_adadelta_is_not_learning_rate_free(answered) -> None:
    n = answered["adadelta-3"].numbers
    assert n["remaining[1]"] < 0.05 and n["remaining[10000]"] > 0.9  # the same problem in other units
    assert "not learning-rate free" in conclusion(answered["adadelta-3"])


def test_adam_small_lr_crawls(answered) -> None:
    n = answered["adam-1"].numbers
    assert n["notes[0.01]"] > 100 * min(n[f"notes[{lr:g}]"] for lr in ex.ADAM_LRS)


def test_adam_fails_where_yogi_converges(answered) -> None:
    n = answered["adam-4"].numbers
    start_gap = n["start_f"] - n["f_star"]
    assert n["adam_gap"] > start_gap  # Adam's average loss rose
    assert n["yogi_gap"] < start_gap / 10  # Yogi's fell
    assert n["adam_x"] > 0 > n["x_star"] and n["yogi_x"] < 0
    assert "Adam's loss rose" in conclusion(answered["adam-4"])


def test_conclusions_follow_the_numbers_not_fixed_text(answered) -> None:
    """The same sentence function says the opposite when the numbers say the opposite."""
    e = answered["adam-4"]
    swapped = dataclasses.replace(e, numbers={**e.numbers, "adam_gap": 1.0, "yogi_gap": 1e6})
    assert "do not part" in conclusion(swapped)
    r = answered["adagrad-2"]
    same = dataclasses.replace(r, numbers={**r.numbers, "rotated_f": r.numbers["aligned_f"]})
    assert "little difference" in conclusion(same)
    other = dataclasses.replace(r, numbers={**r.numbers, "rotated_lmax": 2 * r.numbers["rotated_lmax"]})
    assert "not the same problem turned" in conclusion(other)


def test_command_runs_one_and_writes_its_figure(tmp_path, capsys) -> None:
    out = tmp_path / "yogi.svg"
    assert main(["exercises", "adam-4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("adam 4:") and "Yogi" in printed and out.read_text().startswith("<?xml")


@pytest.mark.parametrize("argv, message", [
    (["exercises", "99"], r"unknown exercise '99'; choose 1\.\.11"),
    (["exercises", "adam-4", "--lang", "fr"], r"argument --lang: invalid choice: 'fr' \(choose from 'en', 'zh'\)"),
    (["exercises", "--out", "x.svg"], r"--out needs one exercise N"),
    (["exercises", "momentum-4"], r"momentum-4 trains on the airfoil data"),
])
def test_command_mistakes_are_one_line_and_exit_2(argv, message, capsys, monkeypatch) -> None:
    import re
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(message, err)


def _numbers(text: str) -> list[str]:
    return sorted(NUMBER.findall(text))


def test_chinese_conclusions_hold_the_numbers_of_the_english_ones(answered) -> None:
    """The same records, both languages: every number printed in English is printed in Chinese, and no other."""
    for e in answered.values():
        english, chinese = conclusion(e, EN), conclusion(e, ZH)
        assert HAN.search(chinese) and not HAN.search(english), e.key
        assert _numbers(chinese) == _numbers(english), e.key
        assert len(_numbers(english)) >= (3 if e.experimental else 0), e.key
        assert _numbers(title(e, ZH)) == _numbers(title(e, EN)), e.key
    assert title(answered["adam-4"], ZH) == "Adam算法 练习 4：试着构造一个Adam算法发散而Yogi收敛的例子。"
    assert title(answered["adam-4"]) == "adam 4: Try to construct a case for which Adam diverges and Yogi converges."


def test_chinese_conclusions_follow_the_numbers_too(answered) -> None:
    e = answered["adam-4"]
    swapped = dataclasses.replace(e, numbers={**e.numbers, "adam_gap": 1.0, "yogi_gap": 1e6})
    assert "没有像构造预期的那样分开" in conclusion(swapped, ZH)
    assert "Adam算法的损失上升了" in conclusion(e, ZH)
    assert "并非真的不需要学习率" in conclusion(answered["adadelta-3"], ZH)
    assert "即同一条路径" in conclusion(answered["rmsprop-1"], ZH)


def test_every_text_of_an_exercise_has_its_chinese(answered) -> None:
    for e in answered.values():
        texts = [e.section, e.question, *([e.x_label, e.y_label, *e.series] if e.experimental else [])]
        for text in texts:
            assert text in e.chinese, (e.key, text)
            words = text
            for name in NAMES:
                words = words.replace(name, "")
            if re.search(r"[A-Za-z]{4,}", words):
                assert HAN.search(e.text(text, ZH)), (e.key, text)
            assert e.text(text, EN) == text


def test_the_figure_is_drawn_in_the_language_asked(answered) -> None:
    from matplotlib.figure import Figure

    from descentlab.plotting.exercises import draw_exercise

    e = answered["adagrad-2"]
    for say, heading, x_label in ((EN, "adagrad exercise 2", "step"), (ZH, "AdaGrad算法 练习 2", "迭代步数")):
        ax = Figure().add_subplot()
        draw_exercise(ax, e, say)
        assert ax.get_title() == heading and ax.get_xlabel() == x_label
        assert [t.get_text() for t in ax.get_legend().get_texts()] == [e.text(label, say) for label in e.series]
    assert HAN.search(e.text(next(iter(e.series)), ZH))


def test_command_in_chinese_prints_the_records_words_and_draws_every_glyph(tmp_path, capsys) -> None:
    out = tmp_path / "yogi.png"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["exercises", "adam-4", "--lang", "zh", "--out", str(out)]) == 0
    assert not [w for w in caught if "missing from font" in str(w.message)]  # a CJK font drew the Chinese
    record = ex.adam_against_yogi()
    assert capsys.readouterr().out == f"{title(record, ZH)}\n  {conclusion(record, ZH)}\n已写入 {out}\n"
    assert out.read_bytes().startswith(b"\x89PNG")


def test_command_without_a_cjk_font_says_so_in_one_line_before_the_run(tmp_path, capsys, monkeypatch) -> None:
    from descentlab.plotting import fonts

    def none_installed() -> str:
        raise fonts.MissingFont("no CJK font found for Chinese figures: install one")

    monkeypatch.setattr(fonts, "cjk_family", none_installed)
    monkeypatch.setattr(ex, "run_exercises", lambda *a, **k: pytest.fail("ran before the font was checked"))
    assert main(["exercises", "adam-4", "--lang", "zh", "--out", str(tmp_path / "yogi.svg")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1 and "--lang zh: no CJK font found" in err
    assert list(tmp_path.iterdir()) == []


# --- every exercise's stated quantity, recomputed from the formula it prints --------------------------------
#
# Each experimental exercise prints the function it ran.  The tests below read that printed text (a parser
# written here, with sympy, not the package's formula objects), check that it is in the words the user reads,
# rebuild the function from it, and recompute the numbers the exercise states: a text that differs from
# the function that was run (adagrad-2 once printed 0.1 x1² + 2 x2² for a run on 0.2 x1² + 4 x2²) fails.

import sympy  # noqa: E402  (torch's own dependency)
import torch  # noqa: E402
from sympy.parsing.sympy_parser import (  # noqa: E402
    convert_xor,
    implicit_multiplication_application,
    parse_expr,
    standard_transformations,
)

from descentlab.lab.objectives import Objective  # noqa: E402
from descentlab.lab.trajectory import run_batch  # noqa: E402

X1, X2, X = sympy.symbols("x1 x2 x")
SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")


def parsed(text: str) -> sympy.Expr:
    """A printed formula (``0.1 (x1 + x2)² + 2 (x1 − x2)²``, ``8/3·x + 0.005·x²``) as a sympy expression."""
    plain = text.replace("−", "-").replace("·", "*").replace("²", "**2")
    return parse_expr(plain, {"x1": X1, "x2": X2, "x": X},
                      transformations=standard_transformations + (implicit_multiplication_application, convert_xor))


def stated(e: ex.Exercise, role: str, say=EN) -> sympy.Expr:
    """The function the exercise states for ``role``: its text must be in the question or the conclusion."""
    text = e.formulas[role]
    assert text in title(e, say) or text in conclusion(e, say), (e.key, text)
    return parsed(text)


def run_on(expr: sympy.Expr, algorithm: str, settings: list[dict], steps: int, start: tuple[float, float]):
    """The registry's rule on the function ``expr`` (rebuilt from its text), from ``start``."""
    function = sympy.lambdify((X1, X2), expr, "math")
    objective = Objective(name="stated", formula=str(expr), f=lambda x: function(x[..., 0], x[..., 1]),
                          window=((-6.0, 2.0), (-3.0, 3.0)), start=start, minima=((0.0, 0.0),))
    return run_batch(algorithm, objective, settings, steps=steps)


def at(expr: sympy.Expr, x1: float, x2: float) -> float:
    return float(expr.subs({X1: x1, X2: x2}))


def shown(value: float, words: str, digits: int = 3) -> None:
    """``value`` (recomputed) is printed in ``words`` to ``digits`` significant digits."""
    assert f"{value:.{digits}g}" in words, (f"{value:.{digits}g}", words)


def _start(n: dict, key: str = "") -> tuple[float, float]:
    return n[f"start_x1{key}"], n[f"start_x2{key}"]


def test_momentum_1_states_the_function_it_ran(answered) -> None:
    e = answered["momentum-1"]
    n, words = e.numbers, conclusion(e)
    f = stated(e, "f")
    lmax = max(float(v) for v in sympy.hessian(f, (X1, X2)).eigenvals())
    assert n["lmax"] == pytest.approx(lmax, rel=1e-12)
    for b in ex.MOMENTUM_BETAS:
        assert n[f"bound[{b:g}]"] == pytest.approx((2 + 2 * b) / lmax, rel=1e-12)
        (run,) = run_on(f, "momentum", [{"lr": n[f"best_lr[{b:g}]"], "momentum": b}], int(n["steps"]), _start(n))
        assert run.values[-1] == pytest.approx(n[f"best_f[{b:g}]"], rel=1e-9)
        assert at(f, *run.final) == pytest.approx(n[f"best_f[{b:g}]"], rel=1e-9)
    best = min(ex.MOMENTUM_BETAS, key=lambda b: n[f"best_f[{b:g}]"])
    shown(n[f"best_f[{best:g}]"], words)
    shown(n["best_f[0]"], words)


def test_momentum_2_states_the_function_it_ran(answered) -> None:
    import re

    e = answered["momentum-2"]
    n, words = e.numbers, conclusion(e)
    text = e.formulas["f"]
    assert text in words
    match = re.fullmatch(r"½ \(2⁻¹ x₁² \+ 2⁻² x₂² \+ … \+ 2⁻(\S+) x\S+²\)", text)
    d = int(match.group(1).translate(SUPERSCRIPT))
    lam = [2.0**-i for i in range(1, d + 1)]
    lr, beta, steps = n["lr"], n["beta"], int(n["steps"])
    gd = [(1 - lr * l) ** steps for l in lam]  # each coordinate of GD from 1: (1 − ηλ)^T
    x, v = [1.0] * d, [0.0] * d  # heavy ball, velocity form, by hand
    for _ in range(steps):
        v = [beta * vi + lr * l * xi for vi, l, xi in zip(v, lam, x)]
        x = [xi - vi for xi, vi in zip(x, v)]
    gd_f = 0.5 * sum(l * c * c for l, c in zip(lam, gd))
    momentum_f = 0.5 * sum(l * c * c for l, c in zip(lam, x))
    assert (n["gd_f"], n["momentum_f"]) == pytest.approx((gd_f, momentum_f), rel=1e-9)
    assert (n["lmax"], n["lmin"], n["dimensions"]) == (max(lam), min(lam), d)
    for value in (gd_f, momentum_f, gd[-1], abs(x[-1])):
        shown(value, words)


def test_momentum_4_states_the_loss_it_ran(answered, airfoil) -> None:
    import re

    e = answered["momentum-4"]
    n, words = e.numbers, conclusion(e)
    assert e.formulas["loss"] == "mean((Xw + b − y)²)/2" and e.formulas["loss"] in words
    features = torch.cat([airfoil.features.double(), torch.ones(airfoil.rows, 1, dtype=torch.float64)], dim=1)
    labels = airfoil.labels.double()
    solution = torch.linalg.lstsq(features, labels.unsqueeze(1)).solution
    optimum = float(((features @ solution).squeeze(1) - labels).pow(2).mean() / 2)
    assert n["optimum"] == pytest.approx(optimum, abs=1e-8)
    assert f"least-squares optimum {optimum:.6f}" in words
    best = min(((lr, b) for lr, b in ex.AIRFOIL_MOMENTUM), key=lambda p: n[f"mean[{p[0]:g}/{p[1]:g}]"])
    mean = n[f"mean[{best[0]:g}/{best[1]:g}]"]
    assert f"({mean:.6f}, {mean - optimum:+.4f} above the optimum)" in words
    for label in e.series:  # "η 0.01, β 0.9 (η/(1−β) = 0.1)": the stated ratio from the stated η and β
        lr, beta, ratio = map(float, re.fullmatch(r"η (\S+), β (\S+) \(η/\(1−β\) = (\S+)\)", label).groups())
        assert f"{lr / (1 - beta):.3g}" == f"{ratio:g}"


@pytest.mark.parametrize("key, algorithm, hyperparameters", [
    ("adagrad-2", "adagrad", {"lr": 0.4}), ("rmsprop-2", "rmsprop", {"lr": 0.4, "gamma": 0.9})])
def test_rotated_exercises_state_the_functions_they_ran(answered, key, algorithm, hyperparameters) -> None:
    e = answered[key]
    n, words = e.numbers, conclusion(e)
    aligned, rotated = stated(e, "aligned"), stated(e, "rotated")
    # d2l's rotated form and the axis-aligned one: one spectrum (what the words claim), printed
    spectra = [sorted(float(v) for v in sympy.hessian(g, (X1, X2)).eigenvals()) for g in (aligned, rotated)]
    assert spectra[0] == pytest.approx(spectra[1], rel=1e-12)
    assert f"same Hessian eigenvalues, {spectra[0][0]:.3g} and {spectra[0][1]:.3g}" in words
    start = _start(n)
    for g, name in ((aligned, "aligned"), (rotated, "rotated")):
        (run,) = run_on(g, algorithm, [hyperparameters], int(n["steps"]), start)
        assert at(g, *start) == pytest.approx(n[f"{name}_start_f"], rel=1e-12)
        assert run.values[-1] == pytest.approx(n[f"{name}_f"], rel=1e-9)
        assert at(g, n[f"x1[{name}]"], n[f"x2[{name}]"]) == pytest.approx(n[f"{name}_f"], rel=1e-9)
        shown(run.values[-1], words)
        shown(at(g, *start), words)
        shown(math.hypot(*run.final), words)


def test_adagrad_6_states_the_function_it_ran(answered) -> None:
    e = answered["adagrad-6"]
    n, words = e.numbers, conclusion(e)
    f = stated(e, "f")
    runs = [("adagrad", {"lr": n["lr"]}, "adagrad"), ("rmsprop", {"lr": n["lr"], "gamma": 0.99}, "rmsprop0.99"),
            ("rmsprop", {"lr": n["lr"], "gamma": 0.9}, "rmsprop0.9")]
    for algorithm, hp, key in runs:
        (run,) = run_on(f, algorithm, [hp], int(n["steps"]), ex.NOTES.start)
        assert run.values[-1] == pytest.approx(n[f"f[{key}]"], rel=1e-9)
        shown(run.values[-1], words)
    shown(n["x1[adagrad]"], words)


def test_rmsprop_1_states_the_function_it_ran(answered) -> None:
    e = answered["rmsprop-1"]
    n, words = e.numbers, conclusion(e)
    f = stated(e, "f")
    lmax = max(float(v) for v in sympy.hessian(f, (X1, X2)).eigenvals())
    assert f"2/λmax = {2 / lmax:g}" in words
    start = _start(n)
    assert f"f goes from {at(f, *start):g}" in words
    # γ = 1 is gradient descent at η/√ε: that GD on the stated function, by hand, gives the printed f
    gradient = sympy.lambdify((X1, X2), [sympy.diff(f, X1), sympy.diff(f, X2)], "math")
    lr, (x1, x2) = n["lr"] / math.sqrt(n["eps"]), start
    for _ in range(int(n["steps"])):
        g1, g2 = gradient(x1, x2)
        x1, x2 = x1 - lr * g1, x2 - lr * g2
    assert at(f, x1, x2) == pytest.approx(n["gamma1_f"], rel=1e-9)
    shown(at(f, x1, x2), words)


def test_adadelta_1_states_the_function_it_ran(answered) -> None:
    e = answered["adadelta-1"]
    n, words = e.numbers, conclusion(e)
    f = stated(e, "f")
    runs = run_on(f, "adadelta", [{"rho": r} for r in ex.ADADELTA_RHOS], int(n["steps"]), ex.NOTES.start)
    for r, run in zip(ex.ADADELTA_RHOS, runs):
        assert run.values[-1] == pytest.approx(n[f"f[{r:g}]"], rel=1e-9)
        assert f"ρ = {r:g}: f = {run.values[-1]:.3g}" in words


def test_adadelta_3_states_the_functions_it_ran(answered) -> None:
    e = answered["adadelta-3"]
    n, words = e.numbers, conclusion(e)
    functions = {s: stated(e, f"{s:g}") for s in ex.ADADELTA_SCALES}
    first = functions[ex.ADADELTA_SCALES[0]]
    for s, g in functions.items():  # the same problem in other units: g(s·x) = f(x)
        assert sympy.simplify(g.subs({X1: s * X1, X2: s * X2}, simultaneous=True) - first) == 0
        start = _start(n, f"[{s:g}]")
        assert start == pytest.approx((s * ex.NOTES.start[0], s * ex.NOTES.start[1]))
        (run,) = run_on(g, "adadelta", [{}], int(n["steps"]), start)
        left = math.hypot(*run.final) / math.hypot(*start)
        assert left == pytest.approx(n[f"remaining[{s:g}]"], rel=1e-6)
        assert f"{left:.3g} for a start {s:g} times as far" in words


def test_adam_1_states_the_functions_it_ran(answered) -> None:
    e = answered["adam-1"]
    n, words = e.numbers, conclusion(e)
    for name in ("notes", "rosenbrock"):
        f = stated(e, name)
        runs = run_on(f, "adam", [{"lr": lr} for lr in ex.ADAM_LRS], int(n["steps"]), _start(n, f"[{name}]"))
        finals = {lr: run.values[-1] for lr, run in zip(ex.ADAM_LRS, runs)}
        assert list(finals.values()) == pytest.approx([n[f"{name}[{lr:g}]"] for lr in ex.ADAM_LRS], rel=1e-9)
        best = min(finals, key=finals.get)
        assert f"is {best:g} (f = {finals[best]:.3g}; η = {ex.ADAM_LRS[0]:g} leaves f = {finals[ex.ADAM_LRS[0]]:.3g})" in words


def test_adam_4_states_the_function_it_ran(answered) -> None:
    e = answered["adam-4"]
    n, words = e.numbers, conclusion(e)
    average = stated(e, "F")
    # the stated gradients (C + μx once, −1 + μx twice, every three steps) average to the stated F's derivative
    c, mu = n["C"], n["mu"]
    assert sympy.simplify(sympy.diff(average, X) - ((c + 2 * -1) / 3 + mu * X)) == pytest.approx(0, abs=1e-12)
    (x_star,) = sympy.solve(sympy.diff(average, X), X)
    f_star = float(average.subs(X, x_star))
    assert f"x* = {float(x_star):.4g}" in words
    for name in ("adam", "yogi"):
        gap = float(average.subs(X, n[f"{name}_x"])) - f_star
        assert gap == pytest.approx(n[f"{name}_gap"], rel=1e-9)
        assert f"F − F* = {gap:.4g}" in words
    assert f"the start has {float(average.subs(X, 0)) - f_star:.4g}" in words
