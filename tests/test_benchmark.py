"""descentlab benchmark: protocol invariants, batched == torch.optim loop, Ray == local, the scorer's rules, bad input."""

from __future__ import annotations

import html
import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from descentlab.algorithms import REGISTRY
from descentlab.benchmark.engine import LocalEngine, cached_problem, run_batched, run_loop, torch_factory
from descentlab.benchmark.problems import BUILDERS, DEFAULT_BUDGETS, Budget, quick
from descentlab.benchmark.protocol import Protocol, run_benchmark
from descentlab.benchmark.scoring import profile, ratios, score, scores
from descentlab.benchmark.spaces import Space, SpaceError, resolve
from descentlab.benchmark.summary import expected_best_of
from descentlab.cli import main

pytest.importorskip("sklearn")
SMALL = Budget(40, 16, 10, 0.1)


def _problems(*names: str, budget: Budget = SMALL):
    return [(cached_problem(n, budget, None), budget, None) for n in names]


@pytest.fixture(scope="module")
def small_benchmark():
    optimizers = [resolve("sgd"), resolve("adam"), resolve("adadelta")]
    return run_benchmark(_problems("wine", "rosenbrock"), optimizers, Protocol(trials=5, seeds=3, seed=7))


def test_every_optimizer_gets_the_same_budget_and_seeds(small_benchmark) -> None:
    bm = small_benchmark
    for p in bm.problems:
        studies = [bm.study(p.name, o.name) for o in bm.optimizers]
        assert {len(s.trials) for s in studies} == {5}
        assert {t.seed for s in studies for t in s.trials} == {bm.protocol.tuning_seed}
        assert {tuple(r.seed for r in s.reruns) for s in studies} == {bm.protocol.fresh_seeds}
        assert bm.protocol.tuning_seed not in bm.protocol.fresh_seeds
        assert {len(r.curve) for s in studies for r in (*s.trials, *s.reruns)} == {len(p.evaluations)}
        assert p.evaluations[-1] == SMALL.steps


def test_the_best_trial_is_the_lowest_final_loss_and_its_rerun_reproduces_it(small_benchmark) -> None:
    bm = small_benchmark
    for study in bm.studies.values():
        finals = [t.final for t in study.trials]
        assert study.best_trial.final == min(finals)
        assert all(r.hyperparameters == study.best_trial.hyperparameters for r in study.reruns)
        problem = next(p for p in bm.problems if p.name == study.problem)
        again = run_batched(problem, study.optimizer, [study.best_trial.hyperparameters], [bm.protocol.tuning_seed])[0]
        # the chosen trial, re-run alone with its seed (a batch of one: a scalar lr instead of a (B,) tensor)
        assert again.curve == pytest.approx(study.best_trial.curve, rel=1e-12)


def test_a_benchmark_is_reproducible_from_its_seed_and_changes_with_it(small_benchmark) -> None:
    again = run_benchmark(_problems("wine", "rosenbrock"), list(small_benchmark.optimizers), Protocol(5, 3, seed=7))
    def records(bm):  # NaN != NaN: compare the printed numbers
        return {k: [(t.hyperparameters, t.seed, repr(t.curve)) for t in (*s.trials, *s.reruns)] for k, s in bm.studies.items()}

    assert records(again) == records(small_benchmark)
    other = resolve("adam").space.sample(5, 123)
    assert other != [t.hyperparameters for t in small_benchmark.study("wine", "adam").trials]


def test_search_spaces_cover_every_continuous_hyperparameter_on_log_scales() -> None:
    adam = resolve("adam").space
    assert {d.name: d.scale for d in adam.dimensions} == {"lr": "log", "betas[0]": "log1m", "betas[1]": "log1m", "eps": "log"}
    for setting in adam.sample(64, 0):
        REGISTRY["adam"].resolve(setting)  # every sampled point is valid
        assert 1e-5 <= setting["lr"] <= 3 and 0.5 <= setting["betas"][1] <= 1 - 1e-4
    lrs = sorted(s["lr"] for s in adam.sample(64, 0))
    assert lrs[0] < 1e-4 and lrs[-1] > 0.3  # quasi-random: the whole log range is covered
    assert {d.name for d in resolve("adadelta").space.dimensions} == {"rho", "eps", "lr"}


