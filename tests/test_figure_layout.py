"""The report's figures have fixed margins (descentlab.plotting.layout): every text must still fit.

One chapter run as ``reproduce`` makes it (20 seeds) with every optional section; each of
its figures, in English and in Chinese, is drawn as saved and measured: every axes
with its tick labels, labels, title, legend and colorbar must lie inside the figure,
no two may overlap, and no outer margin may be much wider than what it holds.
"""

from __future__ import annotations

import itertools

import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from descentlab.chapter.report import build_figures
from descentlab.chapter.reproduce import run_chapter
from descentlab.lang import EN, ZH
from descentlab.plotting.fonts import figure_fonts
from descentlab.plotting.layout import Margins, colorbar_axes, fixed_grid

TOUCH = 0.01  # inches: what rounding may put across an edge
WIDEST_MARGIN = 0.35  # inches of empty space between a figure's edge and the nearest text


@pytest.fixture(scope="module")
def results(airfoil):
    return run_chapter(data=airfoil, exercises=True, schedules=True)


def _extents(figure: Figure) -> list[tuple[str, tuple[float, float, float, float]]]:
    """Each visible axes' tight box (ticks, labels, title, legend) in inches from the figure's lower left."""
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    boxes = []
    for index, ax in enumerate(figure.axes):
        if ax.get_visible():
            box = ax.get_tightbbox(renderer)
            boxes.append((f"axes {index} ({ax.get_title() or ax.get_ylabel()!r})",
                          tuple(v / figure.dpi for v in (box.x0, box.y0, box.x1, box.y1))))
    return boxes


def layout_problems(figure: Figure) -> list[str]:
    """What does not fit: a box past the figure's edge, two boxes overlapping, a margin much wider than needed."""
    width, height = figure.get_size_inches()
    boxes = _extents(figure)
    problems = []
    for name, (x0, y0, x1, y1) in boxes:
        for side, beyond in (("left", -x0), ("bottom", -y0), ("right", x1 - width), ("top", y1 - height)):
            if beyond > TOUCH:
                problems.append(f"{name} leaves the figure by {beyond:.2f} in at the {side}")
    for (name_a, a), (name_b, b) in itertools.combinations(boxes, 2):
        across, down = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
        if across > TOUCH and down > TOUCH:
            problems.append(f"{name_a} and {name_b} overlap by {across:.2f} × {down:.2f} in")
    spaces = {"left": min(b[0] for _, b in boxes), "bottom": min(b[1] for _, b in boxes),
              "right": width - max(b[2] for _, b in boxes), "top": height - max(b[3] for _, b in boxes)}
    problems += [f"{space:.2f} in empty at the {side}" for side, space in spaces.items() if space > WIDEST_MARGIN]
    return problems


@pytest.mark.parametrize("say", [EN, ZH], ids=["en", "zh"])
def test_every_report_figure_fits_its_margins(results, say, request) -> None:
    if say is ZH:
        request.getfixturevalue("cjk_font")
    with figure_fonts(say):
        figures = build_figures(results, say)
        assert len(figures) >= 25  # the 2D, airfoil, stability, exercise and schedule figures
        problems = {stem: layout_problems(figure) for stem, figure in figures.items()}
    assert {stem: found for stem, found in problems.items() if found} == {}


def test_the_check_finds_text_that_does_not_fit() -> None:
    # the same check must fail on figures whose margins are too small, too large, or that overlap
    figure, (left, right) = fixed_grid((6.0, 3.0), 1, 2, Margins(left=0.05, across=0.05))
    for ax in (left, right):
        ax.plot([0, 1000], [0, 1000])
        ax.set_ylabel("a label")
    found = " ".join(layout_problems(figure))
    assert "leaves the figure" in found and "at the left" in found
    assert "overlap" in found
    figure, (ax,) = fixed_grid((6.0, 3.0), margins=Margins(top=1.0))
    ax.plot([0, 1], [0, 1])
    (problem,) = layout_problems(figure)
    assert problem.endswith("in empty at the top")


def test_fixed_grid_places_the_axes_at_the_margins() -> None:
    margins = Margins(left=1.0, right=0.5, bottom=0.4, top=0.3, across=0.6, down=0.7)
    figure, axes = fixed_grid((8.0, 5.0), 2, 3, margins)
    assert figure.get_layout_engine() is None  # a save is one draw
    boxes = [ax.get_position().transformed(figure.transFigure).transformed(figure.dpi_scale_trans.inverted())
             for ax in axes]
    assert boxes[0].x0 == pytest.approx(1.0) and boxes[2].x1 == pytest.approx(8.0 - 0.5)
    assert boxes[3].y0 == pytest.approx(0.4) and boxes[0].y1 == pytest.approx(5.0 - 0.3)
    assert boxes[1].x0 - boxes[0].x1 == pytest.approx(0.6) and boxes[0].y0 - boxes[3].y1 == pytest.approx(0.7)
    assert len({round(b.width, 9) for b in boxes}) == 1 and len({round(b.height, 9) for b in boxes}) == 1
    bar = colorbar_axes(figure, axes[:3], width=0.2, pad=0.1).get_position()
    assert bar.x0 * 8.0 == pytest.approx(8.0 - 0.5 + 0.1) and bar.width * 8.0 == pytest.approx(0.2)
    assert (bar.y0, bar.y1) == pytest.approx((axes[0].get_position().y0, axes[0].get_position().y1))
    with pytest.raises(ValueError, match="no room"):
        fixed_grid((2.0, 2.0), 1, 3, margins)
