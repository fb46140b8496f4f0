"""Landscape figures: helpers draw on the given Axes and return what they drew."""

from __future__ import annotations

import matplotlib
from matplotlib.figure import Figure

from descentlab.lab.objectives import OBJECTIVES
from descentlab.plotting.landscape import NOTES_ORANGE, draw_landscape, draw_trajectory, landscape_figure
from descentlab.lab.trajectory import run, run_many

NOTES = OBJECTIVES["notes"]


def test_draw_trajectory_draws_every_point_in_the_notes_style() -> None:
    ax = Figure().add_subplot()
    trajectory = run("momentum", NOTES, {"lr": 0.4, "momentum": 0.5})
    (line,) = draw_trajectory(ax, trajectory)
    assert list(zip(line.get_xdata(), line.get_ydata())) == list(trajectory.points)
    assert matplotlib.colors.to_hex(line.get_color()) == NOTES_ORANGE
    assert line.get_marker() == "o" and line.get_linestyle() == "-"


def test_landscape_shows_every_run_with_its_hyperparameters_in_the_legend() -> None:
    ax = Figure().add_subplot()
    trajectories = run_many([("sgd", {"lr": 0.4}), ("adagrad", {"lr": 2.0}), ("rmsprop", {"lr": 0.4})], NOTES)
    drawn = draw_landscape(ax, NOTES, trajectories)
    labels = [text.get_text() for text in drawn["legend"][0].get_texts()]
    assert labels == ["SGD (lr=0.4)", "AdaGrad (lr=2)", "RMSProp (lr=0.4)"]
    (x_low, x_high), (y_low, y_high) = ax.get_xlim(), ax.get_ylim()
    assert x_low <= -5.5 and x_high >= 1.0 and y_low <= -3.0 and y_high >= 1.0  # the notes' window


def test_a_path_that_leaves_the_plot_is_named_on_it() -> None:
    ax = Figure().add_subplot()
    drawn = draw_landscape(ax, NOTES, [run("sgd", NOTES, {"lr": 0.6})])
    (note,) = drawn["notes"]
    assert "leaves the plot" in note.get_text() and "-1673" in note.get_text()
    assert ax.get_ylim()[0] > -100  # the window is not stretched to the far end of the divergence


def test_figure_title_carries_the_theory() -> None:
    figure = landscape_figure(NOTES, [run("sgd", NOTES, {"lr": 0.4})])
    title = figure.axes[0].get_title()
    assert "κ = 20" in title and "lr < 0.5" in title and "SGD (lr=0.4)" in title
