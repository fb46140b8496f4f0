"""descentlab.torch_optim inside the frameworks that call torch.optim (issue 27): the real-client tier.

Every test runs one training twice in float32 on CPU, once with the "ours" class and once
with the ``torch.optim`` class of the same name, through a real client, and asks for the
same bits: ``torch.equal`` on every parameter, and on the optimizer state wherever the
client exposes it (state dicts are compared whole: the same keys, per-parameter state and
param-group entries, tensors equal in value and dtype).

- PyTorch Lightning's ``Trainer``: ``configure_optimizers`` with an lr scheduler dict,
  ``ModelCheckpoint``, and ``fit(..., ckpt_path=...)`` resuming equal to an uninterrupted fit;
- timm's ``create_optimizer_v2`` with its weight-decay param groups, for every timm name
  built on one of the six torch classes, and timm's ``Lookahead`` around Adam resumed from
  its ``state_dict``;
- pytorch-optimizer's ``Lookahead`` around SGD with momentum (it writes
  ``state["momentum_buffer"]``), resumed from its ``state_dict``;
- torch Distributed Checkpoint: ``get_optimizer_state_dict`` / ``dcp.save`` / ``dcp.load`` /
  ``set_optimizer_state_dict`` (one process, no process group), then more steps;
- the Hugging Face ``Trainer`` with ``optimizers=(optimizer, scheduler)`` and with
  ``optimizer_cls_and_kwargs``, a tiny Llama built from a config, resumed with
  ``resume_from_checkpoint``.

"Ours" is the ``side`` fixture: ``descentlab.torch_optim`` (skipped until that module
imports), and the *harness self-check*, where "ours" is ``torch.optim`` itself: torch
against torch must be bit-identical, which shows that each harness is deterministic and
compares what it claims to, so that a failure on the descentlab side is the optimizer's.
Each test skips with ``pytest.importorskip`` when its client is not installed.  The clients
import torchvision when it is installed; see ``torchvision_shim.py`` for why it needs help
beside the CPU build of torch.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from torchvision_shim import import_torchvision

pytestmark = pytest.mark.clients

import_torchvision()

# Non-default arguments that take every branch a rule has (momentum with dampening,
# amsgrad, centred RMSprop with momentum, Adagrad's lr decay, weight decay everywhere).
SETTINGS: dict[str, dict[str, Any]] = {
    "SGD": {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
    "Adam": {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.01, "amsgrad": True},
    "AdamW": {"lr": 0.01, "betas": (0.85, 0.98), "eps": 1e-6, "weight_decay": 0.1},
    "Adagrad": {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.01, "initial_accumulator_value": 0.1},
    "RMSprop": {"lr": 0.01, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    "Adadelta": {"lr": 1.0, "rho": 0.8, "weight_decay": 0.01},
}
NAMES = tuple(SETTINGS)


# ---------------------------------------------------------------------------
# The two sides, and bit-for-bit comparison.
# ---------------------------------------------------------------------------


@pytest.fixture(params=["harness-self-check", "descentlab"])
def side(request: pytest.FixtureRequest) -> ModuleType:
    """Where "ours" comes from: descentlab.torch_optim, or torch.optim for the harness self-check."""
    if request.param == "descentlab":
        return pytest.importorskip("descentlab.torch_optim", reason="descentlab.torch_optim does not import (not on this branch yet?)")
    return torch.optim


def assert_identical(ours: Any, theirs: Any, where: str = "") -> None:
    """The same structure, keys and values; tensors equal bit for bit, with the same dtype and shape."""
    if isinstance(theirs, Tensor):
        assert isinstance(ours, Tensor), f"{where}: {type(ours).__name__}, torch has a tensor"
        assert ours.dtype == theirs.dtype, f"{where}: dtype {ours.dtype}, torch has {theirs.dtype}"
        assert ours.shape == theirs.shape, f"{where}: shape {tuple(ours.shape)}, torch has {tuple(theirs.shape)}"
        same = torch.equal(ours, theirs)  # a plain bool: pytest would print both tensors
        assert same, f"{where}: values differ (max |diff| {(ours - theirs).abs().max().item():.3g})"
    elif isinstance(theirs, Mapping):
        assert isinstance(ours, Mapping), f"{where}: {type(ours).__name__}, torch has a mapping"
        assert set(ours) == set(theirs), (f"{where}: keys only ours {sorted(map(str, set(ours) - set(theirs)))}, "
                                          f"only torch's {sorted(map(str, set(theirs) - set(ours)))}")
        for key in theirs:
            assert_identical(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), f"{where}: {ours!r} != {theirs!r}"
        for index, (a, b) in enumerate(zip(ours, theirs)):
            assert_identical(a, b, f"{where}[{index}]")
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def snapshot(model: nn.Module, optimizer: Any) -> dict[str, Any]:
    """What a run ends with: every parameter and the optimizer's (or wrapper's) state dict."""
    return {"parameters": {name: p.detach().clone() for name, p in model.named_parameters()},
            "optimizer": optimizer.state_dict()}


def saved_and_loaded(state: Any) -> Any:
    """A state dict through ``torch.save`` / ``torch.load`` (weights only), as a checkpoint file holds it."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


