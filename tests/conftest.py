"""Shared fixtures: the airfoil file from ../shared/data (never from the repository)."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]
SHARED_AIRFOIL = REPO.parent / "shared" / "data" / "airfoil_self_noise.dat"


@pytest.fixture(scope="session")
def airfoil_path() -> Path:
    """The real airfoil file: $DESCENTLAB_DATA, else ../shared/data beside the repository."""
    candidate = Path(os.environ.get("DESCENTLAB_DATA", SHARED_AIRFOIL))
    if not candidate.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"CI needs the airfoil file at {candidate}")
        pytest.skip(f"airfoil file not found at {candidate}")
    return candidate


@pytest.fixture(scope="session")
def airfoil(airfoil_path: Path):
    """The airfoil data, loaded once for the whole run (no test changes it)."""
    from descentlab.airfoil import load_airfoil

    return load_airfoil(airfoil_path)


@pytest.fixture(scope="session")
def cjk_font() -> str:
    """The CJK family Chinese figures use: CI installs one (.ci/run); elsewhere the tests needing it skip."""
    from descentlab.plotting.fonts import MissingFont, cjk_family

    try:
        return cjk_family()
    except MissingFont as missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install a CJK font (see .ci/run): {missing}")
        pytest.skip(str(missing))


@pytest.fixture(scope="session")
def explorer():
    """The explorer over every registry algorithm and objective, built once (about 8 s): its data and its page."""
    from descentlab.explore import explore

    return explore()


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a module: elementwise steps give the same numbers, and on a loaded machine two
    threads make each parallel region wait for a descheduled one (a slow tier took minutes instead of seconds)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
