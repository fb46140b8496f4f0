"""The notes' airfoil experiment: the data (download, checksum, cache, standardize) and the batched training runs."""

from __future__ import annotations

from .data import Airfoil, DataError, load_airfoil
from .train import Summary, TrainingRun, train

__all__ = ["Airfoil", "DataError", "Summary", "TrainingRun", "load_airfoil", "train"]
