"""Benchmark suites of the workspace: ``python -m bench [SUITE ...]``.

A suite is a module ``bench/<name>_bench.py`` (discovered automatically) that defines
``run() -> list[Result]`` and optionally ``SUITE = "<name>"`` and ``TITLE``. Running a suite
prints its table and writes it as Markdown to ``bench/results/<name>.md``.

Every figure is reported with a baseline measured in the same run; ``ratio`` is how many
times slower (or bigger) the measured thing is than its baseline.
"""

from __future__ import annotations

import gc
import importlib
import pkgutil
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"


@dataclass(frozen=True, slots=True)
class Result:
    """One row of a suite's table.

    ``value`` and ``baseline`` are in ``unit``; ``ratio`` is value / baseline for costs (time,
    size) and baseline / value for throughputs, so a ratio above 1 always means "worse than the
    baseline by that factor". ``ok`` is None for rows without a target.
    """

    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    ok: bool | None = None
    note: str = ""


# ------------------------------------------------------------------------------ measuring


def speed_probe() -> Result:
    """A fixed pure-Python loop (5,000,000 multiply-adds): how fast the machine is right now.

    Not a figure of the product: a row that lets runs on a machine whose speed drifts (this
    one's changes up to 2× from minute to minute) be compared. Best of 3.
    """

    def loop() -> None:
        total = 0
        for i in range(5_000_000):
            total += i * i

    best = min(_timed(loop) for _ in range(3))
    return Result(
        "machine speed probe (pure-Python loop, lower is faster)", best, "s",
        note="the same loop in every suite run; compare runs only at similar probe times",
    )  # fmt: skip


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def sample(
    fn: Callable[[], object],
    *,
    number: int,
    repeat: int = 5,
    warmup: int = 1,
    clock: Callable[[], int] = time.perf_counter_ns,
) -> list[float]:
    """Seconds per call of ``fn``: ``repeat`` samples, each the mean over ``number`` calls.

    The garbage collector stays enabled (as in a real process) but is run before each sample,
    so that one sample does not pay for the garbage of another. ``clock`` is wall time by
    default; single-threaded CPU-bound suites pass ``time.thread_time_ns`` so that time spent
    waiting for a core on a shared machine is not counted.
    """
    for _ in range(warmup):
        for _ in range(number):
            fn()
    samples: list[float] = []
    for _ in range(repeat):
        gc.collect()
        start = clock()
        for _ in range(number):
            fn()
        samples.append((clock() - start) / number / 1e9)
    return samples


def median(samples: list[float]) -> float:
    """The median of ``samples``."""
    return statistics.median(samples)


def best(samples: list[float]) -> float:
    """The smallest of ``samples``."""
    return min(samples)


# ------------------------------------------------------------------------------ formatting


_TIME_UNITS = (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9))


def format_quantity(value: float, unit: str) -> str:
    """Human-readable ``value`` (seconds are scaled to s / ms / µs / ns)."""
    if unit == "s":
        for name, scale in _TIME_UNITS:
            if abs(value) >= scale or name == "ns":
                return f"{value / scale:.3g} {name}"
    if unit == "B":
        if value >= 1e6:
            return f"{value / 1e6:.3g} MB"
        if value >= 1e3:
            return f"{value / 1e3:.3g} kB"
        return f"{value:.0f} B"
    if unit:
        return f"{value:.3g} {unit}"
    return f"{value:.3g}"


def _ok_cell(ok: bool | None) -> str:
    if ok is None:
        return "–"
    return "✅ yes" if ok else "❌ **MISSED**"


def table(results: list[Result]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| benchmark | value | baseline | ratio | target | ok |",
        "|---|---:|---|---:|---|---|",
    ]
    for row in results:
        value = format_quantity(row.value, row.unit)
        if row.baseline is not None:
            baseline = format_quantity(row.baseline, row.unit)
            if row.baseline_name:
                baseline = f"{baseline} ({row.baseline_name})"
        else:
            baseline = row.baseline_name or "–"
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "–"
        name = f"{row.name} ({row.note})" if row.note else row.name
        lines.append(
            f"| {name} | {value} | {baseline} | {ratio} | {row.target or '–'} | "
            f"{_ok_cell(row.ok)} |"
        )
    return "\n".join(lines)


def summary(results: list[Result]) -> str:
    """One line: how many targets were met, and which were missed."""
    checked = [row for row in results if row.ok is not None]
    missed = [row.name for row in checked if not row.ok]
    if not missed:
        return f"All {len(checked)} targets met."
    return f"{len(missed)} of {len(checked)} targets MISSED: " + "; ".join(missed)


# ------------------------------------------------------------------------------ suites


@dataclass(frozen=True, slots=True)
class Suite:
    """A discovered benchmark module."""

    name: str
    title: str
    module: ModuleType

    def run(self) -> list[Result]:
        """Run the suite's benchmarks."""
        results: list[Result] = self.module.run()
        return results


def discover() -> dict[str, Suite]:
    """Every ``bench/*_bench.py`` module, by suite name."""
    suites: dict[str, Suite] = {}
    for info in sorted(pkgutil.iter_modules([str(BENCH_DIR)]), key=lambda i: i.name):
        if not info.name.endswith("_bench"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        name = getattr(module, "SUITE", info.name.removesuffix("_bench"))
        title = getattr(module, "TITLE", name)
        suites[name] = Suite(name, title, module)
    return suites
