"""Bad input, all of it: every subcommand and the Python API refuse it clearly.

The command-line table: each invocation ends with exit code 2, exactly one line
on stderr that names the problem (and the fix where there is one), nothing on
stdout, no traceback, and no file created or changed.  The expensive work of
``bench`` and ``reproduce`` is replaced by a function that fails the test, so
every refusal is proven to come before any work (and no benchmark ever runs here).
The cases complement the tables in test_cli_lab.py and test_cli_train.py.  A
``--data`` file the user named is never answered with "supply a local copy".
Then the failures that come after the work: a full disk under every command
that writes a file, and standard output on a full disk.

The Python table: the library raises ``ValueError``/``TypeError`` with a clear
message, raised by descentlab itself, never an error from deep inside torch.
"""

from __future__ import annotations

import errno
import math
import os
import re
import subprocess
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

import descentlab.explore
from descentlab.airfoil import data as data_module
from descentlab.lab import objectives, trajectory
from descentlab import optim as dl
from descentlab.cli import main
from descentlab.airfoil.train import MAX_EPOCHS, MAX_SEEDS, train

AIRFOIL_ROW = "{i}\t{j}\t0.3048\t71.3\t0.00266337\t{k}"


def rows(n: int) -> str:
    return "\n".join(AIRFOIL_ROW.format(i=800 + i, j=i % 7, k=120 + i % 13) for i in range(n)) + "\n"


# Files and directories every case can refer to as {name}; {tmp} is the test's directory, {A} the real airfoil file.
FILES: dict[str, str | bytes | None] = {
    "empty.dat": "",
    "truncated.dat": rows(10),
    "long.dat": rows(1504),
    "five-columns.dat": "\n".join("\t".join(line.split("\t")[:5]) for line in rows(1503).splitlines()) + "\n",
    "words.dat": "frequency\tangle\tchord\tvelocity\tthickness\tpressure\n" + rows(1502),
    "binary.dat": bytes(range(256)) * 8,
    "nan.dat": rows(1503).replace("0.3048", "nan", 1),
    "constant.dat": (AIRFOIL_ROW.format(i=800, j=0, k=120) + "\n") * 1503,
    "blocker": "a file where a directory is expected",
    "figure-dir.png": None,  # a directory with a figure's name
    "data-dir": None,
    "thesis": None,  # a directory holding someone's work, not a report
    "utf16.dat": rows(1503).encode("utf-16"),  # with its byte-order mark
    "nul.dat": rows(1503).replace("0.3048", "0.30\x0048", 1),
    "notes.ipynb": '{"nbformat": 4, "cells": [{"cell_type": "code", "source": '
                   '"open(\'/home/kesci/input/airfoil4755/airfoil_self_noise.dat\')", "outputs": []}]}',
    # issue 31: values standardization cannot represent (first row, first column)
    "big308.dat": "1e308" + rows(1503)[3:],
    "big200.dat": "1e200" + rows(1503)[3:],
    "big150.dat": "1e150" + rows(1503)[3:],
    "space-huge.json": '{"torch.optim.SGD": {"search": {"lr": {"low": 1e-05, "high": 1e308, "scale": "log"}}}}',
    "space-tiny.json": '{"torch.optim.SGD": {"search": {"lr": {"low": 1e-300, "high": 1, "scale": "log"}}}}',
}
# Made by the fixture: a named pipe (nothing ever writes into it: reading it would wait forever),
# one with a figure's name, and a sparse file far larger than the airfoil file.
SPECIAL = ("fifo", "fifo.png", "huge.dat")
NOT_FOUND_HINT = "supply a local copy"  # right for a download or a cache miss, wrong for a file the user named

