"""descentlab.optim holds up where a torch.optim user goes (issue 27), table by table, all seven algorithms:

- calls that cannot be misread: only ``lr`` by position (AdaDelta: nothing), and
  torch's positional orders or keyword names are a one-line TypeError naming ours
  (or ``descentlab.torch_optim``);
- checkpoints: pre-hooks first, saved groups validated as the constructor does,
  a wrapper's state entries kept, another algorithm's state refused, old
  checkpoints' number ``step``, bf16 compensation across every resume route;
- complex parameters as torch.optim: the run on ``view_as_real``, on every path,
  equal to torch.optim's complex run;
- deepcopy and pickle, empty and meta parameters, a dtype change after steps.
"""

from __future__ import annotations

import copy
import inspect
import pickle
import warnings
from typing import Any

import pytest
import torch

from descentlab import optim as dl
from descentlab.algorithms import REGISTRY
from descentlab.engine.paths import fast
from descentlab.engine.state.checkpoints import from_torch, to_torch
from descentlab.engine.torch_names import TORCH_COUNTERPARTS
from helpers import RICH

NAMES = tuple(REGISTRY)
PATHS = {"plain": False, "eager": None, "compiled": True}


def _params(n: int = 3, dtype: torch.dtype = torch.float64) -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.linspace(-1, 1, n, dtype=dtype))]


def _steps(opt: torch.optim.Optimizer, params: list[torch.Tensor], count: int, start: int = 0) -> None:
    """``count`` steps with gradients that change every step (the same for every run)."""
    for t in range(start, start + count):
        for p in params:
            p.grad = torch.cos(3 * p.detach() + t) if not p.is_complex() else torch.cos(3 * p.detach() + t) * (1 - 0.5j)
        opt.step()


def _one_line(error: pytest.ExceptionInfo) -> None:
    assert "\n" not in str(error.value)


# ---------------------------------------------------------------------------
# 1. Calls that cannot be misread
# ---------------------------------------------------------------------------

# a torch-style positional call -> what the message must say (torch's reading, and where torch's signature is)
POSITIONAL = [
    ("sgd", (0.1, 0.9), r"SGD: takes only lr by position, 2 given; torch\.optim\.SGD would read them as lr, momentum.*"
                        r"descentlab\.torch_optim\.SGD"),
    ("momentum", (0.1, 0.9), r"Momentum: takes only lr by position.*descentlab\.torch_optim\.SGD"),
    ("adagrad", (0.01, 0.1), r"AdaGrad: takes only lr.*torch\.optim\.Adagrad would read them as lr, lr_decay.*"
                             r"descentlab\.torch_optim\.Adagrad"),
    ("rmsprop", (0.01, 0.99), r"RMSProp: takes only lr.*as lr, alpha.*descentlab\.torch_optim\.RMSprop"),
    ("adadelta", (0.5,), r"AdaDelta: takes no hyperparameter by position, 1 given; torch\.optim\.Adadelta would read "
                         r"them as lr.*AdaDelta\(params, rho=.*descentlab\.torch_optim\.Adadelta"),
    ("adam", (0.01, (0.8, 0.9)), r"Adam: takes only lr.*as lr, betas.*descentlab\.torch_optim\.Adam"),
    ("yogi", (0.01, (0.8, 0.9)), r"Yogi: takes only lr by position.*descentlab\.torch_optim"),
]

# torch.optim's keyword names given to the notes' classes -> the message names our class, keyword or option
TORCH_NAMES = [
    ("sgd", {"lr": 0.1, "momentum": 0.9}, r"unexpected keyword argument 'momentum'.*descentlab\.optim\.Momentum.*"
                                          r"descentlab\.torch_optim\.SGD"),
    ("sgd", {"lr": 0.1, "nesterov": True}, r"'nesterov'.*descentlab\.optim\.Momentum"),
    ("rmsprop", {"lr": 0.01, "alpha": 0.99}, r"unexpected keyword argument 'alpha'; use gamma="),
    ("adam", {"lr": 0.01, "foreach": True}, r"'foreach'; fused=None \(the default\) already runs .*_foreach_"),
    ("adam", {"lr": 0.01, "capturable": True}, r"'capturable'; descentlab has no CUDA-graph capturable mode"),
    ("adagrad", {"lr": 0.01, "differentiable": True}, r"'differentiable'; the step runs under torch\.no_grad"),
    ("adam", {}, r"Adam: missing a required argument: 'lr'.*Adam\(params, lr=\.\.\.\).*torch\.optim\.Adam defaults "
                 r"to lr=0\.001"),
    ("momentum", {"lr": 0.1}, r"Momentum: missing a required argument: 'momentum'"),
    ("yogi", {"lr": 0.1, "bogus": 1}, r"unexpected keyword argument 'bogus'; it takes: lr, betas"),
]


