"""Random (version 4) UUIDs, with one ``os.urandom`` call per 256 of them.

``uuid.uuid4()`` makes one ``getrandom`` system call per UUID; an outbox writes two events per
task round trip, and the calls showed in profiles. These come from the same source, read in
blocks: as random, and as unique.
"""

from __future__ import annotations

import os
import threading

_BLOCK = 16 * 256
_lock = threading.Lock()
_buffer = b""
_offset = 0


def uuid4() -> str:
    """A new random UUID, as text (``str(uuid.uuid4())``)."""
    global _buffer, _offset
    with _lock:
        if _offset >= len(_buffer):
            _buffer = os.urandom(_BLOCK)
            _offset = 0
        raw = bytearray(_buffer[_offset : _offset + 16])
        _offset += 16
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _forget() -> None:
    """In a forked child, never hand out what the parent may hand out too."""
    global _buffer, _offset
    _buffer, _offset = b"", 0


os.register_at_fork(after_in_child=_forget)
