"""The airfoil self-noise data: find, download, verify, cache, load and standardize.

Where the file comes from, in this order:

1. an explicit path (the CLI's ``--data PATH``);
2. the ``DESCENTLAB_DATA`` environment variable;
3. the per-user cache, ``$XDG_CACHE_HOME/descentlab`` (default ``~/.cache/descentlab``);
4. a download from :data:`AIRFOIL_URL`, checked against :data:`AIRFOIL_SHA1` and
   written into the cache atomically (a temporary file renamed into place), so a
   failed or interrupted download, or a checksum mismatch, leaves nothing behind.

Every problem is a :class:`DataError` (a ``ValueError``) with a one-line message
saying what was expected.  A failed download or a cache miss says how to supply
a local copy; a bad file the user named says what the path is (missing, a
directory, a named pipe, a device, too large, not text, which line is wrong) and
that leaving the path out uses the published file.  Only regular files are
read, and at most ten times the published file's size, so ``--data /dev/zero``
or a named pipe is refused at once, never read.  A UTF-8 byte-order mark is
accepted (its file's SHA-1 then differs from the published one: see
:attr:`Airfoil.published`).  The library never prints: downloads report progress
through an optional callback.

:func:`load_airfoil` follows the notes: standardize every column with its mean
and population standard deviation over all 1503 rows, keep the first 1500 rows,
and hand them over as float32 tensors, together with the least-squares optimum of
the training loss ``mean((X w + b - y)**2) / 2`` on those rows (0.241688).
"""

from __future__ import annotations

import codecs
import hashlib
import http.client
import math
import os
import stat
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..files import atomic_path, default_cache_dir, kind_of, reason

if TYPE_CHECKING:
    from torch import Tensor

AIRFOIL_URL = "http://d2l-data.s3-accelerate.amazonaws.com/airfoil_self_noise.dat"
AIRFOIL_FILENAME = "airfoil_self_noise.dat"
AIRFOIL_SHA1 = "76e5be1548fd8222e5074cf0faae75edff8cf93f"
AIRFOIL_BYTES = 59_984
AIRFOIL_ROWS = 1503
AIRFOIL_COLUMNS = 6  # five features, then the target
TRAIN_ROWS = 1500
ENV_VAR = "DESCENTLAB_DATA"
DEFAULT_TIMEOUT = 30.0
_MAX_BYTES = 10 * AIRFOIL_BYTES  # refuse to download or read anything much larger than the file
_CHUNK = 16_384

Progress = Callable[[int, "int | None"], None]
"""``progress(bytes_so_far, total_bytes_or_None)``, called while downloading."""

_HOW_TO_SUPPLY = f"supply a local copy with --data PATH or {ENV_VAR}=PATH"
"""The hint when descentlab looked for the file itself (download, cache)."""
_LEAVE_OUT = f"leave out --data PATH and {ENV_VAR} to use the published file (downloaded once into the cache)"
"""The hint when the file the user named is wrong: supplying a local copy is what they did."""


class DataError(ValueError):
    """The airfoil data could not be found, downloaded or read (one-line message)."""


@dataclass(frozen=True, eq=False)
class Airfoil:
    """The standardized training rows of the airfoil data, as the notes use them."""

    features: Tensor  # (1500, 5) float32
    labels: Tensor  # (1500,) float32
    optimum_loss: float  # least-squares minimum of mean((X w + b - y)**2) / 2, in float64
    path: Path
    sha1: str = AIRFOIL_SHA1  # of the file as read

    @property
    def rows(self) -> int:
        return int(self.features.shape[0])

    @property
    def published(self) -> bool:
        """Whether the file is byte for byte the published one (its SHA-1 is :data:`AIRFOIL_SHA1`)."""
        return self.sha1 == AIRFOIL_SHA1


