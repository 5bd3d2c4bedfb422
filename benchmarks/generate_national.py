"""Benchmark: generate a synthetic England for every year and record wall time and peak memory.

Runs ``cin-outcomes generate`` in a child process (so its peak resident memory is measured alone) and appends a row
to BENCHMARKS.md with the machine, the command and the date. Target (issue 2): scale 1.0, 2013-14 to 2024-25, on a
2-core 24 GB machine, under 15 minutes and under 12 GB.

    .venv/bin/python benchmarks/generate_national.py [--scale 1.0] [--seed 42] [--out /tmp/landing-national]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GB, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path("/tmp/cin-outcomes-benchmark-landing"))
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    args = ap.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    exe = Path(sys.executable).with_name("cin-outcomes")
    cmd = [str(exe), "generate", "--scale", str(args.scale), "--seed", str(args.seed), "--out", str(args.out),
           "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2**20  # ru_maxrss is KiB on Linux
    print(proc.stdout)
    if proc.returncode != 0:
        print(proc.stderr, file=sys.stderr)
        sys.exit(proc.returncode)
    size_gb = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file()) / 2**30
    shown = " ".join(["cin-outcomes", *cmd[1:]])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout
    row = (f"| {dt.date.today().isoformat()} | generate, scale {args.scale:g}, all years | `{shown}`"
           + (f" (commit {commit.strip()})" if commit.strip() else "") + " | "
           f"{wall / 60:.1f} min | {peak_gb:.1f} GB | {size_gb:.2f} GB on disk | {machine()} |")
    print(row)
    bench = ROOT / "BENCHMARKS.md"
    if not bench.exists():
        bench.write_text("# Benchmarks\n\nMeasured by the scripts in `benchmarks/`; newest last.\n\n"
                         "| date | what | command | wall time | peak memory | output | machine |\n"
                         "|---|---|---|---|---|---|---|\n")
    with bench.open("a") as f:
        f.write(row + "\n")
    if not args.keep:
        shutil.rmtree(args.out, ignore_errors=True)


if __name__ == "__main__":
    main()
