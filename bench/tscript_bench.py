"""Benchmarks of the TScript library: execution, parsing, state save/load, host cycle.

Run with ``python -m bench tscript``. Each figure comes with a baseline measured in the same
run (plain Python, ``json``, ``compile()``); see ``NOTES`` for how each one is measured.
"""

from __future__ import annotations

import gc
import json
import time
from collections.abc import Callable
from typing import Any

from tscript import machine, state
from tscript.context import RealContext
from tscript.machine import Interpreter
from tscript.parser import parse
from tscript.plugins import Module, Registry, remote
from tscript.program import Program, compile_program

from bench import Result, best, sample

SUITE = "tscript"
TITLE = "TScript library"

SLICE = machine.DEFAULT_SLICE  # the job host's slice size (Interpreter.run(1000))
LOOP_N = 100_000
BUILTIN_N = 20_000
PARSE_LINES = 2_000
LIST_N = 10_000

NOTES = f"""\
How each figure is measured (`python -m bench tscript`; CPU time of the measuring thread
(`thread_time_ns`, so waiting for a core on the shared machine does not count), a warm-up round,
then the best of several samples, each the mean of many calls; the garbage collector stays
enabled but is run before each sample):

- **exec**: a {LOOP_N:,}-iteration `while … do begin() … end` loop, run with
  `Interpreter.run({SLICE})` slices until `done` (job start included), against the same loop
  as a plain Python function. **builtin loop**: {BUILTIN_N:,} iterations of
  `append(array=items, value=ii)` + `n = len(array=items)`, against `list.append` + `len`.
- **parse**: `tscript.parser.parse` of a generated {PARSE_LINES:,}-line script (assignments,
  plugin calls with named arguments, if/elif/else, while loops, `begin(description=…,
  max_time=…)` blocks, maps, arrays, comments), in MB/s of UTF-8 source. Baselines:
  `json.loads` of a JSON document of the same byte size, and `compile()` of the equivalent
  Python source (its own size). Ratio = baseline MB/s ÷ TScript MB/s.
- **state**: `job.save()` and `tscript.state.load()` of a job stopped mid-loop (a yielded
  slice), steady state (program cached by `compile_program`), both
  `include_source=True` (load without `program=`) and `include_source=False` (load with
  `program=`). Baseline: `json.dumps` / `json.loads` of `job.vars` alone. The size row is
  `len(saved JSON)` ÷ `len(json.dumps(job.vars))` (with the source included).
- **host cycle**: a job waiting on `sim.power_on` (a `remote(..., idempotent=True)` plugin
  function) inside a loop; one cycle = `state.load` → `deliver_result` → `run({SLICE})` up to
  the next request → `save`, with a `RealContext` (wall clock, uuid4 request ids). Baseline:
  `json.loads` + `json.dumps` of the same state text. **retained objects** counts the
  gc-tracked objects still alive (after `gc.collect()`) per cycle over 2,000 cycles — it
  should be 0 for a host that runs for weeks.

Between benchmarks the suite clears the `__traceback__` of the exception singletons of
`tscript.machine` (`YIELD`, `STOP`): re-raising a saved exception instance extends its
traceback chain, which keeps every raising frame (and its job) alive; without the reset each
benchmark would pay for the garbage of the ones before it. Inside a measurement nothing is
reset, so the figures include that cost.
"""


# ------------------------------------------------------------------------------ helpers


def _forget_tracebacks() -> None:
    """Drop the traceback chains that tscript.machine's exception singletons accumulate."""
    for value in vars(machine).values():
        if isinstance(value, BaseException):
            value.__traceback__ = None
    gc.collect()


def _run_to_end(program: Program, variables: dict[str, Any] | None = None) -> Interpreter:
    job = Interpreter.start(program, Registry(), RealContext(), variables=variables)
    while True:
        result = job.run(SLICE)
        if result.status != "yielded":
            break
    if result.status != "done":
        raise RuntimeError(f"benchmark script ended with {result.status}: {result.message}")
    return job


def _times(fn: Callable[[], object], number: int, repeat: int = 9) -> float:
    """Best-of-``repeat`` seconds per call: the least disturbed sample on a shared machine."""
    # CPU time of this thread: everything measured here (and every baseline) is single-threaded
    # and CPU-bound, and the machine is shared, so waiting for a core must not count.
    return best(sample(fn, number=number, repeat=repeat, clock=time.thread_time_ns))


def _ratio_row(
    name: str,
    value: float,
    baseline: float,
    baseline_name: str,
    limit: float,
    unit: str = "s",
    note: str = "",
) -> Result:
    """A cost compared with its baseline; the target is on the ratio."""
    ratio = value / baseline
    return Result(
        name,
        value,
        unit,
        baseline,
        baseline_name,
        ratio,
        f"ratio ≤ {limit:g}×",
        ratio <= limit,
        note,
    )