# ---------------------------------------------------------------------------
# A tiny regression problem and a plain training loop.
# ---------------------------------------------------------------------------

FEATURES = 4


def tiny_model(seed: int = 0) -> nn.Module:
    """Two linear layers (weights and 1-D biases, so weight-decay grouping has two groups)."""
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return nn.Sequential(nn.Linear(FEATURES, 8), nn.Tanh(), nn.Linear(8, 1))


def tiny_data(samples: int = 32, seed: int = 1) -> tuple[Tensor, Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(samples, FEATURES, generator=generator)
    y = torch.sin(x.sum(dim=1, keepdim=True)) + 0.1 * torch.randn(samples, 1, generator=generator)
    return x, y


def train(model: nn.Module, optimizer: torch.optim.Optimizer, steps: range, batch: int = 8) -> None:
    """Mini-batch steps; step ``i`` always sees the same batch, so a run can stop and resume."""
    x, y = tiny_data()
    batches = len(x) // batch
    for step in steps:
        rows = slice((step % batches) * batch, (step % batches + 1) * batch)
        optimizer.zero_grad()
        F.mse_loss(model(x[rows]), y[rows]).backward()
        optimizer.step()


# ---------------------------------------------------------------------------
# PyTorch Lightning: Trainer, configure_optimizers with a scheduler, ModelCheckpoint, resume.
# ---------------------------------------------------------------------------

LIGHTNING_EPOCHS = 3  # 4 steps an epoch; the fit that is stopped ends after the first epoch


@pytest.fixture
def pl(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """pytorch_lightning; ``deterministic=True`` switches torch's global flags, put back after the test."""
    module = pytest.importorskip("pytorch_lightning")
    deterministic = torch.are_deterministic_algorithms_enabled()
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # what Lightning sets; monkeypatch restores it
    # torch's own test utilities (the optim_db tests, in the same worker) freeze the cudnn flags that
    # deterministic=True sets: let Lightning set them for this test, then put them back
    cudnn = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    with getattr(torch.backends, "__allow_nonbracketed_mutation")():
        yield module
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
    torch.use_deterministic_algorithms(deterministic)


def _lightning_fit(pl: ModuleType, optimizer_class: type, settings: dict[str, Any], root: Path, epochs: int,
                   ckpt_path: Path | None = None) -> Path:
    """One fit of ``epochs`` epochs in all; returns the folder of its per-epoch checkpoints."""

    class Regressor(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = tiny_model()

        def training_step(self, batch: tuple[Tensor, Tensor], batch_idx: int) -> Tensor:
            x, y = batch
            return F.mse_loss(self.net(x), y)

        def configure_optimizers(self) -> dict[str, Any]:
            optimizer = optimizer_class(self.parameters(), **settings)
            scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)
            return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

    checkpoints = root / "checkpoints"
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, max_epochs=epochs, deterministic=True,
        enable_progress_bar=False, enable_model_summary=False, logger=False, default_root_dir=root,
        callbacks=[pl.callbacks.ModelCheckpoint(dirpath=checkpoints, filename="{epoch}", every_n_epochs=1,
                                                save_top_k=-1)],
    )
    x, y = tiny_data()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8, shuffle=False)
    trainer.fit(Regressor(), loader, ckpt_path=ckpt_path)
    return checkpoints


