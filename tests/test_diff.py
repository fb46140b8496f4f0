"""``descentlab diff`` and :func:`descentlab.diff.diff`: finds known convention differences, and none for matched pairs."""

from __future__ import annotations

import json
import subprocess
import sys

from pathlib import Path

import pytest
import torch

from descentlab.airfoil.data import Airfoil
from descentlab.diff import diff


@pytest.mark.parametrize(("a", "b", "because"), [
    ("adam:conventions=keras", "torch.optim.Adam", "epsilon hat"),
    ("rmsprop:conventions=optax,lr=0.01", "torch.optim.RMSprop:lr=0.01", "eps placement"),
    ("torch.optim.Adadelta", "adadelta", "eps values differ (eps=1e-06 against 1e-05)"),
    ("adagrad:lr=0.1,conventions=optax,eps=1e-10,eps_in_sqrt=False", "torch.optim.Adagrad:lr=0.1", "initial accumulator"),
    ("momentum:lr=0.1,momentum=0.9,form='velocity',nesterov=False", "torch.optim.SGD:lr=0.1,momentum=0.9,dampening=0.5",
     "momentum form"),
])
def test_diff_finds_a_known_convention_at_step_1(a: str, b: str, because: str) -> None:
    result = diff(a, b, steps=10)
    assert result.first_step == 1 and not result.equal
    assert result.explanation is not None and because in result.explanation
    assert max(t.max_rel for t in result.tensors if "." not in t.name) > 1e-9


@pytest.mark.parametrize(("a", "b"), [
    ("adam:conventions=torch", "torch.optim.Adam"),
    ("adam:conventions=torch,amsgrad=True,weight_decay=0.1", "torch.optim.Adam:amsgrad=True,weight_decay=0.1"),
    ("rmsprop:conventions=torch,centered=True", "torch.optim.RMSprop:centered=True"),
    ("adadelta:conventions=torch", "torch.optim.Adadelta"),
    ("momentum:lr=0.1,momentum=0.9,dampening=0.5,form='torch'", "torch.optim.SGD:lr=0.1,momentum=0.9,dampening=0.5"),
    ("adam:lr=0.1", "descentlab.optim.Adam:lr=0.1"),
])
@pytest.mark.parametrize("problem", ["quadratic", "random", "airfoil"])
def test_matched_pairs_are_equal_and_their_state_is_compared(a: str, b: str, problem: str, airfoil: Airfoil) -> None:
    result = diff(a, b, steps=30, problem=problem, data=airfoil)
    assert result.equal, result.tensors
    assert result.explanation is None
    names = {t.name for t in result.tensors}
    assert {"param0", "param1"} <= names and any("." in n for n in names)  # state too (m, v, s, b, ...)
    # measured against each tensor's scale (its largest magnitude so far), every tensor is within a few ULPs --
    # also the airfoil bias b, which stays near 0 and counted 6144 ULPs when each entry was its own scale
    assert all(t.max_rel <= 1e-12 and t.first_step is None for t in result.tensors)
    assert max(t.max_ulp for t in result.tensors) <= 32


@pytest.mark.parametrize(("a", "b", "because"), [
    ("adam:conventions=keras", "torch.optim.Adam", "epsilon hat"),
    ("rmsprop:conventions=optax,lr=0.01", "torch.optim.RMSprop:lr=0.01", "eps placement"),
    ("adam:conventions=optax,lr=0.01,amsgrad=True", "torch.optim.Adam:lr=0.01,amsgrad=True", "AMSGrad's maximum"),
    ("adadelta:conventions=optax", "torch.optim.Adadelta", "steps up the gradient"),
])
def test_diff_on_the_airfoil_regression(a: str, b: str, because: str, airfoil: Airfoil) -> None:
    result = diff(a, b, steps=20, problem="airfoil", data=airfoil)
    assert result.first_step is not None and because in (result.explanation or "")
    assert {t.name for t in result.tensors} >= {"param0", "param1"}  # w and b
    assert [t.name for t in result.tensors][:2] == ["param0", "param1"]


def test_a_difference_is_a_difference_also_near_zero(airfoil: Airfoil) -> None:
    """The scale keeps the near-zero bias honest in both directions: a real difference in it is still found."""
    result = diff("sgd:lr=0.05", "sgd:lr=0.0500001", steps=5, problem="airfoil", data=airfoil)
    assert result.first_step == 1 and "learning rates differ" in result.explanation
    assert {t.name: t.max_rel for t in result.tensors}["param1"] > 1e-9


def cli(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "descentlab", "diff", *words], capture_output=True, text=True,
                          timeout=120, env={"OMP_NUM_THREADS": "1", **__import__("os").environ})


def test_cli_exit_codes_and_json() -> None:
    same = cli("adam:conventions=torch", "torch.optim.Adam", "--steps", "5")
    assert same.returncode == 0 and same.stdout.startswith("equal:")
    different = cli("adam:conventions=keras", "torch.optim.Adam", "--steps", "5", "--json")
    assert different.returncode == 1
    record = json.loads(different.stdout)
    assert record["first_differing_step"] == 1 and "epsilon hat" in record["explanation"]