@pytest.mark.parametrize("algorithm", list(REGISTRY))
def test_batched_member_k_equals_its_own_torch_optim_loop(algorithm: str) -> None:
    problem = cached_problem("digits_mlp", Budget(15, 32, 5, 0.1), None)
    settings = resolve(algorithm).space.sample(3, 1)
    seeds = [5, 6, 5]
    batch = run_batched(problem, algorithm, settings, seeds)
    for k in range(3):
        alone = run_loop(problem, torch_factory(algorithm, settings[k]), settings[k], seeds[k])
        assert alone.curve == pytest.approx(batch[k].curve, rel=1e-9, nan_ok=True)


def test_batched_adam_equals_torch_optim_adam() -> None:
    problem = cached_problem("breast_cancer", SMALL, None)
    settings = [{"lr": lr, "eps": 1e-8} for lr in (0.001, 0.01, 0.1)]
    batch = run_batched(problem, "adam", settings, [3, 3, 3])
    for k, hp in enumerate(settings):
        loop = run_loop(problem, lambda ps, hp=hp: torch.optim.Adam(ps, **hp), hp, 3)
        assert loop.curve == pytest.approx(batch[k].curve, rel=1e-10)


def test_a_torch_optim_class_by_import_path_runs_through_the_protocol() -> None:
    nadam = resolve("torch.optim.NAdam")
    bm = run_benchmark(_problems("wine"), [nadam], Protocol(trials=2, seeds=2))
    study = bm.study("wine", "torch.optim.NAdam")
    assert len(study.trials) == 2 and all(math.isfinite(r.final) for r in study.reruns)
    assert study.reruns[0].final < study.reruns[0].curve[0]  # it trained


@pytest.mark.slow
@pytest.mark.xdist_group("ray")  # one Ray at a time on this machine
def test_ray_engine_gives_the_local_engine_s_records() -> None:
    ray = pytest.importorskip("ray")
    from descentlab.benchmark.engine import RayEngine

    problems = _problems("wine", "rosenbrock")
    optimizers = [resolve("rmsprop"), resolve("torch.optim.NAdam")]
    protocol = Protocol(trials=3, seeds=2, seed=1)
    local = run_benchmark(problems, optimizers, protocol, LocalEngine())
    engine = RayEngine(num_cpus=2)
    try:
        remote = run_benchmark(problems, optimizers, protocol, engine)
    finally:
        ray.shutdown()
    assert remote.engine == "ray"
    for key, study in local.studies.items():
        other = remote.studies[key]
        assert other.best == study.best
        for a, b in zip((*study.trials, *study.reruns), (*other.trials, *other.reruns)):
            assert (a.hyperparameters, a.seed) == (b.hyperparameters, b.seed)
            assert a.curve == pytest.approx(b.curve, rel=1e-12)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