def _lightning_checkpoint(path: Path) -> dict[str, Any]:
    """What Lightning saved that the optimizer decides: weights, optimizer and scheduler states, the step."""
    saved = torch.load(path, weights_only=False)
    return {key: saved[key] for key in ("state_dict", "optimizer_states", "lr_schedulers", "global_step", "epoch")}


@pytest.mark.filterwarnings("ignore:Checkpoint directory .* exists and is not empty:UserWarning")
@pytest.mark.filterwarnings("ignore:`isinstance\\(treespec, LeafSpec\\)` is deprecated")  # Lightning's own use of torch
@pytest.mark.parametrize("name", NAMES)
def test_lightning_trainer_checkpoint_and_resume(pl: ModuleType, side: ModuleType, name: str, tmp_path: Path) -> None:
    """Ours and torch's fits save the same checkpoints; a fit stopped after epoch 1 and resumed equals both."""
    ours, theirs, settings = getattr(side, name), getattr(torch.optim, name), SETTINGS[name]
    folders = {"torch": _lightning_fit(pl, theirs, settings, tmp_path / "torch", LIGHTNING_EPOCHS),
               "ours": _lightning_fit(pl, ours, settings, tmp_path / "ours", LIGHTNING_EPOCHS)}
    stopped = _lightning_fit(pl, ours, settings, tmp_path / "stopped", 1)
    assert sorted(path.name for path in stopped.iterdir()) == ["epoch=0.ckpt"]
    folders["resumed"] = _lightning_fit(pl, ours, settings, tmp_path / "stopped", LIGHTNING_EPOCHS,
                                        ckpt_path=stopped / "epoch=0.ckpt")

    for epoch in range(LIGHTNING_EPOCHS):
        expected = _lightning_checkpoint(folders["torch"] / f"epoch={epoch}.ckpt")
        for who in ("ours", "resumed"):
            assert_identical(_lightning_checkpoint(folders[who] / f"epoch={epoch}.ckpt"), expected,
                             f"{name} {who}, epoch {epoch}")


# ---------------------------------------------------------------------------
# timm: create_optimizer_v2 and Lookahead.
# ---------------------------------------------------------------------------

# timm's registry names built on the six torch.optim classes (timm 1.0.31; the
# "nesterov" alias is the "sgd" entry).  test_timm_builds_these_torch_classes guards it.
TIMM_NAMES: dict[str, str] = {
    "sgd": "SGD", "momentum": "SGD", "adam": "Adam", "adamw": "AdamW",
    "adagrad": "Adagrad", "rmsprop": "RMSprop", "adadelta": "Adadelta",
}
TIMM_ARGUMENTS: dict[str, Any] = {"lr": 0.01, "weight_decay": 0.05}


@pytest.fixture
def timm_optim() -> ModuleType:
    """timm.optim (its create_optimizer_v2, Lookahead and default_registry)."""
    pytest.importorskip("timm")
    import timm.optim

    return timm.optim


def _timm_registry() -> Any:
    from timm.optim._optim_factory import default_registry

    return default_registry


def register_in_timm(monkeypatch: pytest.MonkeyPatch, timm_name: str, optimizer_class: type) -> str:
    """Register "ours-<name>": timm's own entry for ``timm_name`` with its class swapped for ours.

    ``create_optimizer_v2`` takes the optimizer only by registry name (a string, split on
    "_" for the "lookahead_" prefix), so ours has to be in timm's registry.  The entry is a
    copy of timm's (its defaults such as ``nesterov=True`` for "sgd", and what it says about
    eps, betas and momentum); it goes into ``default_registry``'s table through monkeypatch
    (``_optimizers`` is timm's private dict; the public ``register`` cannot be undone), so
    it is gone after the test.
    """
    registry = _timm_registry()
    info = registry.get_optimizer_info(timm_name)
    ours_name = f"ours-{timm_name}"
    monkeypatch.setitem(registry._optimizers, ours_name, dataclasses.replace(info, name=ours_name,
                                                                             opt_class=optimizer_class))
    return ours_name


