"""``descentlab bench steps``: the triad it measures, the layouts and algorithms it times, the paths it builds.

Timings themselves belong to the benchmark; these check what the numbers are made of.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import math
import weakref
from pathlib import Path

import pytest
import torch

import descentlab.bench.steps as bench_steps
from descentlab.bench.layouts import LAYOUTS, STEP_PATHS, TIMED
from descentlab.bench.triad import BYTES_PER_VALUE, C_METHOD, TORCH_METHOD, Triad, c_triad, measure_triad
from descentlab.cli import main
from descentlab.engine.paths import inplace, native

needs_cc = pytest.mark.skipif(native.compiler() is None, reason="no C compiler: the triad runs as torch.add")


def _fake_triad() -> Triad:
    return Triad(10.0, 9.0, 15.0, "fake", 1024, 2)


# ----- the triad ----------------------------------------------------------------------------------------------


@needs_cc
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_the_c_triad_computes_c_equals_a_plus_s_b_over_every_range(threads: int) -> None:
    """Every value is written, whatever the split (a size that is no multiple of a cache line), with float32's
    roundings: s b rounded, then the sum (the loop is compiled without contracting them into one fma)."""
    generator = torch.Generator().manual_seed(1)
    n = 100_003
    a, b = torch.randn(n, generator=generator), torch.randn(n, generator=generator)
    c = torch.full((n,), math.nan)
    run = c_triad(a, b, c, s=0.3, threads=threads)
    assert run is not None
    run()
    expected = a + b * torch.tensor(0.3, dtype=torch.float32)
    assert torch.equal(c, expected)
    in_place = c_triad(a, b, a, s=0.3, threads=threads)  # a = a + s b: what an SGD step is
    in_place()
    assert torch.equal(a, expected)


def test_the_c_triad_refuses_what_it_cannot_run() -> None:
    with pytest.raises(ValueError, match="float32"):
        c_triad(torch.zeros(4, dtype=torch.float64), torch.zeros(4), torch.zeros(4))
    with pytest.raises(ValueError, match="one size"):
        c_triad(torch.zeros(4), torch.zeros(5), torch.zeros(4))


@needs_cc
def test_measure_triad_runs_the_c_loop_and_keeps_the_best_block() -> None:
    triad = measure_triad(values=1 << 18, blocks=3, runs=3)
    assert triad.method == C_METHOD and triad.values == 1 << 18 and triad.threads == torch.get_num_threads()
    assert triad.gb_per_s >= triad.median_gb_per_s > 0 and triad.in_place_gb_per_s > 0  # best block >= all's median
    assert BYTES_PER_VALUE == 12  # STREAM's count: a and b read, c written


def test_without_a_c_compiler_the_triad_is_torch_add(monkeypatch) -> None:
    monkeypatch.setattr(native, "compiler", lambda: None)
    monkeypatch.setattr(native, "_SAID", set())  # (the log's "no C compiler" line stays unsaid for other tests)
    triad = measure_triad(values=1 << 16, blocks=2, runs=2)
    assert triad.method == TORCH_METHOD and triad.gb_per_s > 0 and triad.in_place_gb_per_s > 0
    assert measure_triad(values=1 << 16, blocks=1, runs=1, use_c=False).method == TORCH_METHOD


def test_better_keeps_the_higher_ceiling() -> None:
    low, high = Triad(5.0, 4.0, 7.0, C_METHOD, 8, 2), Triad(6.0, 3.0, 6.0, C_METHOD, 8, 2)
    assert low.better(high) is high and high.better(low) is high


def test_the_run_measures_the_triad_twice_and_keeps_the_better(monkeypatch) -> None:
    """Once at the start, once at the end: every row's share is of the better of the two."""
    made = iter([Triad(8.0, 7.0, 12.0, "first", 64, 2), Triad(10.0, 6.0, 16.0, "second", 64, 2)])
    monkeypatch.setattr(bench_steps, "measure_triad", lambda: next(made))
    monkeypatch.setitem(bench_steps.LAYOUTS, "flat16m", ((32, 3),))
    record = bench_steps.bench_steps(["sgd"], ["flat16m"], repeats=1, warmup=0, paths=["ours default"])
    assert record.triad_gb_per_s == 10.0 and record.triad_method == "second" and record.triad_in_place_gb_per_s == 16.0
    for row in record.rows:
        assert row.triad_share == pytest.approx(row.gb_per_s / 10.0)


