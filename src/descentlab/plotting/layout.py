"""Figures whose axes sit at fixed margins, given in inches.

A layout engine (constrained, tight) measures every text of a figure in an extra
draw before the real one: for the report's figures that is about half of their
drawing time.  The report's figures carry the same kinds of labels on every run,
so their margins are set once per kind of figure (:class:`Margins`) and a save
is one draw.  ``tests/test_figure_layout.py`` draws every figure of the report,
in both languages, and checks that no axes' text leaves the figure or reaches
into another axes, and that no margin is much wider than what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from matplotlib.axes import Axes
from matplotlib.figure import Figure


@dataclass(frozen=True)
class Margins:
    """Inches of space: ``left``, ``right``, ``bottom`` and ``top`` of the grid of axes, and between its
    cells ``across`` (room for the tick labels and label of the next column's y axis) and ``down``
    (the upper row's x axis and the lower row's title)."""

    left: float = 0.72
    right: float = 0.1
    bottom: float = 0.52
    top: float = 0.08
    across: float = 0.8
    down: float = 0.7


TITLED = Margins(top=0.27)
"""For axes with a one-line title."""


def fixed_grid(size: tuple[float, float], rows: int = 1, columns: int = 1,
               margins: Margins = Margins()) -> tuple[Figure, list[Axes]]:
    """A figure of ``size`` (width, height in inches) with ``rows`` × ``columns`` equal axes placed at
    ``margins``, row by row, and no layout engine (so a save draws it once).

    A colorbar added with ``figure.colorbar(..., ax=ax)`` takes its room from its axes' cell; leave the
    margin on its side for its tick labels and label.
    """
    width, height = size
    cell_width = (width - margins.left - margins.right - (columns - 1) * margins.across) / columns
    cell_height = (height - margins.bottom - margins.top - (rows - 1) * margins.down) / rows
    if cell_width <= 0 or cell_height <= 0:
        raise ValueError(f"margins {margins} leave no room for {rows}×{columns} axes in {width:g}×{height:g} inches")
    figure = Figure(figsize=size)
    grid = figure.subplots(rows, columns, squeeze=False, gridspec_kw={
        "left": margins.left / width, "right": 1 - margins.right / width,
        "bottom": margins.bottom / height, "top": 1 - margins.top / height,
        "wspace": margins.across / cell_width, "hspace": margins.down / cell_height,
    })
    return figure, list(grid.flat)


def colorbar_axes(figure: Figure, axes: list[Axes], width: float = 0.14, pad: float = 0.2) -> Axes:
    """New axes for a colorbar shared by ``axes``: ``width`` inches wide, ``pad`` inches right of them,
    as tall as they are together (the figure's right margin holds it, its tick labels and its label)."""
    figure_width, _ = figure.get_size_inches()
    boxes = [ax.get_position() for ax in axes]
    bottom, top = min(b.y0 for b in boxes), max(b.y1 for b in boxes)
    return figure.add_axes((max(b.x1 for b in boxes) + pad / figure_width, bottom, width / figure_width, top - bottom))


__all__ = ["Margins", "TITLED", "colorbar_axes", "fixed_grid"]
