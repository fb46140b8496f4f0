"""The AdaDelta puzzle, one difference at a time: code, initialization and eps, and what the report says of them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from descentlab.airfoil import Airfoil, train
from descentlab.airfoil.train import INITS, Summary
from descentlab.chapter.sections import adadelta_decomposition, airfoil_section
from descentlab.chapter.words import adadelta_case, adadelta_explanation, adadelta_headline

SEEDS = range(40)



@pytest.fixture(scope="module")
def decomposition(airfoil: Airfoil):
    return adadelta_decomposition(airfoil, SEEDS)


def test_init_is_a_parameter_of_train(airfoil: Airfoil) -> None:
    """init="torch" starts our rule from nn.Linear's draw, init="own" torch's class from the notes' draw."""
    for impl in ("own", "torch"):
        for init in INITS:
            run = train("adadelta", {"rho": 0.9}, data=airfoil, impl=impl, init=init, seeds=[3, 4])
            reference = train("adadelta", {"rho": 0.9}, data=airfoil, impl=init, seeds=[3, 4])  # init's own impl
            assert run.init == init and run.to_dict()["init"] == init
            assert [r[0] for r in run.losses] == [r[0] for r in reference.losses]  # the same start
    assert train("adam", {"lr": 0.01}, data=airfoil, seeds=[0]).init == "own"
    assert train("adam", {"lr": 0.01}, data=airfoil, impl="torch", seeds=[0]).init == "torch"
    with pytest.raises(ValueError, match="init must be one of 'own', 'torch', got 'xavier'"):
        train("adam", {"lr": 0.01}, data=airfoil, init="xavier")


def test_the_code_makes_no_difference(decomposition) -> None:
    """Our rule and torch.optim.Adadelta, same eps and start: the same final loss on every seed (float32)."""
    assert len(decomposition.cells) == 8
    assert {(c.impl, c.init, c.eps) for c in decomposition.cells} == {
        (impl, init, eps) for impl in ("own", "torch") for init in ("own", "torch") for eps in (1e-5, 1e-6)}
    assert decomposition.code_difference < 1e-5
    for cell in decomposition.cells:
        assert cell.run.settings["eps"] == cell.eps and cell.run.init == cell.init


def test_eps_alone_does_not_explain_the_gap(decomposition) -> None:
    """What the numbers say (40 seeds): eps alone moves the mean by ~0.013, the start alone by < 0.003, both ~0.039."""
    d = decomposition
    assert d.baseline == pytest.approx(0.2438, abs=0.0015)  # the notes' own printed 0.243485
    assert 0.008 < d.eps_alone < 0.02
    assert abs(d.init_alone) < 0.003
    assert d.both > 0.025
    assert d.both - d.eps_alone - d.init_alone > 0.01  # the interaction: it appears only when both change
    assert adadelta_case(d) == "together"
    assert "neither alone" in adadelta_headline(d)
    words = adadelta_explanation(d)
    assert "neither explains it alone" in words
    assert f"{d.baseline + d.eps_alone:.4f} ({d.eps_alone:+.4f})" in words
    assert f"both {d.baseline + d.both:.4f} ({d.both:+.4f})" in words
    assert "makes no difference" in words


def _with_means(d, means: dict[tuple[str, float], float]):
    """The decomposition with the given mean final loss per (init, eps), for both codes."""
    cells = tuple(dataclasses.replace(c, run=dataclasses.replace(c.run, summary=Summary(means[(c.init, c.eps)], 0, 0, 0)))
                  for c in d.cells)
    return dataclasses.replace(d, cells=cells)


@pytest.mark.parametrize(("eps_alone", "init_alone", "both", "case"), [
    (0.030, 0.001, 0.031, "eps"),
    (0.001, 0.030, 0.031, "init"),
    (0.015, 0.015, 0.031, "additive"),
    (0.010, 0.001, 0.040, "together"),
])
def test_the_words_follow_the_numbers(decomposition, eps_alone: float, init_alone: float, both: float, case: str) -> None:
    base = 0.244
    d = _with_means(decomposition, {("own", 1e-5): base, ("own", 1e-6): base + eps_alone,
                                    ("torch", 1e-5): base + init_alone, ("torch", 1e-6): base + both})
    assert adadelta_case(d) == case
    headline = adadelta_headline(d)
    assert ("eps alone" in headline) == (case == "eps")
    assert ("initialization alone" in headline) == (case == "init")
    assert ("neither" in adadelta_explanation(d)) == (case == "together")


def test_the_section_runs_the_same_seeds_as_the_checks(airfoil: Airfoil) -> None:
    """The decomposition's two corners are the notes' two AdaDelta runs, bit for bit."""
    section = airfoil_section(airfoil, range(6), time_notes_loop=False)
    own, torch_run = (c.run for c in section.checks if c.reference.algorithm == "adadelta")
    d = section.adadelta
    assert d.cell("own", "own", 1e-5).run is own and d.cell("torch", "torch", 1e-6).run is torch_run  # reused
    fresh = adadelta_decomposition(airfoil, range(6))  # ... and running them again gives them bit for bit
    assert fresh.cell("own", "own", 1e-5).run.final_loss == own.final_loss
    assert fresh.cell("torch", "torch", 1e-6).run.final_loss == torch_run.final_loss
    assert all(a.run.final_loss == b.run.final_loss for a, b in zip(fresh.cells, d.cells))
    assert all(c.notes_loop is None for c in section.checks)
    assert section.data_published and section.data_sha1 == airfoil.sha1



def test_the_docs_quote_the_decomposition(airfoil: Airfoil) -> None:
    """The conventions page's four means are those of 20 seeds (0-19), as `descentlab reproduce` runs them."""
    readme = (Path(__file__).resolve().parents[1] / "docs" / "conventions.md").read_text(encoding="utf-8")
    quoted = re.search(r"final loss from (0\.\d{4}) to (0\.\d{4}), torch's start alone to (0\.\d{4}), both to (0\.\d{4})",
                       " ".join(readme.split()))
    assert quoted, "docs/conventions.md quotes the AdaDelta decomposition"
    d = adadelta_decomposition(airfoil, range(20))
    means = [d.baseline, d.baseline + d.eps_alone, d.baseline + d.init_alone, d.baseline + d.both]
    assert [float(q) for q in quoted.groups()] == [round(m, 4) for m in means]
