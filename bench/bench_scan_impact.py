"""How much the integrations slow the gate scans (issue 14: at most 10 %), in paired rounds.

Each round runs ``bench_checkin.py --background`` and ``bench_checkin.py --integrations`` (the
order alternates from round to round, so a drift of the shared machine falls on both alike) and
reads each run's ceiling (``GET /health``), admitted scans and repeated (denied) scans. It prints
every run, then the medians and the change with integrations, both raw and relative to each run's
own ceiling (the fairer figure on a machine whose speed drifts from minute to minute).

    .venv/bin/python bench/bench_scan_impact.py [--rounds 3] [--scans 20000] [--duration 3]

``--baseline DIR`` compares earlier code instead (a ``git worktree add DIR REV``): each round runs
``--background`` with DIR's code and with this checkout's (issue 15: the saga engine may slow single
scans by at most 5 %).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIGURE = re.compile(
    r"^(ceiling: GET /health|scans \(c=\d+, [^)]*\)|scans again \(c=\d+, denied\))\s+([\d,]+)/s"
)
KINDS = {"ceiling": "ceiling", "scans (": "admitted", "scans again": "denied"}


def run(mode: str, args: argparse.Namespace) -> dict[str, float]:
    env = dict(os.environ)
    if mode == "baseline":  # the same bench and worker, the code of another checkout
        env["PYTHONPATH"] = str(Path(args.baseline).resolve() / "src")
    command = [
        sys.executable,
        str(HERE / "bench_checkin.py"),
        "--integrations" if mode == "integrations" else "--background",
        "--scans",
        str(args.scans),
        "--duration",
        str(args.duration),
        "--bulk-runs",
        "0",
        "--no-catch-up",
    ]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=env).stdout
    figures: dict[str, float] = {}
    for line in out.splitlines():
        match = FIGURE.match(line)
        if match is None:
            continue
        for prefix, kind in KINDS.items():
            if match.group(1).startswith(prefix):
                figures.setdefault(kind, float(match.group(2).replace(",", "")))
    if set(figures) != set(KINDS.values()):
        raise SystemExit(f"could not read the figures of {' '.join(command)}:\n{out}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scans", type=int, default=20_000)
    parser.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    parser.add_argument(
        "--baseline",
        default="",
        help="a checkout of earlier code (git worktree add DIR REV): compare --background with its "
        "code against this code's, instead of the integrations against none (issue 15: the saga "
        "engine may cost scans at most 5 %%)",
    )
    args = parser.parse_args()
    modes = ["baseline", "background"] if args.baseline else ["background", "integrations"]
    runs: dict[str, list[dict[str, float]]] = {mode: [] for mode in modes}
    for round_ in range(args.rounds):
        order = modes if round_ % 2 == 0 else modes[::-1]
        for mode in order:
            figures = run(mode, args)
            runs[mode].append(figures)
            print(
                f"round {round_ + 1} {mode:<12} ceiling {figures['ceiling']:>7,.0f}/s  "
                f"admitted {figures['admitted']:>6,.0f}/s ({figures['admitted'] / figures['ceiling']:.0%})  "
                f"denied {figures['denied']:>6,.0f}/s ({figures['denied'] / figures['ceiling']:.0%})",
                flush=True,
            )
    print()
    for kind in ("admitted", "denied"):
        raw = [statistics.median(r[kind] for r in runs[mode]) for mode in runs]
        rel = [statistics.median(r[kind] / r["ceiling"] for r in runs[mode]) for mode in runs]
        print(
            f"{kind:<9} median {raw[0]:>6,.0f}/s {modes[0]}, {raw[1]:>6,.0f}/s {modes[1]}: "
            f"{raw[1] / raw[0] - 1:+.1%}; relative to each run's ceiling {rel[0]:.0%} -> {rel[1]:.0%}: "
            f"{rel[1] / rel[0] - 1:+.1%}"
        )
    if args.baseline:
        print(f"target: this code at most 5 % slower than {args.baseline}")
    else:
        print("target: at most 10 % slower with the integrations")


if __name__ == "__main__":
    main()
