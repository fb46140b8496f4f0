"""The exercises: each conclusion asserted from the experiment's own numbers, and the command's contract."""

from __future__ import annotations

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
    swapped = ex.Exercise(e.key, e.section, e.question, True, {**e.numbers, "adam_gap": 1.0, "yogi_gap": 1e6},
                          e.series, e.x)
    assert "do not part" in conclusion(swapped)
    r = answered["adagrad-2"]
    same = ex.Exercise(r.key, r.section, r.question, True, {**r.numbers, "rotated_f": r.numbers["aligned_f"]})
    assert "little difference" in conclusion(same)


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
    swapped = ex.Exercise(e.key, e.section, e.question, True, {**e.numbers, "adam_gap": 1.0, "yogi_gap": 1e6})
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