def sha1_of(path: Path) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 16), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(
    url: str,
    destination: str | os.PathLike[str],
    *,
    sha1: str | None = AIRFOIL_SHA1,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> Path:
    """Download ``url`` to ``destination`` atomically, checking its SHA-1.

    On any failure (unreachable, timeout, HTTP error, too large, checksum
    mismatch) a :class:`DataError` is raised and ``destination`` is untouched.
    """
    destination = Path(destination)
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise DataError(f"cannot create the cache directory {destination.parent} ({error.strerror}); {_HOW_TO_SUPPLY}") from None
    try:
        with atomic_path(destination) as tmp:
            digest = _fetch(url, tmp, timeout=timeout, progress=progress)
            if sha1 is not None and digest != sha1:
                raise DataError(
                    f"download from {url} has SHA-1 {digest}, expected {sha1}; nothing was cached; {_HOW_TO_SUPPLY}"
                )
    except ValueError as error:  # check_writable's complaints, and ours
        if isinstance(error, DataError):
            raise
        raise DataError(f"cannot write the cache file {destination} ({error}); {_HOW_TO_SUPPLY}") from None
    return destination


def _fetch(url: str, target: Path, *, timeout: float, progress: Progress | None) -> str:
    """Stream ``url`` into ``target``; return the SHA-1 of what was written."""
    digest = hashlib.sha1()
    done = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(target, "wb") as out:
            length = response.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            if progress is not None:
                progress(0, total)
            while True:
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                done += len(chunk)
                if done > _MAX_BYTES:
                    raise DataError(
                        f"download from {url} is larger than {_MAX_BYTES} bytes, "
                        f"expected the {AIRFOIL_BYTES}-byte airfoil file; {_HOW_TO_SUPPLY}"
                    )
                digest.update(chunk)
                out.write(chunk)
                if progress is not None:
                    progress(done, total)
            if total is not None and done != total:
                raise DataError(f"download from {url} was cut short: {done} of {total} bytes; {_HOW_TO_SUPPLY}")
    except urllib.error.HTTPError as error:
        raise DataError(f"could not download {url}: HTTP {error.code} {error.reason}; {_HOW_TO_SUPPLY}") from None
    except urllib.error.URLError as error:
        why = error.reason
        if isinstance(why, TimeoutError):
            why = f"no answer within {timeout:g} s"
        raise DataError(f"could not download {url} (offline? {why}); {_HOW_TO_SUPPLY}") from None
    except TimeoutError:
        raise DataError(f"could not download {url}: no answer within {timeout:g} s; {_HOW_TO_SUPPLY}") from None
    except (OSError, ValueError, http.client.HTTPException) as error:
        if isinstance(error, DataError):
            raise
        raise DataError(f"could not download {url} ({error}); {_HOW_TO_SUPPLY}") from None
    return digest.hexdigest()


def find_airfoil(
    path: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] | None = None,
    url: str | None = None,
    allow_download: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
) -> Path:
    """The airfoil file's path: ``path``, ``$DESCENTLAB_DATA``, the cache, else a download.

    An explicit path or the environment variable must name an existing file (no
    fallback to the cache: a typo should not silently download).  A cached copy
    whose checksum is wrong is replaced by a fresh download.  ``url`` defaults to
    :data:`AIRFOIL_URL` (read at call time).
    """
    if path is not None:
        if not str(path):
            raise DataError(f"--data was given an empty path; name the file {AIRFOIL_FILENAME}, or {_LEAVE_OUT}")
        _check_regular(Path(path), "--data")
        return Path(path)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        _check_regular(Path(from_env), ENV_VAR)
        return Path(from_env)
    cached = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    cached = cached / AIRFOIL_FILENAME
    if cached.is_file() and sha1_of(cached) == AIRFOIL_SHA1:
        return cached
    if not allow_download:
        raise DataError(f"the airfoil file is not in the cache {cached.parent} and downloading is off; {_HOW_TO_SUPPLY}")
    return download(url or AIRFOIL_URL, cached, timeout=timeout, progress=progress)


def _check_regular(path: Path, source: str | None = None) -> int:
    """Refuse, with a :class:`DataError` saying what ``path`` is, anything but an existing regular file.

    ``source`` (``--data`` or the environment variable) prefixes the message.
    Only ``stat`` is called: a named pipe or a device is never opened.
    Returns the file's size.
    """
    named = f"{source} {path}" if source else str(path)
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise DataError(
            f"{named}: no such file; expected {AIRFOIL_FILENAME} ({AIRFOIL_ROWS} rows, tab-separated); {_LEAVE_OUT}"
        ) from None
    except OSError as error:
        raise DataError(f"{named}: cannot read it ({reason(error)}); {_LEAVE_OUT}") from None
    if stat.S_ISDIR(status.st_mode):
        raise DataError(f"{named} is a directory; expected the file {AIRFOIL_FILENAME} itself; {_LEAVE_OUT}")
    if not stat.S_ISREG(status.st_mode):
        raise DataError(
            f"{named} is {kind_of(status.st_mode)}, not a regular file, and is not read; "
            f"expected the file {AIRFOIL_FILENAME} itself; {_LEAVE_OUT}"
        )
    return status.st_size


