"""pyproject.toml: setuptools reads it without a deprecation warning (issue 16: the license table)."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_setuptools_reads_the_project_without_a_warning() -> None:
    setuptools = pytest.importorskip("setuptools")
    from setuptools.config.pyprojecttoml import apply_configuration
    from setuptools.dist import Distribution

    major = int(setuptools.__version__.split(".")[0])
    if major < 77:
        pytest.skip(f"setuptools {setuptools.__version__} predates SPDX license strings; the build asks for >= 77")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # `license = { text = ... }` warns: BuildBackendWarning, deprecated
        distribution = apply_configuration(Distribution(), PYPROJECT)
    assert distribution.metadata.license_expression == "MIT"


def test_the_build_asks_for_a_setuptools_that_understands_the_license_string() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    assert isinstance(config["project"]["license"], str)
    assert config["build-system"]["requires"] == ["setuptools>=77"]
