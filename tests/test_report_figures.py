"""The report's figures read at a glance: each fix of issue #30 checked on the drawn artists, not on the code.

Seed distributions on a scale where every run's spread shows; one colour per meaning in the
airfoil panels, legends off the curves; Newton's exact 0 drawn and said; stability maps on a
colour scale fitted to the data with a labelled boundary; curves that coincide drawn visibly
and named; captions computed from what is drawn.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_hex
from matplotlib.figure import Figure

from descentlab.chapter import exercises as ex
from descentlab.chapter.exercise_words import figure_caption
from descentlab.chapter.figures import OWN_COLOR, TORCH_COLOR
from descentlab.chapter.report import FIGURE_SETS, _zero_note
from descentlab.chapter.schedule_words import coincidence_words, shared_stretches
from descentlab.chapter.sections import airfoil_section, check_traces, preconditioning
from descentlab.lab.stability import stability_map
from descentlab.lab.objectives import OBJECTIVES
from descentlab.lang import EN, ZH
from descentlab.plotting.exercises import draw_exercise
from descentlab.plotting.stability import decades, draw_stability_map, stability_scale
from descentlab.plotting.theory import draw_convergence


@pytest.fixture(scope="module")
def airfoil_runs(airfoil):
    return airfoil_section(airfoil, range(5), time_notes_loop=False)


def _drawn(figure: Figure) -> None:
    FigureCanvasAgg(figure).draw()


def test_every_seed_distribution_spreads_over_a_readable_height(airfoil_runs) -> None:
    """torch's AdaDelta (ten times the others' spread) no longer squeezes the eleven other boxes into a band."""
    figure = FIGURE_SETS["trained"](airfoil_runs, EN)["airfoil_distributions"]()
    _drawn(figure)
    (ax,) = figure.axes
    assert ax.get_yscale() == "log"
    low, high = (math.log10(v) for v in ax.get_ylim())
    heights = []
    for check in airfoil_runs.checks:  # each run's seeds, from the smallest gap to the largest, as a share of the axis
        gaps = [v - airfoil_runs.optimum_loss for v in check.run.final_loss]
        heights.append((math.log10(max(gaps)) - math.log10(min(gaps))) / (high - low))
    assert min(heights) > 0.04, heights  # on the old linear axis most were below 1% of its height
    legend = ax.get_legend()
    renderer = figure.canvas.get_renderer()
    assert legend.get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1 - 1  # above the axes


def test_airfoil_panels_use_one_colour_per_meaning_and_keep_legends_off_the_curves(airfoil_runs) -> None:
    figure = FIGURE_SETS["trained"](airfoil_runs, EN)["airfoil_curves"]()
    _drawn(figure)
    renderer = figure.canvas.get_renderer()
    for ax in figure.axes[:5]:
        runs = [line for line in ax.get_lines() if line.get_label() and not line.get_label().startswith("_")
                and "optimum" not in line.get_label()]
        for line in runs:
            expected = TORCH_COLOR if line.get_label().startswith("torch.optim") else OWN_COLOR
            assert to_hex(line.get_color()) == expected, (ax.get_title(), line.get_label())
        legend = ax.get_legend()
        assert legend.get_window_extent(renderer).y0 >= ax.get_window_extent(renderer).y1 - 1, ax.get_title()
    first = figure.axes[0]
    styles = {line.get_label(): line.get_linestyle() for line in first.get_lines() if line.get_label().startswith("own")}
    assert len(styles) == 3 and len(set(styles.values())) == 3  # the notes' three own momentum settings


def test_newtons_exact_zero_is_drawn_on_the_edge_and_said() -> None:
    newton = preconditioning(check_traces()).newton
    zeros = [t for t, v in enumerate(newton.values) if v == 0]
    assert zeros == list(range(1, len(newton.values)))  # one step lands exactly on the minimum
    ax = Figure().add_subplot()
    drawn = draw_convergence(ax, [newton])
    bottom = ax.get_ylim()[0]
    marks = [a for a in drawn if getattr(a, "get_marker", lambda: None)() == "v"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == zeros and set(marks[0].get_ydata()) == {bottom}
    notes = [a for a in drawn if hasattr(a, "get_text") and "exactly" in a.get_text()]
    assert notes and f"steps {zeros[0]}–{zeros[-1]}" in notes[0].get_text()
    assert f"exactly 0 from step {zeros[0]} to the last, step {zeros[-1]}" in _zero_note(newton, EN)
    assert _zero_note(newton, ZH) and not _zero_note(preconditioning(check_traces()).gradient_descent, EN)


def test_stability_maps_share_a_colour_scale_fitted_to_their_data_with_a_labelled_boundary() -> None:
    maps = [stability_map("adam", OBJECTIVES[name], steps=60) for name in ("notes", "rosenbrock")]
    scale = stability_scale(maps)
    everything = np.concatenate([decades(m).ravel() for m in maps])
    finite = everything[np.isfinite(everything)]
    assert scale == (pytest.approx(min(finite.min(), -0.1)), pytest.approx(max(finite.max(), 0.1)))
    labelled = 0
    for record in maps:
        ax = Figure().add_subplot()
        drawn = draw_stability_map(ax, record, scale=scale)
        mesh = drawn[0]
        colours = mesh.to_rgba(mesh.get_array()).reshape(-1, 4)
        assert len({tuple(np.round(c, 2)) for c in colours}) > 10  # not one flat colour
        labels = [t.get_text() for t in ax.texts]
        if (decades(record) >= 0).any() and (decades(record) < 0).any():
            assert "rate 1" in labels  # the boundary is named on the map
            labelled += 1
    assert labelled  # Adam on Rosenbrock grows for its largest rates


def test_a_curve_that_lies_on_another_is_drawn_visibly_and_named() -> None:
    record = ex.rmsprop_gamma_one()
    ax = Figure().add_subplot()
    draw_exercise(ax, record)
    lines = {line.get_label(): line for line in ax.get_lines()}
    on_top = next(label for label in lines if "on top of γ = 1" in label)
    assert lines[on_top].get_linestyle() != lines["γ = 1"].get_linestyle()
    assert lines["γ = 1"].get_linewidth() > 2 * lines[on_top].get_linewidth() / 1.6  # a wide pale line underneath
    caption = figure_caption(record)
    assert "lies on γ = 1 at every point" in caption
    assert f"{record.numbers['gamma1_f']:.3g} at step {record.numbers['steps']:g}" in caption
    assert "lies on" not in figure_caption(ex.adam_against_yogi(steps=30))


def test_exercise_captions_describe_the_drawn_lines() -> None:
    record = ex.adadelta_scale(steps=50)
    caption = figure_caption(record)
    assert caption.startswith("|x_t| / |x_0| (share of the distance left) (log scale) against step, 3 lines.")
    for label, values in record.series.items():
        assert f"{label}: {values[0]:.3g} at step 0 to {values[-1]:.3g} at step 50" in caption
    assert "练习" not in caption and "条线" in figure_caption(record, ZH)


def test_schedules_that_coincide_are_found_and_named(airfoil) -> None:
    assert shared_stretches((1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 3.0), (0.5, 2.0, 2.0, 2.0, 2.0, 2.0, 1.0)) == [(2, 6)]
    assert shared_stretches((1.0, 2.0, 3.0), (1.0, 2.0, 3.0)) == []  # shorter than SHARED steps
    from descentlab.chapter.schedule_section import schedule_section

    section = schedule_section(airfoil, range(2))
    words = coincidence_words(section)
    warmup = section.by_name("warmup").rates
    first = next(step for step, rate in enumerate(warmup, start=1) if rate == max(warmup))
    assert f"warm-up lies on constant from step {first} to {section.steps}" in words
    from descentlab.plotting.schedules import draw_lr_schedules  # every schedule its own line style and markers

    ax = Figure().add_subplot()
    draw_lr_schedules(ax, [r.plan.name for r in section.runs], [r.rates for r in section.runs])
    styles = [(str(line.get_linestyle()), line.get_marker()) for line in ax.get_lines()]
    assert len(set(styles)) == len(section.runs)
