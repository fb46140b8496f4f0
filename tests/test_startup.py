"""Start-up: ``descentlab --help`` and every subcommand's ``--help`` load neither torch, NumPy nor matplotlib.

Checked by what is imported, not by a timer (machines are noisy): a fresh
interpreter parses each help request and then lists the heavy modules it loaded.
``descentlab bench`` measures the time itself.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("torch._C", "numpy._core", "numpy.core", "matplotlib.pyplot", "matplotlib.pylab")

_PROBE = """
import contextlib, io, json, sys
from descentlab.cli import build_parser, main
commands = [[]] + [[name] for name in build_parser()._subparsers._group_actions[0].choices]
loaded = {}
for words in commands:
    with contextlib.redirect_stdout(io.StringIO()):
        main([*words, "--help"])
    loaded[" ".join(words) or "descentlab"] = [m for m in %r if m in sys.modules]
print(json.dumps(loaded))
""" % (HEAVY,)


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_help_request_loads_torch_numpy_or_matplotlib() -> None:
    loaded = json.loads(_run(_PROBE))
    assert {"descentlab", "trace", "compare", "objectives", "train", "bench", "reproduce", "algorithms"} <= set(loaded)
    assert {command: modules for command, modules in loaded.items() if modules} == {}


@pytest.mark.parametrize("words", [["algorithms"], ["trace", "adam", "--lr", "0.1", "--steps", "3"]])
def test_a_command_that_computes_loads_torch_on_first_use(words: list[str]) -> None:
    """The deferred modules become the real ones: results equal an ordinary import's."""
    code = (
        "import sys, contextlib, io\n"
        "from descentlab.cli import main\n"
        f"main({words!r})\n"
        "import torch\n"
        "t = torch.zeros(1)\n"
        "print('torch._C' in sys.modules, type(t).__name__, isinstance(t, torch.Tensor), torch is sys.modules['torch'] or 'stand-in')\n"
    )
    lines = _run(code).splitlines()
    assert lines[-1].split()[:3] == ["True", "Tensor", "True"]
    if words[0] == "trace":
        import contextlib
        import io

        from descentlab.cli import main

        buffer = io.StringIO()
        with contextlib.redirect_stdout(buffer):
            main(words)
        assert lines[:-1] == buffer.getvalue().splitlines()


def test_the_command_exits_with_mains_code_and_leaves_its_objects_out_of_the_last_collection() -> None:
    """``descentlab`` (``cli:script``) exits with main's code; it freezes the objects (see ``script``'s docstring),
    so the exit skips a collection over torch's objects.  Checked in a fresh interpreter: freezing is for good."""
    code = (
        "import gc, sys\n"
        "import descentlab.cli as cli\n"
        "cli.main = lambda: 3\n"
        "try:\n"
        "    cli.script()\n"
        "except SystemExit as exit_:\n"
        "    print(exit_.code, gc.get_freeze_count() > 0)\n"
    )
    assert _run(code).split() == ["3", "True"]
    entry = subprocess.run([sys.executable, "-m", "descentlab", "reproduce", "--seeds", "0"], capture_output=True,
                           text=True, timeout=120)
    assert entry.returncode == 2 and entry.stderr.count("\n") == 1  # python -m descentlab: the same command