CLI_CASES: list[tuple[list[str], str]] = [
    # the command itself
    ([], r"the following arguments are required: COMMAND"),
    (["optimize"], r"invalid choice: 'optimize'"),
    (["algorithms", "adam"], r"unrecognized arguments: adam"),
    (["objectives", "--kappa", "5"], r"unrecognized arguments: --kappa 5"),
    # trace
    (["trace", "sgd", "--lr", "0.4", "--steps", "1000000000000"], r"--steps: at most 100000 steps"),
    (["trace", "sgd", "--lr", "0.4", "--steps", "2.5"], r"--steps: expected a whole number >= 1, got '2.5'"),
    (["trace", "adadelta", "--lr", "-1"], r"adadelta: lr must be >= 0, got -1"),
    (["trace", "adam", "--lr", "0.1", "--betas", "1", "0.9"], r"betas\[0\] must be in \[0, 1\), got 1"),
    (["trace", "adam", "--lr", "0.1", "--betas", "0.9", "x"], r"--betas: invalid float value: 'x'"),
    (["trace", "adam", "--lr", "0.1", "--eps", "inf"], r"eps must be finite, got inf"),
    (["trace", "momentum", "--lr", "0.1", "--momentum", "0.5", "--dampening", "0.5"], r"dampening is only used with form='torch'"),
    (["trace", "momentum", "--lr", "0.1", "--momentum", "0.5", "--form", "torch", "--nesterov", "--dampening", "0.5"],
     r"nesterov requires dampening = 0"),
    (["trace", "adagrad", "--lr", "0.1", "--momentum", "0.9"], r"adagrad does not take --momentum; it takes: --lr"),
    (["trace", "sgd", "--lr", "0.1", "--eps", "1e-8"], r"sgd does not take --eps"),
    (["trace", "sgd", "--lr", "0.1", "--objective", "quadratic", "--kappa", "0.5"], r"--kappa must be a finite number from 1 to 1e\+12, got 0.5"),
    (["trace", "sgd", "--lr", "0.1", "--objective", "quadratic", "--angle", "inf"], r"--angle must be a finite number from -360 to 360, got inf"),
    (["trace", "sgd", "--lr", "0.1", "--objective", "quadratic", "--kappa", "1e308"], r"--kappa must be a finite number from 1 to 1e\+12"),
    (["compare", "sgd:lr=0.1", "--objective", "quadratic", "--angle", "1e308"], r"--angle must be a finite number from -360 to 360"),
    (["trace", "sgd", "--lr", "0.1", "--start", "1"], r"--start: expected 2 arguments"),
    (["trace", "sgd", "--lr", "0.1", "--out", "{tmp}/figure-dir.png"], r"figure-dir\.png is a directory; give a file name"),
    (["trace", "sgd", "--lr", "0.1", "--out", "{tmp}/blocker/path.png"], r"blocker is a file, not a directory"),
    (["trace", "sgd", "--lr", "0.1", "--out", "{tmp}/path.jpg"], r"use a file name ending in \.png, \.svg, \.pdf"),
    # compare
    (["compare"], r"the following arguments are required: RUN"),
    (["compare", "sgd:lr"], r"expected key=value with a key from lr, weight_decay, decoupled_weight_decay, maximize, got 'lr'"),
    (["compare", "adam:lr=0.1,betas=0.9"], r"betas='0\.9' is not a valid value for betas"),
    (["compare", "adam:lr=0.1,amsgrad=yes"], r"amsgrad='yes' is not a valid value"),
    (["compare", "momentum:lr=0.1,momentum=0.5,form=bogus"], r"form must be one of 'velocity', 'ema', 'torch', got 'bogus'"),
    (["compare", "momentum:lr=0.1"], r"missing required hyperparameter 'momentum'"),
    (["compare", "sgd:lr=0.1", "adam:lr=nan"], r"lr must be finite"),
    (["compare", ":lr=0.1"], r"unknown algorithm ''; choose one of: sgd, momentum"),
    (["compare", "sgd:lr=0.1", "--steps", "-1"], r"--steps: must be >= 1, got -1"),
    (["compare", "sgd:lr=0.1", "--out", "{tmp}/blocker/paths.svg"], r"blocker is a file, not a directory"),
    # train: sizes, conflicts, hyperparameters
    (["train", "adam", "--lr", "0.01", "--seeds", "1000000000000", "--data", "{A}"], rf"--seeds: at most {MAX_SEEDS} seeds run together"),
    (["train", "adam", "--lr", "0.01", "--seeds", "-5", "--data", "{A}"], r"--seeds: must be >= 1, got -5"),
    (["train", "adam", "--lr", "0.01", "--seed", "99999999999999999999", "--data", "{A}"], r"--seed: a seed is at most 9223372036854775807, got 99999999999999999999"),
    (["train", "adam", "--lr", "0.01", "--epochs", "1000000000000", "--data", "{A}"], r"would record more than 10000000 losses; use fewer seeds or epochs"),
    (["train", "adam", "--lr", "0.01", "--batch-size", "100000000000", "--data", "{A}"], r"--batch-size: at most 1500 rows per minibatch \(the training rows\), got 100000000000"),
    (["train", "adam", "--lr", "abc", "--data", "{A}"], r"--lr: invalid float value: 'abc'"),
    (["train", "adam", "--lr", "0.01", "--seed", "3", "--seeds", "4", "--data", "{A}"], r"--seeds: not allowed with argument --seed"),
    (["train", "adagrad", "--lr", "0.1", "--impl", "torch", "--eps-in-sqrt", "--data", "{A}"],
     r"--eps-in-sqrt is not available with --impl torch: torch\.optim\.Adagrad has no such option"),
    (["train", "momentum", "--lr", "0.1", "--momentum", "0.9", "--impl", "torch", "--form", "velocity", "--data", "{A}"],
     r"--form is not available with --impl torch"),
    (["train", "adadelta", "--impl", "torch", "--form", "torch", "--data", "{A}"], r"adadelta does not take --form"),
    (["train", "sgd", "--lr", "0.1", "--data", "{A}", "--out", "{tmp}/blocker/loss.png"], r"blocker is a file, not a directory"),
    (["train", "sgd", "--lr", "0.1", "--data", "{A}", "--out", "{tmp}/figure-dir.png"], r"is a directory; give a file name"),
    # train: data files
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/five-columns.dat"], r"line 1 has 5 tab-separated fields; expected 1503 rows of 6 .*--data PATH"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/words.dat"], r"line 1: 'frequency' is not a number"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/binary.dat"], r"binary\.dat is not a text file"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/nan.dat"], r"nan\.dat line 1, column 3: 'nan' is not a finite number"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/long.dat"], r"long\.dat is too long: 1504 rows"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/constant.dat"], r"column 1 is constant and cannot be standardized"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/blocker/airfoil.dat"], r"no such file; expected airfoil_self_noise\.dat"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/data-dir"], r"data-dir is a directory; expected the file airfoil_self_noise\.dat"),
    # no --data: the download (here: a wrong file) fails its checksum, and nothing is cached
    (["train", "sgd", "--lr", "0.1"], r"has SHA-1 [0-9a-f]{40}, expected 76e5be1548fd8222e5074cf0faae75edff8cf93f; nothing was cached"),
    # bench (refused before any timing)
    (["bench", "--runs", "1", "airfoil"], r"'airfoil' is a suite, not a row number; name the suite before --runs"),
    (["bench", "--runs", "13"], r"--runs: expected a row number 1\.\.12, got 13"),
    (["bench", "--repeats", "0"], r"--repeats: must be >= 1, got 0"),
    (["bench", "--batch-repeats", "x"], r"--batch-repeats: expected a whole number"),
    (["bench", "--seeds", "1000000000000"], rf"--seeds: at most {MAX_SEEDS} seeds run together"),
    (["bench", "cpu"], r"invalid choice: 'cpu'"),
    (["bench", "--data", "{tmp}/empty.dat"], r"empty\.dat is empty"),
    (["bench", "--data", "{tmp}/data-dir"], r"is a directory"),
    # reproduce (refused before any experiment)
    (["exercises", "99"], r"unknown exercise '99'; choose 1\.\.11 or one of: momentum-1"),
    (["exercises", "adam-4", "--out", "{tmp}/blocker/x.svg"], r"blocker is a file, not a directory"),
    (["exercises", "adam-4", "--out", "{tmp}/x.jpg"], r"--out: use a file name ending in \.svg, \.png or \.pdf"),
    (["exercises", "--out", "x.svg"], r"--out needs one exercise N"),
    (["train", "yogi", "--lr", "0.01", "--impl", "torch", "--data", "{A}"], r"torch.optim has no counterpart of 'yogi'"),
    (["reproduce", "--seeds", "0"], r"--seeds: must be >= 1, got 0"),
    (["reproduce", "--seeds", "1000000000000"], rf"--seeds: at most {MAX_SEEDS} seeds"),
    (["reproduce", "--first-seed", "-1"], r"--first-seed: must be >= 0, got -1"),
    (["reproduce", "--first-seed", "9223372036854775807", "--seeds", "2", "--out", "{tmp}/report"],
     r"--first-seed 9223372036854775807 with --seeds 2 goes past the largest seed"),
    (["reproduce", "--out", "{tmp}/blocker"], r"blocker exists and is not a directory; choose another --out"),
    (["reproduce", "--out", "{tmp}/thesis"], r"holds files that are not a descentlab report \(chapter1\.tex\); choose an empty or new"),
    (["reproduce", "--out", "{tmp}/blocker/report"], r"blocker is a file, not a directory"),
    (["reproduce", "--out", "{tmp}/no/such/report"], r"directory .*no/such does not exist; create it first"),
    (["reproduce", "--data", "{tmp}/truncated.dat", "--out", "{tmp}/report"], r"truncated\.dat is truncated: 10 rows"),
    (["reproduce", "--data", "{tmp}/missing.dat", "--out", "{tmp}/report"], r"--data .*missing\.dat: no such file"),
    # issue 16: every command, every file it writes that cannot be written, before any work
    (["trace", "sgd", "--lr", "0.1", "--out", "/proc/x.png"], r"--out /proc/x\.png: directory /proc takes no new files"),
    (["trace", "sgd", "--lr", "0.1", "--out", "{tmp}/fifo.png"], r"fifo\.png is a named pipe \(FIFO\), not a regular file"),
    (["trace", "sgd", "--lr", "0.1", "--out", ""], r"--out : use a file name ending in \.png"),
    (["trace", "sgd", "--lr", "0.1", "--out", "{tmp}/no/such/dir/x.svg"], r"no/such/dir does not exist; create it first"),
    (["compare", "sgd:lr=0.1", "--out", "/proc/paths.svg"], r"directory /proc takes no new files"),
    (["compare", "sgd:lr=0.1", "--out", "{tmp}/fifo.png"], r"is a named pipe \(FIFO\)"),
    (["compare", "sgd:lr=0.1", "--out", "{tmp}/figure-dir.png"], r"figure-dir\.png is a directory; give a file name"),
    (["train", "sgd", "--lr", "0.1", "--data", "{A}", "--out", "/proc/loss.png"], r"directory /proc takes no new files"),
    (["train", "sgd", "--lr", "0.1", "--data", "{A}", "--out", "{tmp}/fifo.png"], r"is a named pipe \(FIFO\)"),
    (["reproduce", "--out", "/proc/report"], r"directory /proc takes no new files"),
    # explore (refused before any grid is computed)
    # benchmark (more in test_benchmark.py)
    (["benchmark", "--problems", "mnist"], r"unknown problem 'mnist'; choose from: airfoil, breast_cancer"),
    (["benchmark", "--optimizer", "torch.optim.Nadam"], r"module torch\.optim has no attribute 'Nadam'"),
    (["benchmark", "--optimizer", "torch.nn.Linear"], r"torch\.nn\.Linear is not a torch\.optim\.Optimizer class"),
    (["benchmark", "--space", "{tmp}/words.dat"], r"words\.dat: use a \.json or \.toml file"),
    (["benchmark", "--out", "{tmp}/thesis"], r"holds files that are not a descentlab report \(chapter1\.tex\)"),
    (["benchmark", "--problems", "airfoil", "--data", "{tmp}/truncated.dat", "--out", "{tmp}/bm"], r"truncated\.dat"),
    (["benchmark", "--trials", "0"], r"--trials: must be >= 1, got 0"),
    (["explore", "--objective", "nope"], r"unknown objective 'nope'; choose from: notes, quadratic"),
    (["explore", "--objective", "notes", "--out", "/proc/explore.html"], r"directory /proc takes no new files"),
    (["explore", "--out", "{tmp}/fifo.png"], r"fifo\.png is a named pipe \(FIFO\), not a regular file"),
    (["explore", "--out", "{tmp}/data-dir"], r"data-dir is a directory; give a file name"),
    (["explore", "--out", "{tmp}/no/such/explore.html"], r"no/such does not exist; create it first"),
    (["diff", "nope", "torch.optim.Adam"], r"unknown optimizer 'nope': give a registry name"),
    (["diff", "adam:lr", "torch.optim.Adam"], r"'adam:lr': expected key=value after ':', got 'lr'"),
    (["diff", "adam:lr=0.1", "os.path"], r"'os.path' is not a torch.optim.Optimizer class"),
    (["diff", "adam:lr=-1", "torch.optim.Adam"], r"lr must be >= 0, got -1"),
    (["diff", "yogi:conventions=torch", "torch.optim.Adam"], r"conventions 'torch' have no yogi: torch.optim has no Yogi"),
    (["diff", "adam:lr=0.1", "torch.optim.Adam", "--steps", "0"], r"--steps"),
    (["reproduce", "--out", "{tmp}/fifo"], r"fifo exists and is not a directory"),
    # issue 16: --data says what the path is, never reads a pipe or a device, and does not suggest --data
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/fifo"], r"--data .*fifo is a named pipe \(FIFO\), not a regular file, and is not read"),
    (["train", "sgd", "--lr", "0.1", "--data", "/dev/zero"], r"--data /dev/zero is a character device, not a regular file"),
    (["train", "sgd", "--lr", "0.1", "--data", "/dev/null"], r"--data /dev/null is a character device"),
    (["train", "sgd", "--lr", "0.1", "--data", ""], r"--data was given an empty path"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/utf16.dat"], r"utf16\.dat is UTF-16 text; save it as ASCII or UTF-8"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/nul.dat"], r"nul\.dat is not a text file \(it holds NUL bytes\)"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/huge.dat"], r"huge\.dat is larger than 599840 bytes; expected the 59984-byte file"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/empty.dat"], r"empty\.dat is empty"),
    # notebooks (refused before any notebook is built or run)
    (["notebooks"], r"the following arguments are required: --out"),
    (["notebooks", "--out", "{tmp}/nb", "--section", "nope"], r"unknown section 'nope'; choose from: momentum, adagrad"),
    (["notebooks", "--out", "{tmp}/thesis"], r"holds files that are not a descentlab report \(chapter1\.tex\)"),
    (["notebooks", "--out", "{tmp}/blocker"], r"blocker exists and is not a directory; choose another --out"),
    (["notebooks", "--out", "{tmp}/nb", "--data", "{tmp}/empty.dat"], r"empty\.dat is empty"),
    (["notebooks", "--out", "{tmp}/nb", "--lang", "fr"], r"invalid choice: 'fr'"),
    (["bench", "--data", "{tmp}/fifo"], r"is a named pipe \(FIFO\)"),
    (["bench", "airfoil", "--data", "/dev/zero"], r"/dev/zero is a character device"),
    (["reproduce", "--data", "{tmp}/fifo", "--out", "{tmp}/report"], r"is a named pipe \(FIFO\)"),
    (["reproduce", "--data", "/dev/zero", "--out", "{tmp}/report"], r"/dev/zero is a character device"),
    (["reproduce", "--data", "{tmp}/binary.dat", "--out", "{tmp}/report"], r"binary\.dat is not a text file"),
    # run-notes: the notes, the figures' folder and the data, each refused before any cell runs
    (["run-notes", "{tmp}/missing.ipynb", "--out", "{tmp}/nf"], r"cannot read .*missing\.ipynb: No such file"),
    (["run-notes", "{tmp}/data-dir", "--out", "{tmp}/nf"], r"data-dir is a directory; give a notes file"),
    (["run-notes", "{tmp}/fifo", "--out", "{tmp}/nf"], r"fifo is not a regular file"),
    (["run-notes", "{tmp}/binary.dat", "--out", "{tmp}/nf"], r"binary\.dat is not UTF-8 text"),
    (["run-notes", "{tmp}/huge.dat", "--out", "{tmp}/nf"], r"huge\.dat has no code cells"),
    (["run-notes", "{tmp}/truncated.dat", "--out", "{tmp}/nf"], r"truncated\.dat has no code cells"),
    (["run-notes", "{tmp}/notes.ipynb", "--out", "{tmp}/thesis"], r"holds files that are not a descentlab report"),
    (["run-notes", "{tmp}/notes.ipynb", "--out", "{tmp}/blocker"], r"blocker exists and is not a directory"),
    (["run-notes", "{tmp}/notes.ipynb", "--data", "{tmp}/truncated.dat", "--out", "{tmp}/nf"], r"truncated\.dat is truncated"),
    (["run-notes", "{tmp}/notes.ipynb", "--data", "{tmp}/missing.dat", "--out", "{tmp}/nf"], r"--data .*missing\.dat: no such file"),
    (["run-notes", "{tmp}/notes.ipynb", "--seeds", "0"], r"--seeds: must be >= 1, got 0"),
    # issue 31: data values standardization cannot represent, refused by every command in one line naming line and column
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/big308.dat"], r"big308\.dat line 1, column 1: 1e\+308 is out of range: standardizing column 1 overflows"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/big200.dat"], r"big200\.dat line 1, column 1: 1e\+200 is out of range"),
    (["train", "sgd", "--lr", "0.1", "--data", "{tmp}/big150.dat"], r"line 1, column 1: 1e\+150 is out of range: after standardizing, the other values"),
    (["reproduce", "--data", "{tmp}/big308.dat", "--out", "{tmp}/report"], r"big308\.dat line 1, column 1: 1e\+308 is out of range"),
    (["benchmark", "--problems", "airfoil", "--data", "{tmp}/big308.dat", "--out", "{tmp}/bm"], r"line 1, column 1: 1e\+308 is out of range"),
    (["bench", "airfoil", "--data", "{tmp}/big200.dat"], r"line 1, column 1: 1e\+200 is out of range"),
    (["exercises", "momentum-4", "--data", "{tmp}/big200.dat"], r"line 1, column 1: 1e\+200 is out of range"),
    (["diff", "adam:lr=0.1", "torch.optim.Adam", "--problem", "airfoil", "--data", "{tmp}/big308.dat"], r"1e\+308 is out of range"),
    # issue 31: a --data the user named is checked by every command, even one that would not read it
    (["benchmark", "--quick", "--data", "/nonexistent/x.dat", "--out", "{tmp}/bm"], r"--data /nonexistent/x\.dat: no such file"),
    (["benchmark", "--quick", "--data", "{tmp}/fifo", "--out", "{tmp}/bm"], r"fifo is a named pipe \(FIFO\), not a regular file"),
    (["exercises", "adam-4", "--data", "missing"], r"--data missing: no such file"),
    (["bench", "steps", "--data", "{tmp}/missing.dat"], r"--data .*missing\.dat: no such file"),
    (["exercises", "adam-4", "--data", "{tmp}/fifo"], r"is a named pipe \(FIFO\)"),
    # issue 31: every count and size a user can type is bounded, before any work
    (["benchmark", "--seed", str(2**70), "--out", "{tmp}/bm"], r"argument --seed: a seed is at most 4294967295, got 1180591620717411303424"),
    (["benchmark", "--space", "{tmp}/space-huge.json", "--optimizer", "torch.optim.SGD", "--out", "{tmp}/bm"],
     r"'lr': low and high must lie within ±1e\+06 .*got 1e\+308"),
    (["benchmark", "--space", "{tmp}/space-tiny.json", "--optimizer", "torch.optim.SGD", "--out", "{tmp}/bm"],
     r"'lr': a log scale needs low >= 1e-30"),
    (["train", "sgd", "--lr", "0.1", "--seed", str(2**63), "--data", "{A}"], r"argument --seed: a seed is at most 9223372036854775807"),
    (["train", "sgd", "--lr", "0.1", "--batch-size", "1501", "--data", "{A}"], r"--batch-size: at most 1500 rows per minibatch"),
    (["bench", "--repeats", "1001"], r"--repeats: at most 1000 repeats, got 1001"),
    (["bench", "airfoil", "--batch-repeats", "100000000"], r"--batch-repeats: at most 1000 repeats"),
    (["compare", *[f"sgd:lr=0.{i:03d}" for i in range(1, 102)]], r"at most 100 runs in one figure, got 101"),
    (["diff", "adam:lr=0.1", "torch.optim.Adam", "--steps", "100001"], r"--steps: at most 100000 steps"),
    (["diff", "adam:lr=0.1", "torch.optim.Adam", "--rtol", "nan"], r"--rtol: expected a finite number >= 0, got nan"),
    (["diff", "adam:lr=0.1", "torch.optim.Adam", "--rtol", "-1"], r"--rtol: expected a finite number >= 0, got -1"),
    (["diff", "adam:lr=0.1", "torch.optim.Adam", "--rtol", "inf"], r"--rtol: expected a finite number >= 0, got inf"),
    (["diff", "adam:lr=0.1", "torch.optim.LBFGS"], r"torch\.optim\.LBFGS cannot be compared: .*needs a closure"),
    (["diff", "torch.optim.SparseAdam", "adam:lr=0.1"], r"torch\.optim\.SparseAdam cannot be compared: .*only sparse gradients"),
    # issue 16: --epochs is capped
    (["train", "sgd", "--lr", "0.1", "--epochs", "100000", "--data", "{A}"], r"--epochs must be at most 10000 \(the notes train for 2\), got 100000"),
    (["train", "sgd", "--lr", "0.1", "--epochs", "10001", "--seeds", "2", "--data", "{A}"], r"--epochs must be at most 10000"),
]