def _cost_row(
    name: str, value: float, baseline: float, baseline_name: str, limit: float, label: str
) -> Result:
    """A time compared with its baseline; the target is an absolute time."""
    return Result(
        name, value, "s", baseline, baseline_name, value / baseline, f"< {label}", value < limit
    )


# ------------------------------------------------------------------------------ 1. execution

LOOP_SOURCE = f"""\
total = 0
ii = 0
while ii < {LOOP_N} do begin()
  total = total + ii
  ii = ii + 1
end
"""


def _py_loop() -> int:
    total = 0
    ii = 0
    while ii < LOOP_N:
        total = total + ii
        ii = ii + 1
    return total


BUILTIN_SOURCE = f"""\
items = []
n = 0
ii = 0
while ii < {BUILTIN_N} do begin()
  append(array=items, value=ii)
  n = len(array=items)
  ii = ii + 1
end
"""


def _py_builtin_loop() -> int:
    items: list[int] = []
    n = 0
    ii = 0
    while ii < BUILTIN_N:
        items.append(ii)
        n = len(items)
        ii = ii + 1
    return n


def bench_execution() -> list[Result]:
    rows = []
    program = compile_program(LOOP_SOURCE)
    job = _run_to_end(program)
    if job.vars["total"] != _py_loop():
        raise RuntimeError("the TScript loop computed something else")
    _forget_tracebacks()
    value = _times(lambda: _run_to_end(program), number=1, repeat=7)
    base = _times(_py_loop, number=1, repeat=15)
    rows.append(
        _ratio_row(f"exec: {LOOP_N:,}-iteration arithmetic loop", value, base, "Python", 40)
    )

    program = compile_program(BUILTIN_SOURCE)
    job = _run_to_end(program)
    if job.vars["n"] != _py_builtin_loop():
        raise RuntimeError("the TScript builtin loop computed something else")
    _forget_tracebacks()
    value = _times(lambda: _run_to_end(program), number=1, repeat=7)
    base = _times(_py_builtin_loop, number=1, repeat=15)
    rows.append(_ratio_row(f"exec: {BUILTIN_N:,}× append + len loop", value, base, "Python", 60))
    return rows


# ------------------------------------------------------------------------------ 2. parsing


def _chunk(i: int) -> tuple[list[str], list[str]]:
    """One realistic section of a job script, in TScript and in equivalent Python."""
    ts = f"""\
# --- step {i}: provision host {i} ---
host_{i} = "web-{i:03d}.example.com"
ports_{i} = [80, 443, 8000 + {i}]
config_{i} = {{ name=host_{i}, cpus=4, memory=8192, tags=["web", "prod"], weight=1.5 }}
begin(description="provision host {i}", max_time=0:30:00)
  sim.power_on(target=host_{i}, retries=3, wait=0:05)  # ask the hardware
  status = sim.status(target=host_{i})
  if status == "up" and config_{i}["cpus"] >= 2 then
    count = count + 1
  elif status == "booting" or retries > 2 then
    retries = retries + 1
  else
    failed = true
  ii = 0
  while ii < len(array=ports_{i}) do begin()
    port = ports_{i}[ii]
    append(array=opened, value={{ host=host_{i}, port=port, open=not failed }})
    ii = ii + 1
  end
  total = total + (count * 2 - retries) / 3 % 7
end
"""
    py = f"""\
# --- step {i}: provision host {i} ---
host_{i} = "web-{i:03d}.example.com"
ports_{i} = [80, 443, 8000 + {i}]
config_{i} = {{"name": host_{i}, "cpus": 4, "memory": 8192, "tags": ["web", "prod"], "weight": 1.5}}
with block(description="provision host {i}", max_time=1800):
    sim.power_on(target=host_{i}, retries=3, wait=5)  # ask the hardware
    status = sim.status(target=host_{i})
    if status == "up" and config_{i}["cpus"] >= 2:
        count = count + 1
    elif status == "booting" or retries > 2:
        retries = retries + 1
    else:
        failed = True
    ii = 0
    while ii < len(ports_{i}):
        port = ports_{i}[ii]
        opened.append({{"host": host_{i}, "port": port, "open": not failed}})
        ii = ii + 1
    total = total + (count * 2 - retries) / 3 % 7
"""
    return ts.splitlines(), py.splitlines()


