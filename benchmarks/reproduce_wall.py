"""Wall time of ``descentlab reproduce`` as a user runs it (a measurement, not a test).

    .venv/bin/python benchmarks/reproduce_wall.py [--runs 7] [--data PATH] [-- EXTRA REPRODUCE ARGS]

Runs the command ``--runs`` times, each in a fresh process writing a fresh directory,
and prints each wall time, the median and the spread, then the median of each
section's seconds from ``results.json`` (the chapter's own timing).  The airfoil
file comes from ``--data``, else ``$DESCENTLAB_DATA``, else ``../shared/data``.
On a shared machine single runs vary by a third; compare medians of one sitting.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--data", default=None)
    parser.add_argument("--json", action="store_true", help="print one JSON record instead of the lines")
    parser.add_argument("extra", nargs="*", help="more arguments for reproduce (after --)")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent
    data = args.data or os.environ.get("DESCENTLAB_DATA") or str(here.parent / "shared" / "data" / "airfoil_self_noise.dat")
    command = [str(Path(sys.executable).parent / "descentlab"), "reproduce", "--data", data, *args.extra]
    walls, sections = [], {}
    with tempfile.TemporaryDirectory() as scratch:
        for run in range(args.runs):
            out = Path(scratch) / f"report{run}"
            started = time.perf_counter()
            subprocess.run([*command, "--out", str(out)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            walls.append(time.perf_counter() - started)
            for key, seconds in json.loads((out / "results.json").read_text())["seconds"].items():
                sections.setdefault(key, []).append(seconds)
            print(f"run {run + 1}: {walls[-1]:.2f} s", flush=True, file=sys.stderr if args.json else sys.stdout)
    median = statistics.median(walls)
    if args.json:
        print(json.dumps({"command": ["descentlab", "reproduce", *args.extra], "walls_s": walls, "median_s": median,
                          "sections_median_s": {key: statistics.median(v) for key, v in sections.items()}}))
        return
    print(f"median {median:.2f} s over {len(walls)} runs (min {min(walls):.2f}, max {max(walls):.2f})")
    for key, values in sections.items():
        share = statistics.median(values)
        print(f"  {key:18s} {share:6.2f} s  ({share / median:.0%} of the median wall time)")


if __name__ == "__main__":
    main()