def _work_started(*args: Any, **kwargs: Any) -> None:
    raise AssertionError("the work started: the mistake was not caught before it")


@pytest.fixture
def workspace(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The case's files in tmp_path; a private cache; a download that serves the wrong file; no real work."""
    for name, content in FILES.items():
        path = tmp_path / name
        if content is None:
            path.mkdir()
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    (tmp_path / "thesis" / "chapter1.tex").write_text("precious")
    os.mkfifo(tmp_path / "fifo")
    os.mkfifo(tmp_path / "fifo.png")
    with open(tmp_path / "huge.dat", "wb") as huge:
        huge.truncate(10**6)
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    wrong = elsewhere / "served.dat"
    wrong.write_text(rows(1503))
    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(elsewhere / "cache"))
    monkeypatch.setattr(data_module, "AIRFOIL_URL", wrong.as_uri())
    monkeypatch.setattr("descentlab.bench.airfoil.bench_airfoil", _work_started)  # the commands import them when they run
    monkeypatch.setattr("descentlab.chapter.reproduce.run_chapter", _work_started)
    monkeypatch.setattr("descentlab.benchmark.protocol.run_benchmark", _work_started)
    monkeypatch.setattr("descentlab.d2l.runner.run_notes", _work_started)
    monkeypatch.setattr(descentlab.explore, "explore", _work_started)
    return tmp_path


