"""descentlab.data: finding, downloading, verifying, caching and loading the airfoil file.

No test touches the network: downloads use ``file://`` URLs, a local HTTP server
on 127.0.0.1, a closed port and a socket that never answers.
"""

from __future__ import annotations

import codecs
import hashlib
import math
import http.server
import os
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch

from descentlab.airfoil import data
from descentlab.airfoil.data import AIRFOIL_SHA1, Airfoil, DataError, download, find_airfoil, load_airfoil, read_table


@pytest.fixture(autouse=True)
def _isolated(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's $DESCENTLAB_DATA or cache."""
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))


@pytest.fixture(scope="module")
def airfoil_bytes(airfoil_path: Path) -> bytes:
    return airfoil_path.read_bytes()


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


def lines_of(raw: bytes) -> list[str]:
    return raw.decode("ascii").splitlines()


def assert_one_line(error: pytest.ExceptionInfo[DataError], *fragments: str) -> None:
    message = str(error.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message


# --- the real file -----------------------------------------------------------------


def test_optimum_of_the_real_file_is_0_241688(airfoil_path: Path) -> None:
    """SPEC: the least-squares optimum of mean((Xw + b - y)^2)/2 on the first 1500 rows, in float64."""
    table = np.loadtxt(airfoil_path, delimiter="\t", dtype=np.float64)
    assert table.shape == (1503, 6)
    standardized = (table - table.mean(axis=0)) / table.std(axis=0)  # all 1503 rows, ddof 0
    X = np.hstack([standardized[:1500, :5], np.ones((1500, 1))])
    y = standardized[:1500, 5]
    theta = np.linalg.solve(X.T @ X, X.T @ y)  # normal equations, independent of the library's lstsq
    optimum = float(np.mean((X @ theta - y) ** 2) / 2)
    assert f"{optimum:.6f}" == "0.241688"
    assert load_airfoil(airfoil_path).optimum_loss == pytest.approx(optimum, abs=1e-12)


def test_load_follows_the_notes(airfoil_path: Path) -> None:
    airfoil = load_airfoil(airfoil_path)
    table = np.loadtxt(airfoil_path, delimiter="\t")
    expected = ((table - table.mean(axis=0)) / table.std(axis=0))[:1500]
    assert airfoil.features.dtype == airfoil.labels.dtype == torch.float32
    assert airfoil.features.shape == (1500, 5) and airfoil.labels.shape == (1500,)
    assert airfoil.rows == 1500
    torch.testing.assert_close(airfoil.features, torch.tensor(expected[:, :5], dtype=torch.float32), rtol=0, atol=0)
    torch.testing.assert_close(airfoil.labels, torch.tensor(expected[:, 5], dtype=torch.float32), rtol=0, atol=0)
    assert airfoil.path == airfoil_path


def test_read_table_accepts_the_file_with_or_without_windows_line_endings(airfoil_bytes: bytes, tmp_path: Path) -> None:
    unix = write(tmp_path / "unix.dat", airfoil_bytes.replace(b"\r\n", b"\n") + b"\n\n")
    np.testing.assert_array_equal(read_table(unix), read_table(write(tmp_path / "dos.dat", airfoil_bytes)))


# --- where the file comes from -------------------------------------------------------


def test_order_explicit_path_then_environment_then_cache(
    airfoil_path: Path, airfoil_bytes: bytes, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    cached = write(cache / "airfoil_self_noise.dat", airfoil_bytes)
    elsewhere = write(tmp_path / "elsewhere.dat", airfoil_bytes)
    no_network = "http://127.0.0.1:9/never-used"
    assert find_airfoil(cache_dir=cache, url=no_network) == cached
    monkeypatch.setenv("DESCENTLAB_DATA", str(elsewhere))
    assert find_airfoil(cache_dir=cache, url=no_network) == elsewhere
    assert find_airfoil(airfoil_path, cache_dir=cache, url=no_network) == airfoil_path


def test_default_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data.default_cache_dir() == tmp_path / "descentlab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert data.default_cache_dir() == Path.home() / ".cache" / "descentlab"


def test_download_into_the_cache_verifies_and_reports_progress(airfoil_path: Path, tmp_path: Path) -> None:
    seen: list[tuple[int, int | None]] = []
    cache = tmp_path / "new" / "cache"
    found = find_airfoil(cache_dir=cache, url=airfoil_path.as_uri(), progress=lambda done, total: seen.append((done, total)))
    assert found == cache / "airfoil_self_noise.dat"
    assert hashlib.sha1(found.read_bytes()).hexdigest() == AIRFOIL_SHA1
    assert sorted(p.name for p in cache.iterdir()) == ["airfoil_self_noise.dat"]  # no temporary file left
    assert seen[0] == (0, 59_984) and seen[-1] == (59_984, 59_984)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    # the next call finds the cached copy without downloading
    assert find_airfoil(cache_dir=cache, url="http://127.0.0.1:9/never-used") == found


def test_default_cache_is_used_and_url_is_read_at_call_time(
    airfoil_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data, "AIRFOIL_URL", airfoil_path.as_uri())
    airfoil = load_airfoil()
    assert airfoil.path == tmp_path / "xdg-cache" / "descentlab" / "airfoil_self_noise.dat"


def test_a_corrupt_cached_copy_is_replaced(airfoil_path: Path, airfoil_bytes: bytes, tmp_path: Path) -> None:
    cached = write(tmp_path / "airfoil_self_noise.dat", airfoil_bytes[:1000])
    assert find_airfoil(cache_dir=tmp_path, url=airfoil_path.as_uri()) == cached
    assert cached.read_bytes() == airfoil_bytes


def test_no_download_when_it_is_switched_off(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        find_airfoil(cache_dir=tmp_path, allow_download=False)
    assert_one_line(error, "not in the cache", "--data PATH", "DESCENTLAB_DATA")


# --- every error, with its message ------------------------------------------------------


def test_missing_explicit_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_airfoil(tmp_path / "nope.dat")
    assert_one_line(error, "--data", "nope.dat: no such file", "1503 rows", "DESCENTLAB_DATA")


def test_missing_file_named_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESCENTLAB_DATA", str(tmp_path / "gone.dat"))
    with pytest.raises(DataError) as error:
        load_airfoil(cache_dir=tmp_path, url="http://127.0.0.1:9/never-used")
    assert_one_line(error, "DESCENTLAB_DATA", "gone.dat: no such file")


def test_a_directory_is_not_the_file(tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_airfoil(tmp_path)
    assert_one_line(error, "is a directory", "airfoil_self_noise.dat")


@pytest.mark.parametrize(
    ("name", "make", "fragments"),
    [
        ("empty", lambda lines: "", ("is empty", "expected 1503 rows of 6 tab-separated numbers")),
        ("blank", lambda lines: "\n \n", ("is empty",)),
        ("truncated", lambda lines: "\n".join(lines[:1000]) + "\n", ("is truncated: 1000 rows", "expected 1503 rows")),
        ("cut mid-line", lambda lines: "\n".join(lines[:1502]) + "\n800\t0\t0.3", ("line 1503 has 3 tab-separated fields",)),
        ("too long", lambda lines: "\n".join(lines + lines[:5]) + "\n", ("is too long: 1508 rows",)),
        ("five columns", lambda lines: "\n".join(l.rsplit("\t", 1)[0] for l in lines), ("line 1 has 5 tab-separated fields",)),
        ("commas", lambda lines: "\n".join(l.replace("\t", ",") for l in lines), ("line 1 has 1 tab-separated fields",)),
        ("non-numeric", lambda lines: "\n".join(lines[:7] + ["800\t0\tabc\t71.3\t0.002\t126.2"] + lines[8:]), ("line 8: 'abc' is not a number",)),
        ("header", lambda lines: "\n".join(["f\ta\tc\tu\td\tsound"] + lines[1:]), ("line 1: 'f' is not a number",)),
        ("nan", lambda lines: "\n".join(["nan\t0\t0.3\t71.3\t0.002\t126.2"] + lines[1:]), ("line 1, column 1: 'nan' is not a finite number",)),
        ("inf", lambda lines: "\n".join(lines[:4] + ["800\t0\t0.3\t-inf\t0.002\t126.2"] + lines[5:]),
         ("line 5, column 4: '-inf' is not a finite number",)),
        ("binary", None, ("is not a text file",)),
    ],
)
def test_bad_files_are_refused_with_a_message(name, make, fragments, airfoil_bytes: bytes, tmp_path: Path) -> None:
    path = tmp_path / "bad.dat"
    if make is None:
        write(path, b"\x89PNG\r\n\x1a\n\x00\xff" * 50)
    else:
        write(path, make(lines_of(airfoil_bytes)))
    with pytest.raises(DataError) as error:
        load_airfoil(path)
    assert_one_line(error, "bad.dat", *fragments, "--data PATH")


def test_a_constant_column_cannot_be_standardized(airfoil_bytes: bytes, tmp_path: Path) -> None:
    lines = ["1\t" + line.split("\t", 1)[1] for line in lines_of(airfoil_bytes)]
    with pytest.raises(DataError) as error:
        load_airfoil(write(tmp_path / "flat.dat", "\n".join(lines)))
    assert_one_line(error, "column 1 is constant")


def test_checksum_mismatch_leaves_nothing_in_the_cache(airfoil_bytes: bytes, tmp_path: Path) -> None:
    tampered = write(tmp_path / "tampered.dat", airfoil_bytes.replace(b"126.201", b"126.202", 1))
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as error:
        find_airfoil(cache_dir=cache, url=tampered.as_uri())
    assert_one_line(error, "has SHA-1", f"expected {AIRFOIL_SHA1}", "nothing was cached", "--data PATH")
    assert list(cache.iterdir()) == []


def test_a_bad_download_does_not_replace_a_file(airfoil_bytes: bytes, tmp_path: Path) -> None:
    target = write(tmp_path / "airfoil_self_noise.dat", b"old")
    with pytest.raises(DataError):
        download(write(tmp_path / "other.dat", b"other").as_uri(), target)
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["airfoil_self_noise.dat", "other.dat"]


class _Handler(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path == "/airfoil":
            self._send(self.body, len(self.body))
        elif self.path == "/short":
            self._send(self.body[:1000], len(self.body))
        else:
            self.send_error(404, "Not Found")

    def _send(self, payload: bytes, length: int) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_url(airfoil_bytes: bytes) -> Iterator[str]:
    handler = type("Handler", (_Handler,), {"body": airfoil_bytes})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_http_download(http_url: str, tmp_path: Path) -> None:
    path = find_airfoil(cache_dir=tmp_path, url=f"{http_url}/airfoil", timeout=5)
    assert hashlib.sha1(path.read_bytes()).hexdigest() == AIRFOIL_SHA1


@pytest.mark.parametrize(
    ("route", "fragments"),
    [("/missing", ("HTTP 404",)), ("/short", ("cut short: 1000 of 59984 bytes",))],
)
def test_http_failures_leave_nothing_in_the_cache(http_url: str, route: str, fragments: tuple[str, ...], tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    with pytest.raises(DataError) as error:
        find_airfoil(cache_dir=cache, url=f"{http_url}{route}", timeout=5)
    assert_one_line(error, "download", *fragments, "--data PATH")
    assert list(cache.iterdir()) == []


def test_offline_unreachable_address(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port that nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DataError) as error:
        find_airfoil(cache_dir=tmp_path / "cache", url=f"http://127.0.0.1:{port}/airfoil", timeout=5)
    assert_one_line(error, "could not download", "offline?", "--data PATH", "DESCENTLAB_DATA")
    assert list((tmp_path / "cache").iterdir()) == []


def test_timeout(tmp_path: Path) -> None:
    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/airfoil"
        with pytest.raises(DataError) as error:
            find_airfoil(cache_dir=tmp_path / "cache", url=url, timeout=0.3)
    assert_one_line(error, "no answer within 0.3 s", "--data PATH")
    assert list((tmp_path / "cache").iterdir()) == []


def test_an_unwritable_cache_is_a_data_error(airfoil_path: Path, tmp_path: Path) -> None:
    blocker = write(tmp_path / "file", "not a directory")
    with pytest.raises(DataError) as error:
        find_airfoil(cache_dir=blocker / "cache", url=airfoil_path.as_uri())
    assert_one_line(error, "cannot create the cache directory", "--data PATH")


# --- what the path is; never reading a pipe or a device; the checksum of what was read -------------


def _finishes(call: Callable[[], object], seconds: float = 20.0) -> BaseException | None:
    """Run ``call`` in a thread; fail if it is still running after ``seconds`` (it read a pipe or a device)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            outcome.append(error)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "still reading: a pipe or a device was opened and read"
    return outcome[0]


@pytest.mark.parametrize("how", ["--data", "DESCENTLAB_DATA"])
def test_a_named_pipe_is_named_and_never_opened(how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fifo = tmp_path / "airfoil.dat"
    os.mkfifo(fifo)  # nobody writes: opening it for reading would wait forever
    if how == "--data":
        error = _finishes(lambda: load_airfoil(fifo))
    else:
        monkeypatch.setenv("DESCENTLAB_DATA", str(fifo))
        error = _finishes(lambda: load_airfoil(cache_dir=tmp_path, url="http://127.0.0.1:9/never-used"))
    assert isinstance(error, DataError), error
    message = str(error)
    assert f"{how} {fifo} is a named pipe (FIFO), not a regular file, and is not read" in message, message
    assert "supply a local copy" not in message and "\n" not in message


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("reader", [load_airfoil, read_table], ids=["load_airfoil", "read_table"])
def test_dev_zero_is_a_character_device_and_is_not_read_to_the_end(reader: Callable[[Path], object]) -> None:
    error = _finishes(lambda: reader(Path("/dev/zero")))
    assert isinstance(error, DataError) and "/dev/zero is a character device, not a regular file" in str(error), error


def test_a_file_far_too_large_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    huge = tmp_path / "huge.dat"
    with open(huge, "wb") as handle:
        handle.truncate(10**8)  # sparse: 100 MB that take no room
    with pytest.raises(DataError) as error:
        load_airfoil(huge)
    assert_one_line(error, "huge.dat is larger than 599840 bytes", "expected the 59984-byte file airfoil_self_noise.dat")


def test_errors_about_a_file_the_user_named_do_not_suggest_supplying_one(airfoil_bytes: bytes, tmp_path: Path) -> None:
    """The user supplied a local copy: the message says what is wrong with it, and how to use the published file."""
    cases = {
        "missing": tmp_path / "missing.dat",
        "directory": tmp_path,
        "truncated": write(tmp_path / "truncated.dat", b"\n".join(airfoil_bytes.splitlines()[:10])),
        "binary": write(tmp_path / "binary.dat", bytes(range(256))),
    }
    for name, path in cases.items():
        with pytest.raises(DataError) as error:
            load_airfoil(path)
        assert "supply a local copy" not in str(error.value), (name, str(error.value))
        assert_one_line(error, str(path), "leave out --data PATH and DESCENTLAB_DATA to use the published file")
    with pytest.raises(DataError) as error:  # where descentlab looked itself, the hint stays
        find_airfoil(cache_dir=tmp_path / "empty", allow_download=False)
    assert_one_line(error, "supply a local copy with --data PATH")


def test_a_utf8_byte_order_mark_is_accepted_and_changes_the_checksum(
    airfoil_path: Path, airfoil_bytes: bytes, tmp_path: Path
) -> None:
    plain = load_airfoil(airfoil_path)
    bom = load_airfoil(write(tmp_path / "bom.dat", codecs.BOM_UTF8 + airfoil_bytes))
    torch.testing.assert_close(bom.features, plain.features, rtol=0, atol=0)
    torch.testing.assert_close(bom.labels, plain.labels, rtol=0, atol=0)
    assert plain.published and plain.sha1 == AIRFOIL_SHA1
    assert not bom.published and bom.sha1 == hashlib.sha1(codecs.BOM_UTF8 + airfoil_bytes).hexdigest()


def test_utf16_text_is_named(airfoil_bytes: bytes, tmp_path: Path) -> None:
    with pytest.raises(DataError) as error:
        load_airfoil(write(tmp_path / "wide.dat", airfoil_bytes.decode("ascii").encode("utf-16")))
    assert_one_line(error, "wide.dat is UTF-16 text; save it as ASCII or UTF-8")


def test_the_checksum_is_of_the_file_as_read(airfoil_bytes: bytes, tmp_path: Path) -> None:
    """One value changed (a frequency of 12345 Hz) still parses: the SHA-1 tells it from the published file."""
    lines = airfoil_bytes.split(b"\n")
    fields = lines[5].split(b"\t")
    lines[5] = b"\t".join([b"12345", *fields[1:]])
    altered = load_airfoil(write(tmp_path / "altered.dat", b"\n".join(lines)))
    assert not altered.published
    assert altered.sha1 == hashlib.sha1(b"\n".join(lines)).hexdigest() != AIRFOIL_SHA1


def _with_value(lines: list[str], row: int, column: int, value: str) -> str:
    fields = lines[row].split("\t")
    fields[column] = value
    return "\n".join(lines[:row] + ["\t".join(fields)] + lines[row + 1:]) + "\n"


@pytest.mark.parametrize(("value", "why"), [
    ("1e308", "standardizing column 3 overflows"),  # was: LinAlgError and LAPACK's DLASCL message on stdout
    ("-1e308", "standardizing column 3 overflows"),
    ("1e200", "standardizing column 3 overflows"),  # was: the column silently all zeros (optimum 0.390)
    ("1e150", "the other values of column 3 become equal in float32"),  # the column a single spike
    ("1e20", "the other values of column 3 become equal in float32"),
])
def test_a_value_standardization_cannot_represent_is_refused_naming_line_and_column(
    value: str, why: str, airfoil_bytes: bytes, tmp_path: Path
) -> None:
    path = write(tmp_path / "extreme.dat", _with_value(lines_of(airfoil_bytes), 10, 2, value))
    with pytest.raises(DataError) as error:
        load_airfoil(path)
    assert_one_line(error, "extreme.dat line 11, column 3:", "is out of range", why, "--data PATH")


def test_a_large_but_representable_value_is_accepted(airfoil_bytes: bytes, tmp_path: Path) -> None:
    """An outlier that standardization still represents (1e5 in a column of 0.03-0.3) is data, not a mistake."""
    data = load_airfoil(write(tmp_path / "outlier.dat", _with_value(lines_of(airfoil_bytes), 10, 2, "1e5")))
    assert math.isfinite(data.optimum_loss) and torch.isfinite(data.features).all()
    assert len(torch.unique(data.features[:, 2])) > 2  # the column's other values stay distinct


def test_a_column_constant_in_the_training_rows_is_refused(airfoil_bytes: bytes, tmp_path: Path) -> None:
    lines = lines_of(airfoil_bytes)
    flat = ["\t".join(["1"] + line.split("\t")[1:]) for line in lines[:1500]] + lines[1500:]
    with pytest.raises(DataError) as error:
        load_airfoil(write(tmp_path / "flat-train.dat", "\n".join(flat) + "\n"))
    assert_one_line(error, "column 1 is constant in the first 1500 rows")


def test_the_published_file_passes_the_range_checks(airfoil: Airfoil) -> None:
    assert airfoil.optimum_loss == pytest.approx(0.241688, abs=1e-6)
