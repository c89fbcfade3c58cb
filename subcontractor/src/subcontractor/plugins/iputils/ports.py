"""TCP port checks with a timeout."""

from __future__ import annotations

import errno
import time
from typing import Literal

import anyio

PortState = Literal["open", "closed", "timeout", "unreachable"]


async def port_check(host: str, port: int, timeout: float) -> tuple[PortState, float]:
    """Try to connect once; return the state and the milliseconds it took to learn it."""
    started = time.monotonic()
    state: PortState
    try:
        with anyio.fail_after(timeout):
            stream = await anyio.connect_tcp(host, port)
        await stream.aclose()
        state = "open"
    except TimeoutError:
        state = "timeout"
    except OSError as exc:
        state = "closed" if _refused(exc) else "unreachable"
    return state, (time.monotonic() - started) * 1000.0


def _refused(exc: OSError) -> bool:
    # anyio may group the errors of several addresses; any refusal means a host answered.
    if isinstance(exc, ConnectionRefusedError) or exc.errno == errno.ECONNREFUSED:
        return True
    causes = getattr(exc, "exceptions", None) or [exc.__cause__]
    return any(isinstance(cause, ConnectionRefusedError) for cause in causes if cause)