def _snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


def test_the_table_is_large_and_covers_every_subcommand() -> None:
    from descentlab.cli import build_parser

    assert len(CLI_CASES) >= 60
    subcommands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    covered = {argv[0] for argv, _ in CLI_CASES if argv}
    assert set(subcommands) <= covered, set(subcommands) - covered


@pytest.mark.parametrize(("argv", "message"), CLI_CASES, ids=[" ".join(a) or "(nothing)" for a, _ in CLI_CASES])
def test_a_mistake_is_one_line_exit_2_and_no_file(
    workspace: Path, request: pytest.FixtureRequest, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    airfoil = str(request.getfixturevalue("airfoil_path")) if "{A}" in argv else ""
    user_named = "--data" in argv and argv[argv.index("--data") + 1] != "{A}"
    argv = [a.replace("{tmp}", str(workspace)).replace("{A}", airfoil) for a in argv]
    cache = Path(str(data_module.default_cache_dir()))
    before = _snapshot(workspace)
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert "Traceback" not in err and "Error:" not in err, err
    assert err.startswith("descentlab"), err
    assert re.search(message, err), err
    if user_named:  # the user did supply a local copy: the error is about it, not about supplying one
        assert NOT_FOUND_HINT not in err, err
    assert _snapshot(workspace) == before, "a file was created or changed"
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*")), "something was cached"


# A full disk at the moment of writing, after the work: every command that writes a file.
# matplotlib's savefig writes half a file, then the disk is full (for reproduce, which draws its figures in
# memory: writing half of the report's first figure).
FULL_DISK_CASES: list[tuple[str, list[str]]] = [
    ("trace", ["trace", "sgd", "--lr", "0.4", "--out", "{tmp}/path.png"]),
    ("compare", ["compare", "sgd:lr=0.4", "adagrad:lr=2", "--out", "{tmp}/paths.svg"]),
    ("train", ["train", "sgd", "--lr", "0.1", "--data", "{A}", "--out", "{tmp}/loss.pdf"]),
    ("reproduce", ["reproduce", "--no-download", "--seeds", "1", "--out", "{tmp}/report"]),
    ("benchmark", ["benchmark", "--quick", "--problems", "wine", "--optimizer", "sgd", "--trials", "2", "--seeds", "2",
                   "--out", "{tmp}/bm"]),
]


@pytest.mark.parametrize("argv", [argv for _, argv in FULL_DISK_CASES], ids=[name for name, _ in FULL_DISK_CASES])
def test_a_full_disk_is_one_line_exit_2_and_nothing_half_written(
    tmp_path: Path, airfoil_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    from matplotlib.figure import Figure

    savefig, write_text = Figure.savefig, Path.write_text

    def savefig_on_a_full_disk(self: Figure, target: Any, *args: Any, **kwargs: Any) -> None:
        if not isinstance(target, (str, Path)):  # into memory (reproduce's SVG text): no disk involved
            return savefig(self, target, *args, **kwargs)
        Path(target).write_bytes(b"half a figure")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def write_text_on_a_full_disk(self: Path, data: str, *args: Any, **kwargs: Any) -> int:
        if self.suffix != ".svg":
            return write_text(self, data, *args, **kwargs)
        write_text(self, data[: len(data) // 2], *args, **kwargs)
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.delenv("DESCENTLAB_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(Figure, "savefig", savefig_on_a_full_disk)
    monkeypatch.setattr(Path, "write_text", write_text_on_a_full_disk)
    work = tmp_path / "work"
    work.mkdir()
    argv = [a.replace("{tmp}", str(work)).replace("{A}", str(airfoil_path)) for a in argv]
    code = main(argv)
    out, err = capsys.readouterr()
    assert code == 2, (code, out, err)
    assert out == ""
    # reproduce's progress lines come first (the work was done); the error is one line, the last
    last = err.splitlines()[-1]
    assert err.endswith("\n") and "Traceback" not in err and "Errno" not in err, err
    assert re.fullmatch(rf"descentlab {argv[0]}: error: .*\(No space left on device\).*", last), last
    assert [line for line in err.splitlines() if "error" in line] == [last]
    assert list(work.iterdir()) == [], "something was left behind"


def test_reproduce_refuses_a_bad_file_named_by_the_environment_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fifo = tmp_path / "airfoil.dat"
    os.mkfifo(fifo)
    monkeypatch.setenv("DESCENTLAB_DATA", str(fifo))
    monkeypatch.setattr("descentlab.chapter.reproduce.run_chapter", _work_started)
    assert main(["reproduce", "--out", str(tmp_path / "report")]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    assert re.search(r"DESCENTLAB_DATA .*airfoil\.dat is a named pipe \(FIFO\), not a regular file", err), err
    assert NOT_FOUND_HINT not in err
    assert [p.name for p in tmp_path.iterdir()] == ["airfoil.dat"]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_standard_output_on_a_full_disk_is_one_line_exit_2() -> None:
    """`descentlab objectives > /dev/full`, as a real process: no traceback, nothing more at exit."""
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "descentlab", "objectives"], stdout=full, stderr=subprocess.PIPE, text=True, check=False
        )
    assert result.returncode == 2
    assert result.stderr == "descentlab objectives: error: No space left on device\n"


# ---------------------------------------------------------------------------
# The Python API.
# ---------------------------------------------------------------------------



NOTES = objectives.get_objective("notes")


def _params() -> list[torch.nn.Parameter]:
    return [torch.nn.Parameter(torch.ones(2))]


# (id, call(airfoil), exception type, message pattern)
API_CASES: list[tuple[str, Callable[[Any], Any], type[Exception], str]] = [
    ("train-seeds-int", lambda d: train("adam", {"lr": 0.01}, data=d, seeds=3), TypeError, r"seeds must be a sequence of integers, got 3"),
    ("train-seeds-empty", lambda d: train("adam", {"lr": 0.01}, data=d, seeds=[]), ValueError, r"at least one seed"),
    ("train-seed-negative", lambda d: train("adam", {"lr": 0.01}, data=d, seeds=[-1]), ValueError, r"a seed must be in \[0, 2\*\*63 - 1\], got -1"),
    ("train-seed-float", lambda d: train("adam", {"lr": 0.01}, data=d, seeds=[1.5]), TypeError, r"a seed must be an integer, got 1\.5"),
    ("train-seeds-huge", lambda d: train("adam", {"lr": 0.01}, data=d, seeds=range(10**12)), ValueError,
     rf"at most {MAX_SEEDS} seeds train together, got 1000000000000"),
    ("train-batch-0", lambda d: train("adam", {"lr": 0.01}, data=d, batch_size=0), ValueError, r"batch_size must be >= 1, got 0"),
    ("train-batch-float", lambda d: train("adam", {"lr": 0.01}, data=d, batch_size=2.5), TypeError, r"batch_size must be an integer"),
    ("train-batch-too-large", lambda d: train("adam", {"lr": 0.01}, data=d, batch_size=1501), ValueError,
     r"batch_size 1501 is larger than the 1500 training rows"),
    ("train-epochs-0", lambda d: train("adam", {"lr": 0.01}, data=d, epochs=0), ValueError, r"epochs must be >= 1, got 0"),
    ("train-epochs-huge", lambda d: train("adam", {"lr": 0.01}, data=d, epochs=10**12), ValueError, r"would record more than"),
    ("train-epochs-cap", lambda d: train("adam", {"lr": 0.01}, data=d, epochs=MAX_EPOCHS + 1), ValueError,
     rf"epochs must be at most {MAX_EPOCHS} \(the notes train for 2\), got {MAX_EPOCHS + 1}"),
    ("train-progress", lambda d: train("adam", {"lr": 0.01}, data=d, progress="stderr"), TypeError,
     r"progress must be a function progress\(epochs_done, epochs\), got 'stderr'"),
    ("train-impl", lambda d: train("adam", {"lr": 0.01}, data=d, impl="cuda"), ValueError, r"impl must be one of 'own', 'torch', got 'cuda'"),
    ("train-impl-option", lambda d: train("rmsprop", {"lr": 0.01, "eps_in_sqrt": True}, data=d, impl="torch"), ValueError,
     r"eps_in_sqrt is not available with impl 'torch'"),
    ("train-algorithm", lambda d: train("lbfgs", {"lr": 0.01}, data=d), ValueError, r"unknown algorithm 'lbfgs'; choose one of"),
    ("train-unknown-hp", lambda d: train("adam", {"lr": 0.01, "gamma": 0.9}, data=d), TypeError, r"adam got unexpected hyperparameter 'gamma'"),
    ("train-missing-hp", lambda d: train("adam", {}, data=d), TypeError, r"adam missing required hyperparameter 'lr'"),
    ("train-hp-string", lambda d: train("adam", {"lr": "0.01"}, data=d), ValueError, r"lr must be a real number, got '0\.01'"),
    ("train-hp-not-a-mapping", lambda d: train("adam", 0.01, data=d), TypeError, r"hyperparameters must be a mapping"),
    ("train-dtype-int", lambda d: train("adam", {"lr": 0.01}, data=d, dtype=torch.int64), TypeError,
     r"dtype must be a floating-point torch\.dtype"),
    ("train-dtype-string", lambda d: train("adam", {"lr": 0.01}, data=d, dtype="float64"), TypeError, r"dtype must be a floating-point"),
    ("train-data-path", lambda d: train("adam", {"lr": 0.01}, data="airfoil.dat"), TypeError,
     r"data must be an Airfoil from descentlab\.airfoil\.load_airfoil\(path\), got str"),
    ("run-steps-0", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, steps=0), ValueError, r"steps must be >= 1, got 0"),
    ("run-steps-float", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, steps=2.5), TypeError, r"steps must be an integer, got 2\.5"),
    ("run-steps-string", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, steps="10"), TypeError, r"steps must be an integer"),
    ("run-steps-huge", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, steps=10**12), ValueError, r"steps must be at most 100000"),
    ("run-start-nan", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, start=(math.nan, 0.0)), ValueError, r"start must be finite"),
    ("run-start-three", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, start=(1, 2, 3)), TypeError, r"start must be a pair of numbers"),
    ("run-start-one", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, start=(1.0,)), TypeError, r"start must be a pair of numbers"),
    ("run-start-string", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, start="ab"), TypeError, r"start must be a pair of numbers"),
    ("run-start-none", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, start=(None, 1.0)), TypeError, r"start must be a pair"),
    ("run-start-number", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1}, start=1.0), TypeError, r"start must be a pair"),
    ("run-objective-name", lambda d: trajectory.run("sgd", "notes", {"lr": 0.1}), TypeError, r"objective must be an Objective"),
    ("run-algorithm", lambda d: trajectory.run("nope", NOTES, {"lr": 0.1}), ValueError, r"unknown algorithm 'nope'"),
    ("run-unknown-hp", lambda d: trajectory.run("sgd", NOTES, {"lr": 0.1, "beta": 0.9}), TypeError, r"unexpected hyperparameter 'beta'"),
    ("run-batch-empty", lambda d: trajectory.run_batch("sgd", NOTES, []), ValueError, r"settings must not be empty"),
    ("run-batch-mixed-flags", lambda d: trajectory.run_batch("momentum", NOTES, [{"lr": 0.1, "momentum": 0.5},
                                                                                  {"lr": 0.1, "momentum": 0.5, "nesterov": True}]),
     ValueError, r"nesterov must be the same for all settings of one batch"),
    ("create-unknown", lambda d: dl.create("Adam", _params(), lr=0.1), ValueError, r"unknown algorithm 'Adam'; choose one of: sgd"),
    ("create-lr-negative", lambda d: dl.create("adam", _params(), lr=-1), ValueError, r"lr must be >= 0, got -1"),
    ("create-lr-string", lambda d: dl.create("adam", _params(), lr="0.1"), ValueError, r"lr must be a real number, got '0\.1'"),
    ("create-lr-tensor", lambda d: dl.create("adam", _params(), lr=torch.tensor([0.1])), ValueError, r"lr must be a real number"),
    ("create-unknown-kwarg", lambda d: dl.create("adam", _params(), lr=0.1, gamma=0.9), TypeError, r"Adam: got an unexpected keyword argument 'gamma'"),
    ("create-missing-lr", lambda d: dl.create("momentum", _params(), momentum=0.9), TypeError, r"missing a required argument: 'lr'"),
    ("create-betas-triple", lambda d: dl.create("adam", _params(), lr=0.1, betas=(0.9, 0.9, 0.9)), ValueError,
     r"betas must be a pair of numbers in \[0, 1\)"),
    ("create-flag-int", lambda d: dl.create("rmsprop", _params(), lr=0.1, centered=1), ValueError, r"centered must be True or False, got 1"),
    ("create-form", lambda d: dl.create("momentum", _params(), lr=0.1, momentum=0.9, form="Torch"), ValueError,
     r"form must be one of 'velocity', 'ema', 'torch', got 'Torch'"),
    ("objective-unknown", lambda d: objectives.get_objective("bowl"), ValueError, r"unknown objective 'bowl'; choose one of"),
    ("objective-kappa", lambda d: objectives.get_objective("quadratic", kappa=0.5), ValueError, r"kappa must be >= 1, got 0\.5"),
    ("airfoil-directory", lambda d: data_module.load_airfoil(Path(__file__).parent), data_module.DataError, r"is a directory"),
    ("airfoil-device", lambda d: data_module.load_airfoil("/dev/zero"), data_module.DataError,
     r"--data /dev/zero is a character device, not a regular file, and is not read"),
    ("airfoil-read-device", lambda d: data_module.read_table("/dev/zero"), data_module.DataError,
     r"/dev/zero is a character device, not a regular file"),
    ("airfoil-empty-path", lambda d: data_module.load_airfoil(""), data_module.DataError, r"--data was given an empty path"),
]