def _read_bytes(path: Path) -> bytes:
    """The contents of the regular file ``path``, at most :data:`_MAX_BYTES` of them (else a :class:`DataError`)."""
    too_large = f"{path} is larger than {_MAX_BYTES} bytes; expected the {AIRFOIL_BYTES}-byte file {AIRFOIL_FILENAME}; {_LEAVE_OUT}"
    if _check_regular(path) > _MAX_BYTES:
        raise DataError(too_large)
    try:
        # O_NONBLOCK: should the path have become a pipe since the check, opening it does not wait for a writer
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            if not stat.S_ISREG(mode):
                raise DataError(f"{path} is {kind_of(mode)}, not a regular file, and is not read; {_LEAVE_OUT}")
            raw = handle.read(_MAX_BYTES + 1)
    except IsADirectoryError:
        raise DataError(f"{path} is a directory; expected the file {AIRFOIL_FILENAME} itself; {_LEAVE_OUT}") from None
    except OSError as error:
        raise DataError(f"cannot read {path} ({reason(error)}); {_LEAVE_OUT}") from None
    if len(raw) > _MAX_BYTES:
        raise DataError(too_large)
    return raw


def _decode(raw: bytes, path: Path, expected: str) -> str:
    """The text of the file: ASCII or UTF-8, with or without a UTF-8 byte-order mark."""
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{path} is UTF-16 text; save it as ASCII or UTF-8; {expected}; {_LEAVE_OUT}")
    if b"\0" in raw:
        raise DataError(f"{path} is not a text file (it holds NUL bytes); {expected}; {_LEAVE_OUT}")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path} is not a text file; {expected}; {_LEAVE_OUT}") from None


def read_table(path: str | os.PathLike[str]) -> np.ndarray:
    """Read and check the raw table: ``(1503, 6)`` float64, every value finite.

    Blank lines, a trailing ``\\r`` (the file has Windows line endings) and a
    UTF-8 byte-order mark are ignored; anything else that is not 1503 rows of 6
    tab-separated numbers is a :class:`DataError` naming the first offending
    line.  Only a regular file is read (see the module's docstring).
    """
    path = Path(path)
    return _parse(_read_bytes(path), path)


def _parse(raw: bytes, path: Path) -> np.ndarray:
    """:func:`read_table` on the bytes ``raw`` read from ``path``."""
    expected = f"expected {AIRFOIL_ROWS} rows of {AIRFOIL_COLUMNS} tab-separated numbers"
    if not raw.strip():
        raise DataError(f"{path} is empty; {expected}; {_LEAVE_OUT}")
    text = _decode(raw, path, expected)
    rows: list[list[float]] = []
    lines: list[int] = []  # the file's line number of each row
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        fields = line.split("\t")
        if len(fields) != AIRFOIL_COLUMNS:
            raise DataError(
                f"{path} line {number} has {len(fields)} tab-separated fields; {expected}; {_LEAVE_OUT}"
            )
        try:
            values = [float(field) for field in fields]
        except ValueError:
            bad = next(f for f in fields if not _is_number(f))
            raise DataError(f"{path} line {number}: {bad[:20]!r} is not a number; {expected}; {_LEAVE_OUT}") from None
        for column, value in enumerate(values, start=1):
            if not math.isfinite(value):
                raise DataError(f"{path} line {number}, column {column}: {fields[column - 1][:20]!r} is not a finite "
                                f"number; {expected}; {_LEAVE_OUT}")
        rows.append(values)
        lines.append(number)
    if len(rows) != AIRFOIL_ROWS:
        kind = "truncated" if len(rows) < AIRFOIL_ROWS else "too long"
        raise DataError(f"{path} is {kind}: {len(rows)} rows, {expected}; {_LEAVE_OUT}")
    table = np.asarray(rows, dtype=np.float64)
    check_standardizable(table, path, lines)
    return table