@pytest.mark.parametrize("name, args, pattern", POSITIONAL, ids=[c[0] for c in POSITIONAL])
def test_a_torch_style_positional_call_is_one_line_naming_torch_optim(name: str, args: tuple, pattern: str) -> None:
    params = _params()
    with pytest.raises(TypeError, match=pattern) as error:
        dl.CLASSES[name](params, *args)
    _one_line(error)


@pytest.mark.parametrize("name, kwargs, pattern", TORCH_NAMES,
                         ids=[f"{c[0]}-{'-'.join(c[1]) or 'none'}" for c in TORCH_NAMES])
def test_torch_names_get_a_message_naming_ours(name: str, kwargs: dict[str, Any], pattern: str) -> None:
    with pytest.raises(TypeError, match=pattern) as error:
        dl.CLASSES[name](_params(), **kwargs)
    _one_line(error)


@pytest.mark.parametrize("name", NAMES)
def test_only_lr_is_positional(name: str) -> None:
    """The signature says it: lr (where the table starts with it) by position, every other hyperparameter by name."""
    parameters = list(inspect.signature(dl.CLASSES[name]).parameters.values())[1:]
    positional = [p.name for p in parameters if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
    assert positional == (["lr"] if REGISTRY[name].names[0] == "lr" else [])
    if positional:  # and lr by position is still lr
        opt = dl.CLASSES[name](_params(), 0.25, **{k: v for k, v in RICH[name].items() if k != "lr"})
        assert opt.defaults["lr"] == 0.25


# ---------------------------------------------------------------------------
# 2. Checkpoints
# ---------------------------------------------------------------------------


def _trained(name: str, steps: int = 3, **options: Any) -> tuple[torch.optim.Optimizer, list[torch.nn.Parameter]]:
    params = _params()
    opt = dl.CLASSES[name](params, **RICH[name], **options)
    _steps(opt, params, steps)
    return opt, params


def test_load_pre_hooks_run_first_and_once_post_hooks_see_the_placed_state() -> None:
    source, _ = _trained("adam")
    saved = source.state_dict()
    saved["param_groups"][0]["lr"] = "set by the hook"  # invalid until the pre-hook replaces it
    target = dl.Adam(_params(), **RICH["adam"])
    calls: list[str] = []

    def pre(opt: torch.optim.Optimizer, state_dict: dict) -> dict:
        calls.append("pre")
        return {**state_dict, "param_groups": [{**g, "lr": 0.05} for g in state_dict["param_groups"]]}

    def post(opt: torch.optim.Optimizer) -> None:
        calls.append("post")
        mine = {v.untyped_storage().data_ptr() for s in opt.state.values() for v in s.values()}
        assert not mine & {v.untyped_storage().data_ptr() for s in source.state.values() for v in s.values()}

    target.register_load_state_dict_pre_hook(pre)
    target.register_load_state_dict_post_hook(post)
    target.load_state_dict(saved)
    assert calls == ["pre", "post"] and target.param_groups[0]["lr"] == 0.05
    assert saved["param_groups"][0]["lr"] == "set by the hook"  # the caller's dict is untouched


# one invalid saved group value per algorithm -> the constructor's message
BAD_GROUPS = [
    ("sgd", "lr", -1.0, r"lr must be >= 0, got -1"),
    ("momentum", "momentum", 1.0, r"momentum must be in \[0, 1\), got 1"),
    ("adagrad", "eps", float("inf"), r"eps must be finite"),
    ("rmsprop", "gamma", 1.5, r"gamma must be in \[0, 1\), got 1\.5"),
    ("adadelta", "rho", -0.1, r"rho must be in \[0, 1\)"),
    ("adam", "lr", float("nan"), r"lr must be finite, got nan"),
    ("adam", "betas", (2, -1), r"betas\[0\] must be in \[0, 1\), got 2"),
    ("adam", "eps_mode", "bogus", r"eps_mode must be one of 'algorithm1', 'epsilon_hat', got 'bogus'"),
    ("adam", "eps_root", 1e-8, r"eps_root is only used with eps_mode='algorithm1'"),  # with epsilon_hat below
    ("yogi", "betas", (0.9, 1.0), r"betas\[1\] must be in \[0, 1\)"),
]


@pytest.mark.parametrize("name, key, value, pattern", BAD_GROUPS, ids=[f"{c[0]}-{c[1]}" for c in BAD_GROUPS])
def test_a_checkpoint_with_an_invalid_group_is_refused_like_the_constructor(
    name: str, key: str, value: Any, pattern: str
) -> None:
    source, _ = _trained(name)
    saved = source.state_dict()
    saved["param_groups"][0][key] = value
    if key == "eps_root":
        saved["param_groups"][0]["eps_mode"] = "epsilon_hat"
    target = dl.CLASSES[name](_params(), **RICH[name])
    before = copy.deepcopy(target.param_groups[0])
    where = rf"{type(target).__name__}\.load_state_dict: saved parameter group 0: "
    with pytest.raises(ValueError, match=where + pattern):
        target.load_state_dict(saved)
    assert not target.state and target.param_groups[0].keys() == before.keys()  # nothing was loaded
    assert all(target.param_groups[0][k] == before[k] for k in before if k != "params")


@pytest.mark.parametrize("path", ["plain", "eager"])
@pytest.mark.parametrize("name", NAMES)
def test_a_wrappers_state_entry_is_kept_saved_and_restored_untouched(name: str, path: str) -> None:
    """timm's Lookahead keeps its slow weights in the inner optimizer's state: they survive a round trip and steps."""
    source, _ = _trained(name, fused=PATHS[path])
    reference, _ = _trained(name, fused=PATHS[path])
    slow = {0: torch.full((3,), 7.0, dtype=torch.float32), 1: torch.tensor(2)}  # dtypes unlike the parameter's
    for p in source.state:
        source.state[p]["lookahead_slow_buff"] = slow[0].clone()
        source.state[p]["lookahead_counter"] = slow[1].clone()
    params, again = _params(), _params()
    with torch.no_grad():
        for p, q, r in zip(params, again, reference.param_groups[0]["params"]):
            p.copy_(r), q.copy_(r)
    target = dl.CLASSES[name](params, **RICH[name], fused=PATHS[path])
    target.load_state_dict(source.state_dict())
    plain = dl.CLASSES[name](again, **RICH[name], fused=PATHS[path])
    plain.load_state_dict(reference.state_dict())
    _steps(target, params, 3, start=3)
    _steps(plain, again, 3, start=3)
    assert all(torch.equal(p, q) for p, q in zip(params, again))  # the extra entries change nothing
    saved = target.state_dict()["state"][0]
    assert torch.equal(saved["lookahead_slow_buff"], slow[0]) and saved["lookahead_slow_buff"].dtype == torch.float32
    assert torch.equal(saved["lookahead_counter"], slow[1])


# a checkpoint of one algorithm into another: refused (by the "algorithm" key, or, without it, by what it holds)
OTHER_ALGORITHM = [("adam", "yogi", True), ("adam", "sgd", False), ("momentum", "rmsprop", False),
                   ("rmsprop", "adagrad", False), ("yogi", "adam", False), ("adadelta", "momentum", False)]


@pytest.mark.parametrize("saved_by, loaded_by, with_key", OTHER_ALGORITHM,
                         ids=[f"{a}-into-{b}" for a, b, _ in OTHER_ALGORITHM])
def test_a_checkpoint_of_another_algorithm_is_refused(saved_by: str, loaded_by: str, with_key: bool) -> None:
    source, _ = _trained(saved_by)
    saved = source.state_dict()
    if not with_key:
        del saved["algorithm"]
    with pytest.raises(ValueError, match=r"load_state_dict: .*(different optimizer|lack)") as error:
        dl.CLASSES[loaded_by](_params(), **RICH[loaded_by]).load_state_dict(saved)
    _one_line(error)


@pytest.mark.parametrize("name", NAMES)
def test_an_old_checkpoint_with_a_number_step_loads_and_resumes(name: str) -> None:
    source, _ = _trained(name)
    saved = source.state_dict()
    old = {**saved, "state": {i: {**s, "step": float(s["step"].item())} for i, s in saved["state"].items()}}
    runs = []
    for state_dict in (saved, old):
        params = [torch.nn.Parameter(p.detach().clone()) for p in source.param_groups[0]["params"]]
        opt = dl.CLASSES[name](params, **RICH[name])
        opt.load_state_dict(state_dict)
        _steps(opt, params, 2, start=3)
        assert opt.state[params[0]]["step"].item() == 5
        runs.append(params[0].detach())
    assert torch.equal(*runs)


def _bf16() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.ones(4, dtype=torch.bfloat16))]