# ----- layouts ------------------------------------------------------------------------------------------------


def test_the_gpt2_layout_is_gpt2_small() -> None:
    assert sum(math.prod(shape) for shape in LAYOUTS["gpt2"]) == 124_439_808 and len(LAYOUTS["gpt2"]) == 148
    from torchvision_shim import import_torchvision

    import_torchvision()  # (transformers imports torchvision when it is installed; the CPU torch needs the shim)
    transformers = pytest.importorskip("transformers")
    with torch.device("meta"):
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config())  # the output layer is the embedding, tied
    assert tuple(tuple(p.shape) for p in model.parameters()) == LAYOUTS["gpt2"]


# ----- algorithms and paths -------------------------------------------------------------------------------------


def _params(shapes=((40, 3), (7,))) -> list[torch.Tensor]:
    return bench_steps._parameters(shapes, torch.float32)


def test_adamw_is_timed_against_torch_adamw_and_computes_its_update() -> None:
    params = _params()
    optimizers = bench_steps._optimizers("adamw", params, ["ours plain", "torch default", "torch foreach",
                                                          "torch fused"])
    assert set(optimizers) == {"ours plain", "torch default", "torch foreach", "torch fused"}
    for path in ("torch default", "torch foreach", "torch fused"):
        assert type(optimizers[path]) is torch.optim.AdamW and optimizers[path].defaults["weight_decay"] == 0.01
    # the same update: our default path and torch's AdamW from the same start, three steps, the same bits
    ours_params, theirs_params = _params(), _params()
    ours = bench_steps._optimizers("adamw", ours_params, ["ours default"])["ours default"]
    theirs = bench_steps._optimizers("adamw", theirs_params, ["torch default"])["torch default"]
    for _ in range(3):
        ours.step()
        theirs.step()
    for mine, torchs in zip(ours_params, theirs_params):
        assert torch.equal(mine, torchs)