@pytest.mark.xdist_group("ray")
def test_a_ray_client_address_runs_the_benchmark(tmp_path: Path) -> None:
    """The docs' ``--engine ray --address ray://HOST:PORT`` against a local cluster started as a user would."""
    pytest.importorskip("ray.util.client")  # descentlab[ray] brings ray[client]
    bin_ = Path(sys.executable).parent
    client_port = _free_port()
    # a local cluster uses token authentication (Ray >= 2.59); its clients say so
    env = {**os.environ, "RAY_AUTH_MODE": "token"}
    subprocess.run([str(bin_ / "ray"), "start", "--head", f"--port={_free_port()}",
                    f"--ray-client-server-port={client_port}", "--num-cpus=2", "--include-dashboard=false",
                    "--disable-usage-stats"], check=True, env=env, capture_output=True, timeout=300)
    try:
        out = tmp_path / "report"
        done = subprocess.run([str(bin_ / "descentlab"), "benchmark", "--quick", "--problems", "rosenbrock",
                               "--optimizer", "sgd", "--trials", "2", "--seeds", "1", "--engine", "ray",
                               "--address", f"ray://127.0.0.1:{client_port}", "--out", str(out)],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        results = json.loads((out / "results.json").read_text())
        assert results["engine"] == "ray" and len(results["studies"]) == 1
    finally:
        subprocess.run([str(bin_ / "ray"), "stop", "--force"], capture_output=True, timeout=120)



_SERVER_DIED = ("Initialization failure from server:\nTraceback (most recent call last):\n  File \"proxier.py\"\n"
                "RuntimeError: Starting Ray client server failed. See ray_client_server_23000.err for detailed logs.")


@pytest.mark.parametrize("deaths", [1, 2, 3])
def test_a_client_server_that_dies_as_it_starts_is_started_again_and_its_reason_said(monkeypatch, deaths: int) -> None:
    """Ray's per-client server sometimes dies as it starts (ray#63202): the engine tries again, then says why."""
    ray = pytest.importorskip("ray")
    from descentlab.benchmark.engine import CLIENT_SERVER_ATTEMPTS, EngineError, RayEngine

    calls = []
    monkeypatch.setattr(ray, "is_initialized", lambda: len(calls) > deaths)

    def init(**kwargs):
        calls.append(kwargs["address"])
        if len(calls) <= deaths:
            raise ConnectionAbortedError(_SERVER_DIED)

    monkeypatch.setattr(ray, "init", init)
    if deaths < CLIENT_SERVER_ATTEMPTS:
        RayEngine(address="ray://head:10001")
        assert calls == ["ray://head:10001"] * (deaths + 1)
    else:
        with pytest.raises(EngineError) as raised:
            RayEngine(address="ray://head:10001")
        assert len(calls) == CLIENT_SERVER_ATTEMPTS
        assert str(raised.value) == ("cannot connect to the Ray cluster at ray://head:10001: Initialization failure "
                                     "from server: RuntimeError: Starting Ray client server failed. See "
                                     "ray_client_server_23000.err for detailed logs.")


# ----- the scorer, on hand-made cases against its documented rules ---------------------------------------

INF = math.inf


def test_ratios_are_against_the_fastest_and_inf_beyond_r_max() -> None:
    t = {"a": {"p": 10.0, "q": 50.0}, "b": {"p": 20.0, "q": 10.0}, "c": {"p": 45.0, "q": INF}}
    r = ratios(t)
    assert r == {"a": {"p": 1.0, "q": 5.0 if False else INF}, "b": {"p": 2.0, "q": 1.0}, "c": {"p": INF, "q": INF}}


def test_a_problem_nobody_solves_counts_against_everyone() -> None:
    t = {"a": {"p": 10.0, "q": INF}, "b": {"p": 30.0, "q": INF}}
    assert ratios(t) == {"a": {"p": 1.0, "q": INF}, "b": {"p": 3.0, "q": INF}}
    assert scores(t) == {"a": pytest.approx(0.5), "b": pytest.approx((4 - 3) / 3 / 2)}


def test_profile_and_score_by_hand() -> None:
    row = {"p": 1.0, "q": 2.0, "r": INF, "s": 4.0}
    assert profile(row, [1.0, 1.5, 2.0, 3.9, 4.0, 100.0]) == [0.25, 0.25, 0.5, 0.5, 0.75, 0.75]
    # ∫_1^4 ρ = (3 + 2 + 0 + 0) / 4 over the four problems; divided by r_max - 1 = 3
    assert score(row) == pytest.approx(5 / 12)
    # the same integral numerically, from the profile itself
    n = 30000
    taus = [1 + 3 * (i + 0.5) / n for i in range(n)]
    assert sum(profile(row, taus)) * 3 / n / 3 == pytest.approx(5 / 12, abs=1e-4)


def test_fastest_everywhere_scores_one_and_ties_share_it() -> None:
    t = {"a": {"p": 5.0, "q": 7.0}, "b": {"p": 5.0, "q": 7.0}, "c": {"p": INF, "q": INF}}
    assert scores(t) == {"a": 1.0, "b": 1.0, "c": 0.0}


def test_scorer_refuses_missing_and_negative_times() -> None:
    with pytest.raises(ValueError, match="expected"):
        ratios({"a": {"p": 1.0}, "b": {"q": 1.0}})
    with pytest.raises(ValueError, match=">= 0"):
        ratios({"a": {"p": -1.0}})


def test_expected_best_of_k_by_hand() -> None:
    # from {1, 2, 3}, two draws: min is 1 with P 2/3, 2 with P 1/3
    assert expected_best_of([3.0, 1.0, 2.0], 2) == pytest.approx(4 / 3)
    assert expected_best_of([1.0, INF, INF], 2) == INF  # {inf, inf} can be drawn
    assert expected_best_of([1.0, 2.0, INF], 2) == pytest.approx(4 / 3)


# ----- the command line ------------------------------------------------------------------------------------


def test_quick_benchmark_writes_every_output_with_the_protocol(tmp_path: Path, capsys) -> None:
    out = tmp_path / "report"
    assert main(["benchmark", "--quick", "--problems", "wine", "--optimizer", "sgd", "adam",
                 "--trials", "3", "--seeds", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Protocol (seed 0)" in printed and "performance-profile score" in printed
    assert sorted(p.name for p in out.iterdir()) == ["figures", "index.html", "results.json", "trials.csv"]
    results = json.loads((out / "results.json").read_text())
    assert "3 scrambled-Sobol trials" in results["protocol"]
    assert len(results["studies"]) == 2 and set(results["profile"]["scores"]) == {"sgd", "adam"}
    csv = (out / "trials.csv").read_text().splitlines()
    assert csv[0].startswith("# Protocol") and len(csv) == 2 + 2 * (3 + 2)
    page = (out / "index.html").read_text()
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    assert "3 settings per optimizer from a scrambled Sobol sequence" in page  # the protocol as page text
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["profile.svg", "wine-curves.svg", "wine-lr.svg"]
    for svg in (out / "figures").iterdir():  # in each file's description, never drawn on the plot
        text = svg.read_text()
        assert f"<dc:description>{results['protocol']}</dc:description>" in text and text.count("Protocol") == 1


def test_quick_on_a_base_install_skips_what_needs_scikit_learn(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if scikit-learn were not installed
    out = tmp_path / "report"
    assert main(["benchmark", "--quick", "--optimizer", "sgd", "--trials", "2", "--seeds", "1", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.err == ("note: skipped breast_cancer, wine: they need scikit-learn "
                            "(pip install 'descentlab[benchmark]')\n")
    studies = json.loads((out / "results.json").read_text())["studies"]
    assert {study["problem"] for study in studies} == {"quadratic_deep", "rosenbrock", "beale"}
    # named explicitly, such a problem is still refused in one line
    assert main(["benchmark", "--quick", "--problems", "wine", "--out", str(tmp_path / "other")]) == 2
    assert "needs scikit-learn" in capsys.readouterr().err


def test_a_tuple_searched_in_part_takes_its_other_elements_from_the_default(tmp_path: Path) -> None:
    space = tmp_path / "space.toml"
    space.write_text('["torch.optim.NAdam".search]\n"betas[0]" = { low = 1e-4, high = 0.5, scale = "log1m" }\n')
    nadam = resolve("torch.optim.NAdam", str(space))
    points = nadam.space.sample(4, 0)
    assert all(len(p["betas"]) == 2 and p["betas"][1] == 0.999 and 0.5 <= p["betas"][0] < 1 for p in points)


BAD = [
    (["--problems", "mnist"], "unknown problem 'mnist'"),
    (["--optimizer", "torch.optim.Nadam"], "module torch.optim has no attribute 'Nadam'"),
    (["--optimizer", "no_such_module.Opt"], "cannot import 'no_such_module.Opt'"),
    (["--optimizer", "adamm"], "unknown optimizer 'adamm'"),
    (["--optimizer", "torch.nn.Linear"], "is not a torch.optim.Optimizer class"),
    (["--optimizer", "torch.optim.LBFGS"], "no search space for torch.optim.LBFGS"),
    (["--optimizer", "torch.optim.NAdam", "--space", "SPACE:{\"torch.optim.NAdam\": {\"search\": {\"lrr\": {\"low\": 1, \"high\": 2, \"scale\": \"log\"}}}}"],
     "'lrr' is not an argument of torch.optim.NAdam"),
    (["--optimizer", "torch.optim.NAdam", "--space", "SPACE:{\"torch.optim.NAdam\": {\"search\": {\"lr\": {\"low\": 1, \"high\": 0.1, \"scale\": \"log\"}}}}"],
     "low must be < high"),
    (["--optimizer", "torch.optim.NAdam", "--space", "SPACE:{not json"], "is not valid JSON"),
    (["--optimizer", "adam", "--space", "SPACE:{\"adam\": {\"search\": {\"lr\": {\"low\": 1e-3, \"high\": 1, \"scale\": \"cubic\"}}}}"],
     "scale must be one of"),
    (["--space", "/nonexistent/space.json"], "cannot read search-space file"),
    (["--address", "127.0.0.1:6379"], "--address is for --engine ray"),
    (["--trials", "100000000"], "at most 1000 trials, got 100000000"),
    (["--seeds", "5000"], "at most 1000 seeds, got 5000"),
    (["--space", "/dev/zero"], "use a .json or .toml file"),
    (["--optimizer", "torch.optim.NAdam", "--space", "FIFO"], "is not a regular file"),
    (["--optimizer", "torch.optim.NAdam", "--space", "BIG"], "is larger than 1048576 bytes"),
]


@pytest.mark.parametrize(("words", "message"), BAD, ids=[m for _, m in BAD])
def test_bad_input_is_one_line_exit_2_and_nothing_written(tmp_path: Path, capsys, words: list[str], message: str) -> None:
    words = list(words)
    for i, w in enumerate(words):
        if w.startswith("SPACE:"):
            (tmp_path / "space.json").write_text(w[len("SPACE:"):])
            words[i] = str(tmp_path / "space.json")
        elif w == "FIFO":  # (would block a reader forever)
            os.mkfifo(tmp_path / "space.json")
            words[i] = str(tmp_path / "space.json")
        elif w == "BIG":
            (tmp_path / "space.json").write_text(" " * (1 << 20) + "{}")
            words[i] = str(tmp_path / "space.json")
    out = tmp_path / "report"
    assert main(["benchmark", "--quick", *words, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] in ([], ["space.json"])


def test_a_destination_holding_other_files_is_refused(tmp_path: Path, capsys) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["benchmark", "--quick", "--out", str(tmp_path)]) == 2
    assert "holds files that are not a descentlab report" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_every_problem_builds_with_its_declared_budget(airfoil_path: Path) -> None:
    for name in BUILDERS:
        budget = quick(DEFAULT_BUDGETS[name])
        problem = cached_problem(name, budget, str(airfoil_path) if name == "airfoil" else None)
        params, order = problem.start(0)
        assert order.shape == (budget.steps, budget.batch_size) and int(order.max()) < len(problem.X_train)
        start = problem.loss({k: v.unsqueeze(0) for k, v in params.items()}, problem.X_val, problem.y_val)
        assert start.shape == (1,) and float(start) > problem.target  # the target is not met at the start


def test_space_elements_must_be_complete() -> None:
    from descentlab.benchmark.spaces import Dimension

    with pytest.raises(SpaceError, match="every element"):
        Space((Dimension("betas[1]", 1e-3, 0.1, "log1m"),)).assemble([0.5])


def test_a_toml_space_file_sets_the_space_of_a_class_and_of_a_registry_algorithm(tmp_path: Path) -> None:
    path = tmp_path / "spaces.toml"
    path.write_text('[ "torch.optim.NAdam".search ]\nlr = { low = 1e-3, high = 1e-1, scale = "log" }\n'
                    '"betas[0]" = { low = 0.01, high = 0.2, scale = "log1m" }\n'
                    '[ "torch.optim.NAdam".fixed ]\nbetas = [0.9, 0.99]\n'
                    '[ adam.search ]\nlr = { low = 1e-2, high = 2e-2, scale = "linear" }\n')
    nadam = resolve("torch.optim.NAdam", path).space.sample(8, 0)
    assert all(1e-3 <= s["lr"] <= 0.1 and 0.8 <= s["betas"][0] <= 0.99 and s["betas"][1] == 0.99 for s in nadam)
    assert all(0.01 <= s["lr"] <= 0.02 for s in resolve("adam", path).space.sample(4, 0))


def test_the_best_setting_keeps_a_decay_rate_close_to_one_apart_from_one() -> None:
    from descentlab.benchmark.report import _rounded

    shown = _rounded({"betas": (0.9999, 0.99937), "gamma": 0.99999, "lr": 0.0012345, "eps": 1e-8})
    assert shown == {"betas": (0.9999, 0.999), "gamma": 0.99999, "lr": 0.00123, "eps": 1e-8}


# ----- the report's page: every sentence computed from the records --------------------------------------------


def _row(**fields):
    from descentlab.benchmark.summary import Row

    base = dict(problem="p", optimizer="adam", best={"lr": 0.1}, final_mean=1.0, final_sd=0.0, steps=INF, reached=0,
                seeds=3, best_of_k=1.0, at_target=0.0, diverged=0.0, trials=6, final_median=1.0, final_low=1.0,
                final_high=1.0, ended_below=0, seeds_diverged=0, tuning_final=1.0, finals=(1.0, 1.0, 1.0))
    return Row(**{**base, **fields})


def test_a_setting_whose_fresh_seeds_land_far_from_its_tuning_seed_is_explained() -> None:
    from descentlab.benchmark.report import row_cells, row_notes

    # wine / adam in the --quick run: 0.064 on the tuning seed, two of three fresh seeds far above (finite)
    r = _row(finals=(6.2e-5, 13.97, 14.19), final_median=13.97, final_low=6.2e-5, final_high=14.19, tuning_final=0.064,
             reached=1, ended_below=1)
    assert row_cells(r)[1:3] == ("13.97 [6.2e-05 – 14.19]", "1/3")
    (note,) = row_notes(r, target=0.1)
    assert note.startswith("adam: the chosen setting ended at 0.064 on the tuning seed, but 2 of 3 fresh seeds ended "
                           "above 0.128, at 13.97, 14.19") and "None diverged" in note
    diverged = _row(finals=(INF, 0.5, 0.5), seeds_diverged=1, tuning_final=0.4)
    assert row_notes(diverged, 0.1) == ["adam: 1 of 3 fresh seeds diverged (the loss overflowed), though the chosen "
                                        "trial ended at 0.4 on the tuning seed."]
    # "far": above twice the tuning seed's loss and above the target
    assert "all 3 fresh seeds ended above 0.18" in row_notes(_row(finals=(0.19, 0.2, 0.21), tuning_final=0.09), 0.1)[0]
    assert row_notes(_row(finals=(0.11, 0.12, 0.13), tuning_final=0.09), 0.1) == []
    assert row_notes(_row(finals=(0.05, 0.06, 0.07), tuning_final=0.02), 0.1) == []


def test_reaching_the_target_and_ending_above_it_are_two_columns_and_a_note() -> None:
    from descentlab.benchmark.report import row_cells, row_notes

    # breast_cancer / sgd in the --quick run: every seed got to 0.092 at step 90, every seed ended above it
    r = _row(optimizer="sgd", steps=90.0, reached=3, ended_below=0, finals=(0.0921, 0.0924, 0.0927),
             final_median=0.0924, final_low=0.0921, final_high=0.0927, tuning_final=0.0919)
    assert row_cells(r)[2:4] == ("0/3", "90 (3/3)")
    assert row_notes(r, 0.092) == ["sgd: all 3 fresh seeds reached the target 0.092 (first at step 90 in the median) "
                                   "and ended above it again: the loss rose after reaching it."]


def test_the_rows_of_a_real_benchmark_agree_with_its_runs_and_every_odd_row_has_a_note(small_benchmark) -> None:
    from descentlab.benchmark.report import render_html, row_notes
    from descentlab.benchmark.summary import performance_profile, rows

    bm = small_benchmark
    page = render_html(bm, performance_profile(bm))
    for r in rows(bm):
        study, problem = bm.study(r.problem, r.optimizer), next(p for p in bm.problems if p.name == r.problem)
        finals = [run.final for run in study.reruns]
        assert r.finals == tuple(finals) and r.ended_below == sum(f <= problem.target for f in finals)
        assert r.ended_below <= r.reached  # the last evaluation is one of the evaluations
        assert r.final_low == min(finals) and r.final_high == max(finals)
        assert r.tuning_final == study.best_trial.final
        notes = row_notes(r, problem.target)
        if r.reached > r.ended_below:
            assert any("ended above it again" in n for n in notes)
        for note in notes:
            assert html.escape(note, quote=True) in page


def test_lr_curves_join_only_trials_that_differ_in_lr_alone(small_benchmark) -> None:
    from matplotlib.figure import Figure

    from descentlab.benchmark.engine import Run
    from descentlab.benchmark.figures import draw_lr_sensitivity, lr_series
    from descentlab.benchmark.report import lr_caption

    runs = [Run({"lr": lr, "momentum": m}, 0, (1.0, f)) for lr, m, f in
            [(0.1, 0.9, 0.5), (0.01, 0.9, 0.6), (0.1, 0.5, 0.7), (0.3, 0.9, 0.4)]]
    groups = lr_series(runs)
    assert [[t.hyperparameters["lr"] for t in g] for g in groups] == [[0.01, 0.1, 0.3], [0.1]]
    bm = small_benchmark
    assert all(len(g) == 1 for g in lr_series(bm.study("wine", "adam").trials))  # Sobol: every trial differs in all
    assert [len(g) for g in lr_series(bm.study("wine", "sgd").trials)] == [5]  # lr is sgd's only searched value
    caption = lr_caption(bm, bm.problems[0])
    assert "Lines join trials that differ in lr alone (sgd)" in caption
    assert "The trials of adam, adadelta differ in several hyperparameters at once" in caption
    ax = Figure().subplots()
    draw_lr_sensitivity(ax, bm.problems[0], [bm.study("wine", o.name) for o in bm.optimizers])
    joined = [line for line in ax.get_lines() if line.get_linestyle() not in ("None", "--", (0, (5, 3)))
              and len(line.get_xdata()) > 1 and line.get_label() != "_nolegend_"]
    assert [line.get_label() for line in joined] == ["sgd"]


def test_profiles_that_coincide_are_named_and_drawn_apart() -> None:
    from matplotlib.figure import Figure

    from descentlab.benchmark.figures import draw_profile
    from descentlab.benchmark.report import profile_notes
    from descentlab.benchmark.scoring import profile as rho
    from descentlab.benchmark.summary import Profile, coinciding

    r = {"a": {"p": 1.0, "q": INF}, "b": {"p": INF, "q": 1.0}, "c": {"p": INF, "q": INF}, "d": {"p": INF, "q": INF},
         "e": {"p": 2.0, "q": 1.5}}
    taus = tuple(1 + 3 * i / 30 for i in range(31))
    prof = Profile(taus, {s: tuple(rho(row, taus)) for s, row in r.items()}, r, scores(
        {"a": {"p": 1.0, "q": INF}, "b": {"p": INF, "q": 1.0}, "c": {"p": INF, "q": INF}, "d": {"p": INF, "q": INF},
         "e": {"p": 2.0, "q": 1.5}}))
    assert coinciding(prof) == [["a", "b"], ["c", "d"]]  # a and b: different problems, the same ratios
    notes = profile_notes(prof)
    assert notes[0] == "a and b draw the same line: their sorted ratios are the same (1, –), and ρ depends on nothing else."
    assert notes[1].startswith("c and d draw the same line: neither reaches any target within r_max = 4")
    assert "shifted up or down by at most 0.016" in notes[2]
    ax = Figure().subplots()
    draw_profile(ax, prof)
    ys = [tuple(line.get_ydata()) for line in ax.get_lines()]
    assert len(set(ys)) == len(ys) == 5  # no line hidden under another


def _text_boxes(figure):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    return renderer


def test_figures_keep_their_legend_off_the_data_and_their_text_readable(small_benchmark) -> None:
    from matplotlib.text import Text

    from descentlab.benchmark.report import build_figures, figure_names
    from descentlab.benchmark.summary import performance_profile

    bm = small_benchmark
    figures = build_figures(bm, performance_profile(bm))
    assert list(figures) == figure_names(bm)
    for name, figure in figures.items():
        renderer = _text_boxes(figure)
        (ax,) = figure.axes
        legend = ax.get_legend()
        assert legend is not None, name
        box, data = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
        assert box.y1 < data.y0, f"{name}: the legend reaches into the axes"
        assert box.x0 >= 0 and box.y0 >= 0 and box.x1 <= figure.bbox.width, f"{name}: the legend leaves the figure"
        texts = [t for t in figure.findobj(Text) if t.get_visible() and t.get_text().strip()]
        assert min(t.get_fontsize() for t in texts) >= 8, name
        assert not any("Protocol" in t.get_text() for t in texts)  # the protocol is page text


def test_a_two_dimensional_problem_says_what_its_data_are() -> None:
    rosenbrock = cached_problem("rosenbrock", quick(DEFAULT_BUDGETS["rosenbrock"]), None)
    assert "rows" not in rosenbrock.sizes and rosenbrock.sizes.startswith("2 parameters, no data set")
    assert "validation loss is rosenbrock's f itself" in rosenbrock.sizes
    wine = cached_problem("wine", quick(DEFAULT_BUDGETS["wine"]), None)
    assert wine.sizes == "142 train / 36 validation rows, 13 features"
