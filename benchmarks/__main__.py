"""Run the benchmarks: ``python -m benchmarks [name ...]`` (names: the bench_*.py stems).

Without names it runs every benchmark except the scale ones (``index``: FAISS over a million
vectors, about 25 minutes and 9 GB on 2 cores; ``embed``: Ray Data against a plain loop), which
run when named: ``python -m benchmarks index embed`` (``make bench-scale``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks
from benchmarks.summary import write_summary
from benchmarks.timing import global_state, restore_global_state

# Long and memory-hungry: run only when asked for by name.
SCALE = ("bench_index", "bench_embed")


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    wanted = [f"bench_{a.removeprefix('bench_')}" for a in argv] or [n for n in names if n not in SCALE]
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s) {unknown}; available: {names}", file=sys.stderr)
        return 2
    changed = []
    start = time.perf_counter()
    for name in wanted:
        before = global_state()
        importlib.import_module(f"benchmarks.{name}").main()
        after = global_state()
        if after != before:
            # A benchmark must leave autograd and thread counts as it found them (the next one
            # may train a network); put them back and fail the run so the leak gets fixed.
            restore_global_state(before)
            changed.append(f"{name} changed {before} to {after}")
    print(f"\nall benchmarks: {time.perf_counter() - start:.0f} s\n")
    print(write_summary())
    for line in changed:
        print(f"error: {line}", file=sys.stderr)
    return 1 if changed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