def test_cli_on_the_airfoil_problem(airfoil_path: Path) -> None:
    same = cli("adam:conventions=torch", "torch.optim.Adam", "--problem", "airfoil", "--data", str(airfoil_path),
               "--steps", "50")
    assert same.returncode == 0 and same.stdout.startswith("equal:") and "(airfoil)" in same.stdout
    different = cli("adam:conventions=keras", "torch.optim.Adam", "--problem", "airfoil", "--data", str(airfoil_path),
                    "--json")
    assert different.returncode == 1 and json.loads(different.stdout)["problem"] == "airfoil"


@pytest.mark.parametrize("words", [
    ["nope", "torch.optim.Adam"],
    ["adam", "torch.optim.Adam"],  # no lr
    ["adam:lr", "torch.optim.Adam"],
    ["adam:lr=0.1", "os.path"],
    ["adam:lr=0.1", "torch.optim.Adam", "--problem", "nope"],
    ["adam:lr=0.1", "torch.optim.Adam", "--problem", "airfoil", "--data", "/nonexistent/airfoil.dat"],
    ["adam:lr=0.1", "torch.optim.Adam", "--data", "/nonexistent/airfoil.dat"],
    ["nope", "torch.optim.Adam", "--problem", "airfoil", "--data", "/nonexistent/airfoil.dat"],
    ["adam:lr=-1", "torch.optim.Adam"],
    ["yogi:conventions=torch", "torch.optim.Adam"],
    # issue 31: tolerances and step counts bounded; optimizers that are not elementwise refused
    ["adam:lr=0.1", "torch.optim.Adam", "--rtol", "nan"],
    ["adam:lr=0.1", "torch.optim.Adam", "--rtol", "-1"],
    ["adam:lr=0.1", "torch.optim.Adam", "--rtol", "inf"],
    ["adam:lr=0.1", "torch.optim.Adam", "--steps", "100001"],
    ["adam:lr=0.1", "torch.optim.LBFGS"],
    ["torch.optim.SparseAdam", "adam:lr=0.1"],
    ["adam:lr=0.1", "torch.optim.LBFGS:lr=1", "--problem", "airfoil", "--data", "/nonexistent/airfoil.dat"],
])
def test_bad_input_is_one_line_and_exit_2(words: list[str]) -> None:
    done = cli(*words)
    assert done.returncode == 2, done
    assert done.stdout == "" and len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


@pytest.mark.parametrize("rtol", [float("nan"), -1.0, float("inf"), -0.0 - 1e-300])
def test_a_tolerance_that_is_not_a_finite_number_at_least_0_is_refused(rtol: float) -> None:
    """``--rtol nan`` used to print "equal: ... agree to nan" with exit 0 while the table showed 0.585."""
    with pytest.raises(ValueError, match=r"rtol must be a finite number >= 0"):
        diff("adam:conventions=keras", "torch.optim.Adam", steps=2, rtol=rtol)


def test_a_difference_is_found_whatever_a_valid_tolerance() -> None:
    assert not diff("adam:conventions=keras", "torch.optim.Adam", steps=3, rtol=0).equal
    assert diff("adam:conventions=keras", "torch.optim.Adam", steps=3, rtol=10.0).equal


@pytest.mark.parametrize(("optimizer", "why"), [
    ("torch.optim.LBFGS", "needs a closure"),
    ("torch.optim.SparseAdam", "only sparse gradients"),
])
def test_an_optimizer_that_is_not_elementwise_is_refused_in_one_line(optimizer: str, why: str) -> None:
    with pytest.raises(ValueError, match=why) as error:
        diff("adam:lr=0.1", optimizer, steps=2)
    assert "\n" not in str(error.value) and optimizer in str(error.value)


class _NeedsClosure(torch.optim.SGD):
    """An optimizer outside torch.optim whose step requires a closure."""

    def step(self, closure):  # type: ignore[override]
        return super().step(closure)


class _FailsOnDense(torch.optim.SGD):
    """An optimizer whose step refuses dense gradients at run time."""

    def step(self, closure=None):  # type: ignore[override]
        raise RuntimeError("this optimizer takes sparse gradients only\n(and a second line)")


def test_any_optimizer_requiring_a_closure_or_failing_to_step_is_refused_in_one_line() -> None:
    with pytest.raises(ValueError, match=r"_NeedsClosure cannot be compared: .*requires a closure"):
        diff("sgd:lr=0.1", f"{__name__}._NeedsClosure:lr=0.1", steps=2)
    with pytest.raises(ValueError, match=r"cannot be compared: its step\(\) .* failed at step 1: this optimizer takes "
                                         r"sparse gradients only$"):
        diff("sgd:lr=0.1", f"{__name__}._FailsOnDense:lr=0.1", steps=2)


def test_the_command_and_the_library_share_the_step_limit() -> None:
    from descentlab.cli.diff_cmd import MAX_STEPS as CLI_MAX_STEPS
    from descentlab.diff import MAX_STEPS

    assert CLI_MAX_STEPS == MAX_STEPS
    with pytest.raises(ValueError, match=r"steps must be a whole number from 1 to"):
        diff("sgd:lr=0.1", "torch.optim.SGD:lr=0.1", steps=MAX_STEPS + 1)
