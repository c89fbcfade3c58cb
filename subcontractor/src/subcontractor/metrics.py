"""Prometheus metrics of the agent (foreman.md §8.9), served as text on ``metrics_listen``.

Plain counters and histograms in memory; the server is a few lines of HTTP/1.0 on anyio,
so the agent needs no metrics library.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import anyio
from anyio.abc import SocketStream

log = logging.getLogger("subcontractor.metrics")

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
Labels = tuple[tuple[str, str], ...]


@dataclass
class Histogram:
    """Cumulative buckets, sum and count for one label set."""

    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        """Add one observation."""
        for index, bound in enumerate(BUCKETS):
            if value <= bound:
                self.counts[index] += 1
        self.total += value
        self.count += 1


@dataclass
class Metrics:
    """Everything the agent measures."""

    task_seconds: dict[Labels, Histogram] = field(default_factory=dict)
    poll_seconds: Histogram = field(default_factory=Histogram)
    foreman_errors: Counter[str] = field(default_factory=Counter)

    def task_done(self, module: str, function: str, outcome: str, seconds: float) -> None:
        """Record one task execution and how it ended."""
        labels = (("module", module), ("function", function), ("outcome", outcome))
        self.task_seconds.setdefault(labels, Histogram()).observe(seconds)

    def foreman_error(self, kind: str) -> None:
        """Count a failed call to foreman by its class (``retry``, ``reauth``, …)."""
        self.foreman_errors[kind] += 1

    def render(self, running: dict[str, int], spool_items: int) -> str:
        """The Prometheus text exposition."""
        lines = ["# TYPE contractor_agent_tasks_running gauge"]
        lines += [
            f'contractor_agent_tasks_running{{module="{m}"}} {n}'
            for m, n in sorted(running.items())
        ]
        lines.append("# TYPE contractor_agent_task_seconds histogram")
        for labels, histogram in sorted(self.task_seconds.items()):
            lines += _histogram("contractor_agent_task_seconds", labels, histogram)
        lines.append("# TYPE contractor_agent_poll_seconds histogram")
        lines += _histogram("contractor_agent_poll_seconds", (), self.poll_seconds)
        lines.append("# TYPE contractor_agent_foreman_errors_total counter")
        lines += [
            f'contractor_agent_foreman_errors_total{{class="{kind}"}} {n}'
            for kind, n in sorted(self.foreman_errors.items())
        ]
        lines += [
            "# TYPE contractor_agent_spool_items gauge",
            f"contractor_agent_spool_items {spool_items}",
        ]
        return "\n".join(lines) + "\n"


def _histogram(name: str, labels: Labels, histogram: Histogram) -> Iterable[str]:
    base = ",".join(f'{key}="{value}"' for key, value in labels)
    joined = f"{base}," if base else ""
    for bound, count in zip(BUCKETS, histogram.counts, strict=True):
        yield f'{name}_bucket{{{joined}le="{bound}"}} {count}'
    yield f'{name}_bucket{{{joined}le="+Inf"}} {histogram.count}'
    suffix = f"{{{base}}}" if base else ""
    yield f"{name}_sum{suffix} {histogram.total}"
    yield f"{name}_count{suffix} {histogram.count}"


async def serve_metrics(
    listen: str, render: Callable[[], str], bound: Callable[[int], None]
) -> None:
    """Serve ``GET /metrics`` on ``host:port`` until cancelled; ``bound`` learns the port."""
    host, _, port = listen.rpartition(":")
    listener = await anyio.create_tcp_listener(local_host=host or "127.0.0.1", local_port=int(port))
    bound(listener.extra(anyio.abc.SocketAttribute.local_port))

    async def answer(stream: SocketStream) -> None:
        async with stream:
            try:
                with anyio.fail_after(10):
                    request = await _read_head(stream)
                ok = request.startswith(("GET /metrics ", "GET /metrics?"))
                body = render() if ok else "not found\n"
                status = "200 OK" if ok else "404 Not Found"
                head = (
                    f"HTTP/1.0 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n"
                    f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n"
                )
                await stream.send((head + body).encode())
            except (TimeoutError, anyio.BrokenResourceError, anyio.EndOfStream, OSError) as exc:
                log.debug("metrics request failed: %s", exc)

    async with listener:
        await listener.serve(answer)


async def _read_head(stream: SocketStream) -> str:
    data = b""
    while b"\r\n\r\n" not in data and len(data) < 16384:
        data += await stream.receive()
    return data.decode("latin-1")