def test_the_api_table_is_large() -> None:
    assert len(API_CASES) >= 40


@pytest.mark.parametrize(("call", "kind", "message"), [c[1:] for c in API_CASES], ids=[c[0] for c in API_CASES])
def test_the_library_refuses_bad_arguments_clearly(
    airfoil: data_module.Airfoil, call: Callable[[Any], Any], kind: type[Exception], message: str
) -> None:
    with pytest.raises(kind, match=message) as caught:
        call(airfoil)
    assert type(caught.value) in (kind, data_module.DataError), type(caught.value)
    # raised by descentlab itself, not by torch deep inside a computation
    raised_in = traceback.extract_tb(caught.value.__traceback__)[-1].filename
    assert "/descentlab/" in raised_in.replace("\\", "/"), raised_in


# --- issue 31: the environment and large figures --------------------------------------------------------------


def test_an_invalid_mplbackend_does_not_fail_a_command(tmp_path: Path) -> None:
    """``MPLBACKEND=x`` made matplotlib refuse to import: "error: sgd: Key backend ..."; the commands only write files."""
    figure = tmp_path / "path.png"
    done = subprocess.run([sys.executable, "-m", "descentlab", "trace", "sgd", "--lr", "0.4", "--out", str(figure)],
                          capture_output=True, text=True, timeout=300, env={**os.environ, "MPLBACKEND": "x"})
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert figure.read_bytes().startswith(b"\x89PNG")


@pytest.mark.parametrize("count", [41, 100])
def test_compare_with_many_runs_draws_them_all_without_a_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], count: int
) -> None:
    """40+ runs printed matplotlib's "constrained_layout not applied" UserWarning (the legend filled the axes)."""
    import warnings

    from descentlab.plotting.landscape import path_colors

    figure = tmp_path / "paths.png"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        code = main(["compare", *[f"sgd:lr=0.{i:03d}" for i in range(1, count + 1)], "--out", str(figure)])
    out, err = capsys.readouterr()
    assert code == 0 and err == "" and figure.is_file()
    assert len(set(path_colors(count))) == count  # every path its own colour
