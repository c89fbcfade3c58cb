"""``ids.uuid4``: version 4 UUIDs read from ``os.urandom`` in blocks."""

from __future__ import annotations

import os
import uuid

from contractor.servicekit import ids


def test_uuids_are_version_4_rfc_4122_and_distinct() -> None:
    made = [ids.uuid4() for _ in range(2000)]  # several blocks
    assert len(set(made)) == len(made)
    for text in made:
        parsed = uuid.UUID(text)
        assert str(parsed) == text and parsed.version == 4 and parsed.variant == uuid.RFC_4122


def test_a_forked_child_does_not_repeat_the_parents_uuids() -> None:
    ids.uuid4()  # a block is buffered now
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: send its next UUID and leave at once
        os.write(write, ids.uuid4().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 64).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child != ids.uuid4()