def _ones_steps(opt: torch.optim.Optimizer, params: list[torch.Tensor], count: int) -> None:
    for _ in range(count):
        params[0].grad = torch.ones_like(params[0])
        opt.step()


# every route into a compensated bfloat16 run: lr 1e-3, gradient 1: 50 steps move 0.99 to 0.94 (bf16: 0.941406)
RESUME_ROUTES = ["compensated=False checkpoint", "from_torch", "compensated checkpoint"]


@pytest.mark.parametrize("route", RESUME_ROUTES)
def test_bf16_compensation_survives_every_resume_route(route: str) -> None:
    params = _bf16()
    if route == "from_torch":  # Adam (torch's SGD keeps no state): a constant gradient moves it by lr a step too
        before = torch.optim.Adam(params, lr=1e-3)
        _ones_steps(before, params, 10)
        saved = from_torch(before.state_dict(), "adam")
    else:
        before = dl.SGD(params, lr=1e-3, compensated=route == "compensated checkpoint")
        _ones_steps(before, params, 10)
        saved = before.state_dict()
    start = params[0].detach().float().clone()  # where the run is: the parameter plus any kept rounding error
    if "compensation" in saved["state"].get(0, {}):
        start += saved["state"][0]["compensation"].float()
    after = dl.Adam(params, lr=1e-3, eps=1e-8) if route == "from_torch" else dl.SGD(params, lr=1e-3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        after.load_state_dict(saved)
    _ones_steps(after, params, 50)
    assert torch.allclose(params[0].float() + after.state[params[0]]["compensation"].float(), start - 0.05, atol=1e-4)
    assert params[0][0].item() == pytest.approx(float(torch.tensor(float(start[0]) - 0.05).bfloat16()), abs=4e-3)
    assert params[0][0].item() < 0.96  # torch.optim.SGD would leave it at 1 (every step is below half an ulp)


def test_bf16_compensation_dropped_is_said() -> None:
    params = _bf16()
    source = dl.SGD(params, lr=1e-3)
    _ones_steps(source, params, 10)
    with pytest.warns(RuntimeWarning, match=r"compensation.*dropped \(compensated=False\)"):
        dl.SGD(params, lr=1e-3, compensated=False).load_state_dict(source.state_dict())
    with pytest.warns(RuntimeWarning, match=r"to_torch: torch\.optim\.SGD keeps no rounding error"):
        to_torch(source.state_dict())
    wide = [torch.nn.Parameter(params[0].detach().float())]  # the model made float32 (model.float())
    with pytest.warns(RuntimeWarning, match=r"dropped \(the parameter is now torch\.float32\)"):
        dl.SGD(wide, lr=1e-3).load_state_dict(source.state_dict())


# ---------------------------------------------------------------------------
# 3. Complex parameters
# ---------------------------------------------------------------------------


def _complex_pair(dtype: torch.dtype = torch.complex128) -> tuple[torch.nn.Parameter, torch.nn.Parameter]:
    z = torch.tensor([[1 + 1j, 2 - 1j, -0.5j], [0.3, -1 + 0.2j, 0.7 + 0.7j]], dtype=dtype)
    return torch.nn.Parameter(z.clone()), torch.nn.Parameter(torch.view_as_real(z).clone())


def _complex_steps(opt: torch.optim.Optimizer, z: torch.Tensor, r: torch.Tensor | None, count: int) -> None:
    """Gradients of a complex quadratic plus a drift that turns with t (both parts of g, of either sign)."""
    turn = torch.arange(z.numel(), dtype=torch.float64).reshape(z.shape)
    for t in range(count):
        g = (0.5 - 0.2j) * z.detach() + torch.cos(turn + t) * (0.3 - 0.4j)
        z.grad = g
        if r is not None:
            r.grad = torch.view_as_real(g).clone()
        opt.step()


# the compiled path costs seconds per algorithm to compile: two rules on it (the complex handling sits above the
# paths, which only see real views), every rule on the other two
COMPLEX_CASES = [(n, p) for n in NAMES for p in PATHS]


@pytest.mark.parametrize("name, path", COMPLEX_CASES, ids=[f"{n}-{p}" for n, p in COMPLEX_CASES])
def test_a_complex_run_is_the_run_on_view_as_real(name: str, path: str) -> None:
    if path == "compiled" and not fast.compiler_available():
        pytest.skip("torch.compile needs a C++ compiler here")
    z, r = _complex_pair()
    opt = dl.CLASSES[name]([z, r], **RICH[name], fused=PATHS[path])  # one group: both parameters in one step
    _complex_steps(opt, z, r, 4)
    assert torch.equal(torch.view_as_real(z.detach()), r.detach())
    for key, value in opt.state[z].items():  # the state keeps torch's layout: complex, the parameter's shape
        if value.dim() > 0:
            assert value.dtype == z.dtype and value.shape == z.shape
            assert torch.equal(torch.view_as_real(value), opt.state[r][key])


@pytest.mark.parametrize("name", list(TORCH_COUNTERPARTS))
def test_a_complex_run_equals_torch_optim(name: str) -> None:
    z, _ = _complex_pair()
    ours = dl.CLASSES[name]([z], conventions="torch", **({"lr": 0.05} if name != "adadelta" else {}),
                            **({"momentum": 0.9} if name == "momentum" else {}))
    w, _ = _complex_pair()
    kwargs = {"lr": 0.05} if name != "adadelta" else {}
    theirs = TORCH_COUNTERPARTS[name].optimizer([w], **kwargs, **({"momentum": 0.9} if name == "momentum" else {}))
    _complex_steps(ours, z, None, 20)
    _complex_steps(theirs, w, None, 20)
    assert (z.detach() - w.detach()).abs().max().item() <= 1e-12 * w.detach().abs().max().item()


@pytest.mark.parametrize("name", list(TORCH_COUNTERPARTS))
def test_a_complex_torch_checkpoint_resumes_as_torch(name: str) -> None:
    """torch.optim's complex state (complex tensors) goes through from_torch and on, as torch's run goes on."""
    extra = {"momentum": 0.9} if name == "momentum" else {}
    lr = {"lr": 0.05} if name != "adadelta" else {}
    z, _ = _complex_pair()
    theirs = TORCH_COUNTERPARTS[name].optimizer([z], **lr, **extra)
    _complex_steps(theirs, z, None, 3)
    w = torch.nn.Parameter(z.detach().clone())
    ours = dl.CLASSES[name]([w], conventions="torch", **lr, **extra)
    ours.load_state_dict(from_torch(theirs.state_dict(), name))
    _complex_steps(theirs, z, None, 5)
    _complex_steps(ours, w, None, 5)
    assert (z.detach() - w.detach()).abs().max().item() <= 1e-12 * z.detach().abs().max().item()


def test_complex64_adam_moves_each_part_by_its_own_gradient() -> None:
    """g = 1j moves only the imaginary part, by lr (Adam's first step): 1+1j -> 1+0.9j, as torch.optim.Adam."""
    z = torch.nn.Parameter(torch.tensor([1 + 1j], dtype=torch.complex64))
    opt = dl.Adam([z], lr=0.1, eps=1e-8)
    z.grad = torch.tensor([1j], dtype=torch.complex64)
    opt.step()
    assert z.real.item() == 1.0 and z.imag.item() == pytest.approx(0.9, abs=1e-6)


# ---------------------------------------------------------------------------
# 4. deepcopy, pickle, empty and meta parameters, a dtype change
# ---------------------------------------------------------------------------

COPIES = {"deepcopy": copy.deepcopy, "pickle": lambda opt: pickle.loads(pickle.dumps(opt))}


@pytest.mark.parametrize("how", list(COPIES))
@pytest.mark.parametrize("name", NAMES)
def test_a_copied_optimizer_steps_as_the_original(name: str, how: str) -> None:
    params = _params(5)
    opt = dl.CLASSES[name](params, **RICH[name], skip_nonfinite=True, compensated=False)
    _steps(opt, params, 2)
    params[0].grad = torch.full_like(params[0], float("nan"))
    opt.step()  # skipped, counted
    twin = COPIES[how](opt)
    twin_params = twin.param_groups[0]["params"]
    assert (twin.skip_nonfinite, twin.precision.compensated, twin.fused, twin.skipped_steps) == (True, False, None, 1)
    _steps(opt, params, 3, start=2)
    _steps(twin, twin_params, 3, start=2)
    assert torch.equal(params[0], twin_params[0])
    assert all(torch.equal(v, twin.state[twin_params[0]][k]) for k, v in opt.state[params[0]].items())


@pytest.mark.parametrize("skip_nonfinite", [False, True])
@pytest.mark.parametrize("path", ["plain", "eager"])
@pytest.mark.parametrize("name", NAMES)
def test_an_empty_parameter_steps(name: str, path: str, skip_nonfinite: bool) -> None:
    with_empty = [torch.nn.Parameter(torch.ones(0, 3, dtype=torch.float64)), *_params()]
    alone = _params()
    runs = [dl.CLASSES[name](ps, **RICH[name], fused=PATHS[path], skip_nonfinite=skip_nonfinite)
            for ps in (with_empty, alone)]
    _steps(runs[0], with_empty, 3)
    _steps(runs[1], alone, 3)
    assert torch.equal(with_empty[1], alone[0]) and with_empty[0].shape == (0, 3)


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("name", NAMES)
def test_meta_parameters_step_as_in_torch(name: str, path: str) -> None:
    """A model built on the meta device (shapes only) steps, as torch.optim's does; its state is on meta too."""
    params = [torch.nn.Parameter(torch.empty(4, 3, device="meta")), torch.nn.Parameter(torch.empty(3, device="meta"))]
    opt = dl.CLASSES[name](params, **RICH[name], fused=PATHS[path], skip_nonfinite=True)
    for _ in range(2):
        for p in params:
            p.grad = torch.empty_like(p)
        opt.step()
    assert all(p.device.type == "meta" for p in params)
    assert all(v.device.type == "meta" for s in opt.state.values() for v in s.values())


@pytest.mark.parametrize("name", NAMES)
def test_a_dtype_change_after_steps_is_refused_in_one_line(name: str) -> None:
    model = torch.nn.Linear(3, 1)
    opt = dl.CLASSES[name](model.parameters(), **RICH[name])
    _steps(opt, list(model.parameters()), 2)
    model.double()
    params = list(model.parameters())
    if REGISTRY[name].state_keys == ("step",):  # SGD keeps no tensor to disagree with (torch.optim.SGD runs too)
        _steps(opt, params, 1)
        return
    with pytest.raises(TypeError, match=r"step: parameter 0 is now torch\.float64 but its state is torch\.float32.*"
                                        r"load_state_dict\(opt\.state_dict\(\)\)") as error:
        _steps(opt, params, 1)
    _one_line(error)
    opt.load_state_dict(opt.state_dict())  # the way out the message gives: the state cast to the new dtype
    _steps(opt, params, 1)
    assert all(v.dtype == torch.float64 for s in opt.state.values() for k, v in s.items() if v.dim() > 0)


TORCH_SETTINGS = {"momentum": {"lr": 0.05, "momentum": 0.9}, "adagrad": {"lr": 0.05}, "rmsprop": {"lr": 0.01},
                  "adadelta": {}, "adam": {"lr": 0.01}}


@pytest.mark.parametrize("name", sorted(TORCH_SETTINGS))
def test_a_torch_checkpoint_loads_unchanged_with_torch_conventions_and_resumes_bit_for_bit(name: str) -> None:
    """``descentlab.optim.X(conventions="torch").load_state_dict(torch.optim.X(...).state_dict())``, float32."""
    from descentlab.engine.torch_names import TORCH_COUNTERPARTS

    torch.manual_seed(0)
    theirs_p = [torch.nn.Parameter(torch.randn(5, 3)), torch.nn.Parameter(torch.randn(3))]
    ours_p = [torch.nn.Parameter(q.detach().clone()) for q in theirs_p]
    theirs = TORCH_COUNTERPARTS[name].optimizer(theirs_p, **TORCH_SETTINGS[name])

    def steps(opt, params, n):
        for _ in range(n):
            opt.zero_grad()
            sum((q.sin() * q).sum() for q in params).backward()
            opt.step()

    steps(theirs, theirs_p, 3)
    ours = dl.CLASSES[name](ours_p, conventions="torch", **TORCH_SETTINGS[name])
    ours.load_state_dict(theirs.state_dict())
    with torch.no_grad():
        for p, q in zip(ours_p, theirs_p):
            p.copy_(q)
    steps(theirs, theirs_p, 4)
    steps(ours, ours_p, 4)
    assert all(torch.equal(p, q) for p, q in zip(ours_p, theirs_p))
