"""descentlab.plotting.training: Axes-level loss curves, and a Figure built without pyplot."""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from descentlab.airfoil.data import load_airfoil
from descentlab.plotting.training import loss_figure, plot_losses, run_label
from descentlab.airfoil.train import TrainingRun, train


@pytest.fixture(scope="module")
def runs(airfoil_path: Path) -> tuple[TrainingRun, TrainingRun]:
    airfoil = load_airfoil(airfoil_path)
    own = train("adam", {"lr": 0.01}, data=airfoil, seeds=range(4))
    torch_run = train("adam", {"lr": 0.01}, data=airfoil, impl="torch", seeds=[0])
    return own, torch_run


def test_plot_losses_draws_mean_band_and_optimum(runs) -> None:
    own, torch_run = runs
    figure = Figure()
    ax = figure.add_subplot()
    artists = plot_losses(ax, [own, torch_run])
    lines = [a for a in artists if isinstance(a, Line2D)]
    bands = [a for a in artists if isinstance(a, PolyCollection)]
    assert len(bands) == 1  # only the multi-seed run has a min-max band
    own_line, torch_line, optimum = lines
    assert list(own_line.get_xdata()) == pytest.approx([2 * i / 30 for i in range(31)])
    assert own_line.get_ydata()[-1] == pytest.approx(own.summary.mean)
    assert torch_line.get_ydata()[-1] == pytest.approx(torch_run.final_loss[0])
    assert list(optimum.get_ydata()) == [own.optimum_loss] * 2
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["own adam (lr=0.01), 4 seeds", "torch adam (lr=0.01)", "least-squares optimum 0.241688"]
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("epoch", "loss")


def test_plot_losses_checks_its_arguments(runs) -> None:
    ax = Figure().add_subplot()
    with pytest.raises(ValueError, match="at least one run"):
        plot_losses(ax, [])
    with pytest.raises(ValueError, match="2 labels for 1 runs"):
        plot_losses(ax, [runs[0]], labels=["a", "b"])
    artists = plot_losses(ax, [runs[1]], labels=["mine"], optimum=False)
    assert len(artists) == 1 and artists[0].get_label() == "mine"


def test_loss_figure_uses_no_pyplot(runs) -> None:
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    rc_before = dict(matplotlib.rcParams)
    figure = loss_figure(list(runs))
    assert isinstance(figure, Figure) and len(figure.axes) == 1
    assert "min-max band" in figure.axes[0].get_title()
    assert plt.get_fignums() == before
    assert dict(matplotlib.rcParams) == rc_before
    assert run_label(runs[0]) == "own adam (lr=0.01), 4 seeds"


def test_a_diverged_run_is_marked_never_an_empty_axes(airfoil_path: Path) -> None:
    """SGD with lr 1e6: only the start is finite; the figure still shows it, and where and that it diverged."""
    from matplotlib.text import Text

    run = train("sgd", {"lr": 1e6}, data=load_airfoil(airfoil_path), seeds=range(3))
    assert run.diverged and min(s for s in run.diverged_at if s is not None) == 10
    figure = loss_figure([run])
    ax = figure.axes[0]
    curve = ax.get_lines()[0]
    finite = [y for y in curve.get_ydata() if math.isfinite(y)]
    assert finite and curve.get_marker() == "o"  # the single finite point is visible
    texts = [t.get_text().strip() for t in ax.findobj(Text)]
    assert "diverged at step 10" in texts
    vertical = [line for line in ax.get_lines() if list(line.get_xdata()) == [2 * 1 / 30] * 2]
    assert len(vertical) == 1  # at the first non-finite evaluation: 10 steps of 150 per epoch = epoch 1/15
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[0].endswith("3 of 3 seeds diverged, the first at step 10")
    assert ax.get_yscale() == "log"
    low, high = ax.get_ylim()
    assert math.isfinite(low) and math.isfinite(high) and low < finite[0] < high
    figure.savefig(io.BytesIO(), format="png")