def check_standardizable(table: np.ndarray, path: str | os.PathLike[str], lines: list[int] | None = None) -> None:
    """Refuse (a :class:`DataError` naming the line and column) a table :func:`standardize` cannot represent.

    Every value must be finite; each column's sum of squared deviations must be a
    finite float64 (a value near 1e200 overflows it: the column's standard deviation
    becomes inf and the column silently all zeros, or nan); no column may be constant,
    in all rows or in the training rows; and no value may swamp its column: if,
    after standardizing in float32 (the training precision), distinct values of a
    column become equal, and they stay distinct once its most extreme value is left
    out, that value is out of range (a 1e150 among values near 1000 turns the column
    into a single spike).  ``lines[i]`` is the file's line number of row ``i``.
    """
    lines = lines if lines is not None else list(range(1, len(table) + 1))
    hint = f"expected the airfoil table's values; {_LEAVE_OUT}"

    def at(row: int, column: int) -> str:
        return f"{path} line {lines[row]}, column {column + 1}"

    bad = np.argwhere(~np.isfinite(table))
    if bad.size:
        row, column = bad[0]
        raise DataError(f"{at(row, column)}: {table[row, column]!r} is not a finite number; {hint}")
    for column in range(table.shape[1]):
        values = table[:, column]
        extreme = int(np.argmax(np.abs(values - np.median(values))))
        with np.errstate(over="ignore", invalid="ignore"):
            spread = float(np.std(values))
        if not math.isfinite(spread):
            raise DataError(f"{at(extreme, column)}: {values[extreme]:g} is out of range: standardizing column "
                            f"{column + 1} overflows (its squared deviations exceed float64's {np.finfo(np.float64).max:.3g}); {hint}")
        if spread == 0:
            raise DataError(f"{path}: column {column + 1} is constant and cannot be standardized; {_LEAVE_OUT}")
        if _merged(values) and not _merged(np.delete(values, extreme)):
            raise DataError(f"{at(extreme, column)}: {values[extreme]:g} is out of range: after standardizing, the "
                            f"other values of column {column + 1} become equal in float32; {hint}")
        if np.ptp(_standardized32(values)[:TRAIN_ROWS]) == 0:
            raise DataError(f"{path}: column {column + 1} is constant in the first {TRAIN_ROWS} rows (the training rows) "
                            f"once standardized; {_LEAVE_OUT}")


def _standardized32(values: np.ndarray) -> np.ndarray:
    return ((values - values.mean()) / values.std()).astype(np.float32)


def _merged(values: np.ndarray) -> bool:
    """Whether standardizing ``values`` in float32 makes distinct values equal."""
    if values.std() == 0:
        return False
    return len(np.unique(_standardized32(values))) < len(np.unique(values))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def standardize(table: np.ndarray) -> np.ndarray:
    """Every column minus its mean, over its population (ddof 0) standard deviation."""
    return (table - table.mean(axis=0)) / table.std(axis=0)


def least_squares_optimum(features: np.ndarray, labels: np.ndarray) -> float:
    """``min over (w, b) of mean((X w + b - y)**2) / 2``, in float64."""
    design = np.hstack([np.asarray(features, dtype=np.float64), np.ones((len(features), 1))])
    target = np.asarray(labels, dtype=np.float64)
    solution, *_ = np.linalg.lstsq(design, target, rcond=None)
    residual = design @ solution - target
    return float(np.mean(residual**2) / 2)


def load_airfoil(path: str | os.PathLike[str] | None = None, **find: object) -> Airfoil:
    """The notes' training data: find the file (see :func:`find_airfoil`), then standardize.

    ``find`` goes to :func:`find_airfoil` (``cache_dir``, ``url``, ``timeout``,
    ``progress``, ``allow_download``).
    """
    source = find_airfoil(path, **find)  # type: ignore[arg-type]
    raw = _read_bytes(source)  # read once: the checksum is of the very bytes that are parsed
    data = standardize(_parse(raw, source))[:TRAIN_ROWS]
    features, labels = data[:, :-1], data[:, -1]
    return Airfoil(
        features=torch.tensor(features, dtype=torch.float32),
        labels=torch.tensor(labels, dtype=torch.float32),
        optimum_loss=least_squares_optimum(features, labels),
        path=source,
        sha1=hashlib.sha1(raw).hexdigest(),
    )


__all__ = [
    "AIRFOIL_SHA1",
    "AIRFOIL_URL",
    "ENV_VAR",
    "Airfoil",
    "DataError",
    "default_cache_dir",
    "download",
    "find_airfoil",
    "check_standardizable",
    "least_squares_optimum",
    "load_airfoil",
    "read_table",
    "standardize",
]