def test_yogi_has_our_paths_only_and_no_ratios(monkeypatch, capsys) -> None:
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    monkeypatch.setitem(bench_steps.LAYOUTS, "flat16m", ((64, 3),))
    assert main(["bench", "steps", "--algorithms", "yogi", "--layouts", "flat16m", "--repeats", "1", "--json",
                 "--paths", "ours default", "torch default", "torch fused"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert [row["path"] for row in record["rows"]] == ["ours default", "ours plain"]
    for row in record["rows"]:
        assert row["min_bytes"] == 64 * 3 * 4 * (3 + 2 * 2)  # x, g, m, s read; x, m, s written: 28 bytes a value
        assert row["gb_per_s"] > 0 and row["triad_share"] == pytest.approx(row["gb_per_s"] / 10.0)
        assert row["in_place_share"] == pytest.approx(row["gb_per_s"] / _fake_triad().in_place_gb_per_s)
        assert all(row[f"speedup_vs_torch_{kind}"] is None for kind in ("best", "default", "foreach", "fused"))
    assert main(["bench", "steps", "--algorithms", "yogi", "--layouts", "flat16m", "--repeats", "1",
                 "--paths", "ours default"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if "ours default" in line]
    assert line.split()[9:13] == ["-", "-", "-", "-"]  # vs torch best, default, foreach, fused


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_16_bit_steps_count_each_tensors_own_bytes_and_leave_out_a_path_that_stands_still(monkeypatch, capsys,
                                                                                           dtype) -> None:
    """--dtype times 16-bit parameters; a path whose step leaves every parameter as it was (here a torch path made to
    do nothing, as torch 2.13.0's fused SGD does with 16-bit parameters on the CPU) is named and not compared with."""
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    monkeypatch.setitem(bench_steps.LAYOUTS, "flat16m", ((64, 3),))
    real = bench_steps._optimizers

    def with_a_still_fused(*args, **kwargs):
        made = real(*args, **kwargs)
        made["torch fused"].step = lambda closure=None: None
        return made

    monkeypatch.setattr(bench_steps, "_optimizers", with_a_still_fused)
    assert main(["bench", "steps", "--algorithms", "adam", "--layouts", "flat16m", "--repeats", "1", "--json",
                 "--dtype", dtype, "--paths", "ours default", "torch fused"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["dtype"] == dtype and record["stood_still"] == [["adam", "flat16m", "torch fused"]]
    assert [row["path"] for row in record["rows"]] == ["ours default", "ours plain", "torch default"]
    assert all(row["speedup_vs_torch_fused"] is None for row in record["rows"])
    # x and g in 16 bits read, x written; m, v (float32) and the compensation (16 bits) read and written
    assert {row["min_bytes"] for row in record["rows"]} == {64 * 3 * (3 * 2 + 2 * (4 + 4 + 2))}


_BUILD = native.build


def _kernel_sources(monkeypatch, algorithm: str, settings: dict) -> list[str]:
    """The C sources the default path builds for one step of ``algorithm`` with ``settings`` (plans traced anew)."""
    texts: list[str] = []
    monkeypatch.setattr(inplace, "_PLANS", {})
    monkeypatch.setattr(native, "build", lambda text: texts.append(text) or _BUILD(text))
    bench_steps.create(algorithm, _params(), **settings).step()
    return texts


@needs_cc
@pytest.mark.parametrize("name", list(TIMED))
def test_ours_notes_is_timed_where_the_notes_convention_runs_another_loop(monkeypatch, name: str) -> None:
    """The notes' classes with the notes' own defaults compile another kernel than torch's convention exactly for
    momentum (the velocity form), AdaGrad and RMSProp (eps inside the root): those get an "ours notes" row; for the
    others the notes' setting differs in numbers only, which are the kernel's arguments, so "ours default" is both."""
    timed = TIMED[name]
    torchs = _kernel_sources(monkeypatch, timed.rule, bench_steps._ours(timed))
    notes_setting = timed.notes if timed.notes is not None else {k: v for k, v in timed.settings.items()
                                                                   if k in ("lr", "momentum", "weight_decay",
                                                                            "decoupled_weight_decay")}
    notes = _kernel_sources(monkeypatch, timed.rule, notes_setting)
    assert torchs and notes
    assert (torchs != notes) == (timed.notes is not None) == (name in ("momentum", "adagrad", "rmsprop"))
    paths = bench_steps._optimizers(name, _params(), ["ours notes"])
    assert ("ours notes" in paths) == (timed.notes is not None)


def test_ours_notes_runs_the_notes_class_with_its_defaults() -> None:
    optimizer = bench_steps._optimizers("rmsprop", _params(), ["ours notes"])["ours notes"]
    group = optimizer.param_groups[0]
    assert type(optimizer).__module__ == "descentlab.optim" and group["eps_in_sqrt"] is True and group["eps"] == 1e-6
    momentum = bench_steps._optimizers("momentum", _params(), ["ours notes"])["ours notes"]
    assert momentum.param_groups[0]["form"] == "velocity"


def test_one_algorithms_tensors_are_freed_before_the_next_ones_are_made(monkeypatch) -> None:
    """The paths share parameters and gradients; each keeps its own state, and all of it goes before the next
    algorithm's tensors are made (on the gpt2 layout one set of Adam states is 1 GB)."""
    monkeypatch.setattr(bench_steps, "measure_triad", _fake_triad)
    monkeypatch.setitem(bench_steps.LAYOUTS, "flat16m", ((64, 3), (9,)))
    alive: list[weakref.ref] = []
    made = bench_steps._parameters

    def parameters(layout, dtype):
        gc.collect()
        assert not [ref for ref in alive if ref() is not None], "an earlier algorithm's tensors are still alive"
        params = made(layout, dtype)
        alive.extend(weakref.ref(t) for p in params for t in (p, p.grad))
        return params

    monkeypatch.setattr(bench_steps, "_parameters", parameters)
    optimizers = bench_steps._optimizers

    def keep_states(*args, **kwargs):
        found = optimizers(*args, **kwargs)
        for optimizer in found.values():
            optimizer.step()
            inner = getattr(optimizer, "optimizer", optimizer)
            alive.extend(weakref.ref(v) for state in inner.state.values() for v in state.values()
                         if isinstance(v, torch.Tensor) and v.dim() > 0)
        return found

    monkeypatch.setattr(bench_steps, "_optimizers", keep_states)
    bench_steps.bench_steps(["adam", "momentum", "adam"], ["flat16m"], repeats=1, warmup=0,
                            paths=["ours default", "ours replay", "torch foreach", "torch fused"])
    assert len(alive) > 20


# ----- the command line --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("argv", "message"), [
    (["--layouts", "gpt3"], "invalid choice: 'gpt3'"),
    (["--algorithms", "adamax"], "invalid choice: 'adamax'"),
    (["--paths", "ours note"], "invalid choice: 'ours note'"),
])
def test_bad_choices_are_one_line_and_exit_2(capsys, argv: list[str], message: str) -> None:
    assert main(["bench", "steps", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_new_choices_are_offered() -> None:
    assert {"gpt2"} <= set(LAYOUTS) and {"adamw", "yogi"} <= set(TIMED) and "ours notes" in STEP_PATHS


def test_the_training_loop_benchmark_times_every_path_where_users_step() -> None:
    """benchmarks/training_loop.py: the step right after backward, torch fused / default and ours taking turns, each
    timed within its iteration; its paths are the classes it names (ours moves as torch's fused step does)."""
    spec = importlib.util.spec_from_file_location("training_loop", Path(__file__).parents[1] / "benchmarks" / "training_loop.py")
    loop = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loop)

    def small(seed: int = 0) -> torch.nn.Module:
        torch.manual_seed(seed)
        return torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 3))

    times = loop.measure("Adam", rounds=3, warm_up=1, model=small, batch=4)
    assert set(times) == set(loop.PATHS)
    assert all(0 < t["step_s"] < t["iteration_s"] for t in times.values())
    lrs = []  # --small: LambdaLR gives every path a new lr after each step
    step = torch.optim.lr_scheduler.LambdaLR.step
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(torch.optim.lr_scheduler.LambdaLR, "step",
                      lambda self: (step(self), lrs.append(self.optimizer.param_groups[0]["lr"])))
        scheduled = loop.measure("SGD", rounds=2, warm_up=1, model=small, batch=4, scheduled=True)
    # (LambdaLR steps once as it is made: 1e-4, then 1e-4 / 2, / 3 and / 4 after the three steps)
    assert set(scheduled) == set(loop.PATHS) and len(lrs) == 4 * len(loop.PATHS) and len(set(lrs)) == 4
    models = [small(), small()]
    opts = [loop._optimizer(path, "Adam", m.parameters()) for path, m in zip(("torch fused", "ours"), models)]
    x, y = torch.randn(4, 8), torch.tensor([0, 1, 2, 0])
    for _ in range(3):
        for m, opt in zip(models, opts):
            opt.zero_grad()
            torch.nn.functional.cross_entropy(m(x), y).backward()
            opt.step()
    assert torch.allclose(models[0][0].weight, models[1][0].weight, atol=1e-6)  # (fused's root is IEEE's: ulps)