def generate_script(lines: int = PARSE_LINES) -> tuple[str, str]:
    """A TScript program of exactly ``lines`` lines, and comparable Python source."""
    ts: list[str] = ["count = 0", "retries = 0", "failed = false", "total = 0", "opened = []"]
    py: list[str] = ["count = 0", "retries = 0", "failed = False", "total = 0", "opened = []"]
    i = 0
    while True:
        ts_chunk, py_chunk = _chunk(i)
        if len(ts) + len(ts_chunk) > lines:
            break
        ts += ts_chunk
        py += py_chunk
        i += 1
    k = 0
    while len(ts) < lines:
        ts.append(f"done_{k} = count + {k}  # bookkeeping")
        py.append(f"done_{k} = count + {k}  # bookkeeping")
        k += 1
    return "\n".join(ts) + "\n", "\n".join(py) + "\n"


def _json_document(size: int) -> str:
    """A realistic JSON document (an inventory) of about ``size`` bytes."""

    def doc(n: int) -> str:
        hosts = [
            {
                "name": f"web-{i:03d}.example.com",
                "ports": [80, 443, 8000 + i],
                "cpus": 4,
                "memory": 8192,
                "tags": ["web", "prod"],
                "weight": 1.5,
                "status": "up" if i % 3 else "booting",
                "description": f"provision host {i}",
            }
            for i in range(n)
        ]
        return json.dumps({"hosts": hosts, "count": n}, indent=2)

    one = len(doc(1).encode())
    n = max(1, size // one)
    while len(doc(n).encode()) < size:
        n += 1
    return doc(n)


def bench_parsing() -> list[Result]:
    ts_source, py_source = generate_script()
    ts_bytes = len(ts_source.encode())
    parse(ts_source)  # must be valid
    json_text = _json_document(ts_bytes)
    json_bytes = len(json_text.encode())
    py_bytes = len(py_source.encode())

    ts_time = _times(lambda: parse(ts_source), number=1, repeat=7)
    json_time = _times(lambda: json.loads(json_text), number=5, repeat=7)
    py_time = _times(lambda: compile(py_source, "<bench>", "exec"), number=1, repeat=7)
    ts_rate = ts_bytes / ts_time / 1e6
    json_rate = json_bytes / json_time / 1e6
    py_rate = py_bytes / py_time / 1e6
    kb = f"{PARSE_LINES:,} lines, {ts_bytes / 1000:.0f} kB"
    return [
        Result(
            f"parse: tscript.parser.parse ({kb})",
            ts_rate,
            "MB/s",
            json_rate,
            f"json.loads, {json_bytes / 1000:.0f} kB",
            json_rate / ts_rate,
            "≥ 1 MB/s",
            ts_rate >= 1.0,
        ),
        Result(
            "parse: same, against Python compile()",
            ts_rate,
            "MB/s",
            py_rate,
            f"compile() of equivalent Python, {py_bytes / 1000:.0f} kB",
            py_rate / ts_rate,
            "",
            None,
        ),
    ]


# ------------------------------------------------------------------------------ 3. state

LIST_SOURCE = """\
total = 0
ii = 0
while ii < len(array=items) do begin()
  total = total + items[ii]
  ii = ii + 1
end
"""


def _mid_loop(source: str, variables: dict[str, Any] | None, slices: int) -> Interpreter:
    job = Interpreter.start(compile_program(source), Registry(), RealContext(), variables)
    for _ in range(slices):
        result = job.run(SLICE)
        if result.status != "yielded":
            raise RuntimeError(f"expected a job stopped mid-loop, got {result.status}")
    return job


def _state_rows(label: str, job: Interpreter, limit: float, limit_label: str) -> list[Result]:
    registry = Registry()
    ctx = RealContext()
    program = job.program
    with_source = job.save(include_source=True)
    without_source = job.save(include_source=False)
    # Round trips must reproduce the state exactly.
    for text, supplied in ((with_source, None), (without_source, program)):
        again = state.load(text, registry, ctx, program=supplied)
        if again.save(include_source=supplied is None) != text:
            raise RuntimeError("state does not survive a save/load round trip")

    number = 500 if limit < 1e-4 else 20
    variables = job.vars
    vars_json = json.dumps(variables)
    dumps_time = _times(lambda: json.dumps(variables), number=number)
    loads_time = _times(lambda: json.loads(vars_json), number=number)

    save_src = _times(lambda: job.save(include_source=True), number=number)
    save_nosrc = _times(lambda: job.save(include_source=False), number=number)
    load_src = _times(lambda: state.load(with_source, registry, ctx), number=number)
    load_nosrc = _times(
        lambda: state.load(without_source, registry, ctx, program=program), number=number
    )
    size_ratio = len(with_source.encode()) / len(vars_json.encode())
    dumps_name = "json.dumps(vars)"
    loads_name = "json.loads(vars)"
    return [
        _cost_row(
            f"state {label}: save, include_source=True",
            save_src,
            dumps_time,
            dumps_name,
            limit,
            limit_label,
        ),
        _cost_row(
            f"state {label}: save, include_source=False",
            save_nosrc,
            dumps_time,
            dumps_name,
            limit,
            limit_label,
        ),
        _cost_row(
            f"state {label}: load, with source",
            load_src,
            loads_time,
            loads_name,
            limit,
            limit_label,
        ),
        _cost_row(
            f"state {label}: load, program=",
            load_nosrc,
            loads_time,
            loads_name,
            limit,
            limit_label,
        ),
        Result(
            f"state {label}: saved size (with source)",
            len(with_source.encode()),
            "B",
            len(vars_json.encode()),
            dumps_name,
            size_ratio,
            "ratio ≤ 1.5×" if LIST_N_LABEL in label else "",
            size_ratio <= 1.5 if LIST_N_LABEL in label else None,
        ),
    ]


LIST_N_LABEL = f"{LIST_N:,}-element list"


def bench_state() -> list[Result]:
    small = _mid_loop(LOOP_SOURCE, None, 3)
    big = _mid_loop(LIST_SOURCE, {"items": list(range(LIST_N))}, 2)
    return [
        *_state_rows("small mid-loop", small, 20e-6, "20 µs"),
        *_state_rows(f"with {LIST_N_LABEL}", big, 1e-3, "1 ms"),
    ]


# ------------------------------------------------------------------------------ 4. host cycle

HOST_SOURCE = """\
count = 0
while count < 1000000000 do begin(description="power cycle")
  result = sim.power_on(target=count)
  count = count + 1
end
"""


def _host_registry() -> Registry:
    registry = Registry()
    registry.register(
        Module(
            "sim",
            functions={
                "power_on": remote("power_on", module="sim", idempotent=True, optional=("target",))
            },
        )
    )
    return registry


class HostLoop:
    """What a job host does per external call: load, deliver, run, save."""

    def __init__(self, include_source: bool) -> None:
        self.registry = _host_registry()
        self.ctx = RealContext()
        self.program = compile_program(HOST_SOURCE)
        self.include_source = include_source
        job = Interpreter.start(self.program, self.registry, self.ctx)
        result = job.run(SLICE)
        if result.status != "waiting" or result.request is None:
            raise RuntimeError(f"host script did not wait for a request: {result}")
        self.request_id: str = result.request["request_id"]
        self.text = job.save(include_source=include_source)

    def cycle(self) -> None:
        job = state.load(
            self.text,
            self.registry,
            self.ctx,
            program=None if self.include_source else self.program,
        )
        job.deliver_result(self.request_id, {"power": "on"})
        result = job.run(SLICE)
        request = result.request
        if request is None:
            raise RuntimeError(f"host cycle ended with {result.status}: {result.message}")
        self.request_id = request["request_id"]
        self.text = job.save(include_source=self.include_source)


def _retained_per_cycle(cycles: int = 2000) -> float:
    host = HostLoop(include_source=False)
    for _ in range(100):
        host.cycle()
    gc.collect()
    before = len(gc.get_objects())
    for _ in range(cycles):
        host.cycle()
    gc.collect()
    return (len(gc.get_objects()) - before) / cycles


def bench_host_cycle() -> list[Result]:
    rows = []
    for include_source in (False, True):
        _forget_tracebacks()
        host = HostLoop(include_source)
        value = _times(host.cycle, number=500, repeat=15)
        text = host.text
        base = _times(lambda text=text: json.dumps(json.loads(text)), number=500, repeat=15)
        if include_source:
            # Informational: foreman keeps each source once and saves states without it
            # (decisions.md #2), so the target applies to the row above.
            name = (
                "host cycle: load → deliver → run → save (include_source=True, not foreman's path)"
            )
            row = Result(
                name, value, "s", base, "json.loads+dumps of the state", value / base, "–", None
            )
        else:
            row = _cost_row(
                "host cycle as foreman sees it: load → deliver → run → save (program=)",
                value,
                base,
                "json.loads+dumps of the state",
                40e-6,
                "40 µs",
            )
        rows.append(row)
    _forget_tracebacks()
    retained = _retained_per_cycle()
    rows.append(
        Result(
            "host cycle: gc objects retained per cycle",
            retained,
            "objects",
            None,
            "",
            None,
            "0 (no leak)",
            retained < 0.5,
        )
    )
    return rows


# ------------------------------------------------------------------------------ the suite


def run() -> list[Result]:
    results: list[Result] = []
    for part in (bench_execution, bench_parsing, bench_state, bench_host_cycle):
        _forget_tracebacks()
        print(f"  {part.__name__} …", flush=True)
        try:
            results += part()
        except Exception as exc:  # a broken library must not hide the other figures
            results.append(
                Result(
                    f"{part.__name__}: FAILED",
                    0.0,
                    "",
                    None,
                    f"{type(exc).__name__}: {exc}",
                    None,
                    "runs",
                    False,
                )
            )
    _forget_tracebacks()
    return results