def test_timm_builds_these_torch_classes(timm_optim: ModuleType) -> None:
    """TIMM_NAMES is exactly timm's set of registry entries whose class is one of the six."""
    registry = _timm_registry()
    torch_classes = {getattr(torch.optim, name): name for name in NAMES}
    built = {name: torch_classes[info.opt_class] for name, info in registry._optimizers.items()
             if info.opt_class in torch_classes and info.name == name}  # not aliases ("nesterov")
    assert built == TIMM_NAMES


@pytest.mark.parametrize("timm_name", list(TIMM_NAMES))
def test_timm_create_optimizer_v2(timm_optim: ModuleType, side: ModuleType, timm_name: str,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    create_optimizer_v2 = timm_optim.create_optimizer_v2

    ours_name = register_in_timm(monkeypatch, timm_name, getattr(side, TIMM_NAMES[timm_name]))
    name = TIMM_NAMES[timm_name]
    runs = {}
    for who, opt, built in (("ours", ours_name, getattr(side, name)), ("torch", timm_name, getattr(torch.optim, name))):
        model = tiny_model()
        optimizer = create_optimizer_v2(model, opt=opt, **TIMM_ARGUMENTS)
        assert type(optimizer) is built
        assert [group["weight_decay"] for group in optimizer.param_groups] == [0.0, TIMM_ARGUMENTS["weight_decay"]]
        train(model, optimizer, range(12))
        runs[who] = snapshot(model, optimizer)
    assert_identical(runs["ours"], runs["torch"], timm_name)


def test_timm_lookahead_resumes(timm_optim: ModuleType, side: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
    """timm's Lookahead (through create_optimizer_v2's "lookahead_" prefix) around Adam: stop, save, resume."""
    Lookahead, create_optimizer_v2 = timm_optim.Lookahead, timm_optim.create_optimizer_v2

    ours_name = register_in_timm(monkeypatch, "adam", side.Adam)
    arguments = {"lr": 0.01, "weight_decay": 0.05, "betas": (0.8, 0.99)}

    def make(opt: str) -> tuple[nn.Module, torch.optim.Optimizer]:
        model = tiny_model()
        optimizer = create_optimizer_v2(model, opt=f"lookahead_{opt}", **arguments)
        assert isinstance(optimizer, Lookahead)
        return model, optimizer

    runs = {}
    for who, opt in (("ours", ours_name), ("torch", "adam")):
        model, optimizer = make(opt)
        train(model, optimizer, range(15))  # Lookahead's k=6: slow updates at steps 6 and 12
        runs[who] = snapshot(model, optimizer)
    assert_identical(runs["ours"], runs["torch"], "lookahead_adam, uninterrupted")

    model, optimizer = make(ours_name)
    train(model, optimizer, range(8))
    saved = saved_and_loaded({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    model, optimizer = make(ours_name)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    train(model, optimizer, range(8, 15))
    assert_identical(snapshot(model, optimizer), runs["torch"], "lookahead_adam, resumed")


# ---------------------------------------------------------------------------
# pytorch-optimizer: Lookahead around SGD with momentum.
# ---------------------------------------------------------------------------

LOOKAHEAD_SGD = {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}


@pytest.mark.parametrize("pullback_momentum", ["reset", "pullback", "none"])
def test_pytorch_optimizer_lookahead_resumes(side: ModuleType, pullback_momentum: str) -> None:
    """"reset" and "pullback" write ``state["momentum_buffer"]`` of the SGD inside, which must take it."""
    Lookahead = pytest.importorskip("pytorch_optimizer").Lookahead

    def make(sgd: type) -> tuple[nn.Module, Any]:
        model = tiny_model()
        return model, Lookahead(sgd(model.parameters(), **LOOKAHEAD_SGD), k=3, alpha=0.5,
                                pullback_momentum=pullback_momentum)

    runs = {}
    for who, sgd in (("ours", side.SGD), ("torch", torch.optim.SGD)):
        model, optimizer = make(sgd)
        train(model, optimizer, range(11))  # slow updates after steps 3, 6 and 9
        runs[who] = snapshot(model, optimizer)
    assert_identical(runs["ours"], runs["torch"], f"Lookahead({pullback_momentum}), uninterrupted")

    model, optimizer = make(side.SGD)
    train(model, optimizer, range(4))
    saved = saved_and_loaded({"model": model.state_dict(), "optimizer": optimizer.state_dict()})
    model, optimizer = make(side.SGD)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    train(model, optimizer, range(4, 11))
    assert_identical(snapshot(model, optimizer), runs["torch"], f"Lookahead({pullback_momentum}), resumed")


# ---------------------------------------------------------------------------
# torch Distributed Checkpoint (one process, no process group).
# ---------------------------------------------------------------------------


def _dcp_run(optimizer_class: type, settings: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Train, save through DCP, load into a fresh model and optimizer, train on.

    The fresh optimizer has no state, so ``get_optimizer_state_dict`` first steps it once
    with zero gradients and ``lr=0`` (DCP's ``_init_optim_state``) to learn its state's
    layout; ``dcp.load`` then fills that layout in place, and ``set_optimizer_state_dict``
    calls ``optimizer.load_state_dict(state_dict=...)`` by keyword.
    """
    import torch.distributed.checkpoint as dcp
    from torch.distributed.checkpoint.state_dict import (
        get_model_state_dict,
        get_optimizer_state_dict,
        set_model_state_dict,
        set_optimizer_state_dict,
    )

    model = tiny_model()
    optimizer = optimizer_class(model.parameters(), **settings)
    train(model, optimizer, range(5))
    saved_optimizer = get_optimizer_state_dict(model, optimizer)
    dcp.save({"model": get_model_state_dict(model), "optimizer": saved_optimizer}, checkpoint_id=folder)

    model = tiny_model(seed=1)
    optimizer = optimizer_class(model.parameters(), **settings)
    state = {"model": get_model_state_dict(model), "optimizer": get_optimizer_state_dict(model, optimizer)}
    dcp.load(state, checkpoint_id=folder)
    set_model_state_dict(model, state["model"])
    set_optimizer_state_dict(model, optimizer, state["optimizer"])
    train(model, optimizer, range(5, 10))
    return {"saved": saved_optimizer, "end": snapshot(model, optimizer)}


@pytest.mark.filterwarnings("ignore:torch.distributed is disabled, unavailable or uninitialized:UserWarning")
@pytest.mark.parametrize("name", NAMES)
def test_distributed_checkpoint_round_trip(side: ModuleType, name: str, tmp_path: Path) -> None:
    ours = _dcp_run(getattr(side, name), SETTINGS[name], tmp_path / "ours")
    theirs = _dcp_run(getattr(torch.optim, name), SETTINGS[name], tmp_path / "torch")
    assert_identical(ours["saved"], theirs["saved"], f"{name}: get_optimizer_state_dict (keyed by parameter name)")
    assert_identical(ours["end"], theirs["end"], f"{name}: after the DCP round trip and 5 more steps")

    model = tiny_model()
    optimizer = getattr(torch.optim, name)(model.parameters(), **SETTINGS[name])
    train(model, optimizer, range(10))
    assert_identical(ours["end"], snapshot(model, optimizer), f"{name}: equals torch uninterrupted")


# ---------------------------------------------------------------------------
# Hugging Face Trainer: a tiny Llama from a config, checkpoint, resume_from_checkpoint.
# ---------------------------------------------------------------------------

HF_STEPS, HF_SAVE_EVERY = 6, 3
VOCABULARY, SEQUENCE = 32, 8


def _hf_model(transformers: ModuleType) -> nn.Module:
    """A one-layer Llama with 16-wide hidden states, from a config (no download)."""
    config = transformers.LlamaConfig(
        vocab_size=VOCABULARY, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2,
        num_key_value_heads=2, max_position_embeddings=SEQUENCE, tie_word_embeddings=False,
    )
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return transformers.LlamaForCausalLM(config).float()


class _Tokens(torch.utils.data.Dataset):
    """A fixed set of random token sequences; the labels are the inputs (causal LM)."""

    def __init__(self, samples: int = 16) -> None:
        generator = torch.Generator().manual_seed(2)
        self.tokens = torch.randint(VOCABULARY, (samples, SEQUENCE), generator=generator)

    def __len__(self) -> int:
        return len(self.tokens)

    def __getitem__(self, index: int) -> dict[str, Tensor]:
        return {"input_ids": self.tokens[index], "labels": self.tokens[index]}


def _hf_train(transformers: ModuleType, route: str, optimizer_class: type, settings: dict[str, Any], output: Path,
              resume: Path | None = None) -> Path:
    """One ``Trainer.train``; returns the folder of the last checkpoint."""
    arguments = transformers.TrainingArguments(
        output_dir=str(output), max_steps=HF_STEPS, save_strategy="steps", save_steps=HF_SAVE_EVERY,
        per_device_train_batch_size=4, learning_rate=settings["lr"], weight_decay=0.1, warmup_steps=2,
        lr_scheduler_type="linear", report_to=[], use_cpu=True, seed=0, logging_strategy="no", disable_tqdm=True,
        dataloader_num_workers=0,
    )
    model = _hf_model(transformers)
    if route == "optimizers":
        optimizer = optimizer_class(model.parameters(), **settings)
        scheduler = transformers.get_linear_schedule_with_warmup(optimizer, 2, HF_STEPS)
        route_arguments: dict[str, Any] = {"optimizers": (optimizer, scheduler)}
    else:
        route_arguments = {"optimizer_cls_and_kwargs": (optimizer_class, dict(settings))}
    trainer = transformers.Trainer(model=model, args=arguments, train_dataset=_Tokens(), **route_arguments)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    return output / f"checkpoint-{HF_STEPS}"


def _hf_checkpoint(folder: Path) -> dict[str, Any]:
    """What the Trainer saved that the optimizer decides: the weights and the optimizer and scheduler states."""
    from safetensors.torch import load_file

    return {
        "model": load_file(folder / "model.safetensors"),
        "optimizer": torch.load(folder / "optimizer.pt", weights_only=True),
        "scheduler": torch.load(folder / "scheduler.pt", weights_only=True),
    }


# How the Trainer gets ours: "optimizers", our optimizer over model.parameters() and a
# scheduler handed in; "optimizer_cls_and_kwargs", our class, which the Trainer builds on
# its own decay / no-decay parameter groups (weight_decay 0.1 and 0.0) with its own
# linear warm-up scheduler.
HF_CASES: list[tuple[str, str]] = [("optimizers", "Adam"), ("optimizers", "SGD")] + [
    ("optimizer_cls_and_kwargs", name) for name in NAMES]


@pytest.fixture
def transformers(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """transformers, never reaching for the hub (the model comes from a config; nothing is downloaded)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    return pytest.importorskip("transformers")


@pytest.mark.parametrize(("route", "name"), HF_CASES, ids=[f"{route}-{name}" for route, name in HF_CASES])
def test_hugging_face_trainer_resumes(transformers: ModuleType, side: ModuleType, route: str, name: str,
                                      tmp_path: Path) -> None:
    settings = SETTINGS[name]
    theirs = _hf_train(transformers, route, getattr(torch.optim, name), settings, tmp_path / "torch")
    ours = _hf_train(transformers, route, getattr(side, name), settings, tmp_path / "ours")
    middle = tmp_path / "ours" / f"checkpoint-{HF_SAVE_EVERY}"
    resumed = _hf_train(transformers, route, getattr(side, name), settings, tmp_path / "resumed", resume=middle)

    assert_identical(_hf_checkpoint(middle), _hf_checkpoint(tmp_path / "torch" / f"checkpoint-{HF_SAVE_EVERY}"),
                     f"{route} step {HF_SAVE_EVERY}")
    assert_identical(_hf_checkpoint(ours), _hf_checkpoint(theirs), f"{route} step {HF_STEPS}")
    assert_identical(_hf_checkpoint(resumed), _hf_checkpoint(ours), f"{route} resumed")
