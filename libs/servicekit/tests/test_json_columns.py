"""JSON columns: orjson where it is exact, ``json`` where orjson would change a value."""

from __future__ import annotations

from typing import Any

import pytest
from contractor.servicekit.db import create_engine, json_dumps, json_loads
from sqlalchemy import JSON, Column, Integer, MetaData, Table, insert, select, text

metadata = MetaData()
docs = Table(
    "kit_json_docs", metadata, Column("id", Integer, primary_key=True), Column("doc", JSON)
)

VALUES: list[Any] = [
    {"a": [1, 2.5, None, True, "é\u2028"], "nested": {"x": {"y": []}}},
    {"big": 2**70, "negative": -(2**63) - 1, "u64": 2**64 - 1},  # beyond 64 bits: exact
    {"serial": "1234567890123456789012"},  # a long digit run inside a string
    [0.1, 1e300, -0.0],
]


@pytest.mark.parametrize("value", VALUES)
def test_dumps_and_loads_give_back_the_same_value(value: Any) -> None:
    assert json_loads(json_dumps(value)) == value


def test_integers_beyond_64_bits_stay_integers() -> None:
    loaded = json_loads('{"n": 123456789012345678901234567890, "m": -9223372036854775809}')
    assert loaded == {"n": 123456789012345678901234567890, "m": -9223372036854775809}
    assert all(type(v) is int for v in loaded.values())


def test_what_orjson_refuses_is_written_by_json() -> None:
    assert json_loads(json_dumps({1: "one"})) == {"1": "one"}  # a non-string key
    assert json_dumps({"n": 2**70}) == '{"n": 1180591620717411303424}'


async def test_engine_round_trips_json_columns_exactly(kit_url: str) -> None:
    engine = create_engine(kit_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.drop_all)
            await connection.run_sync(metadata.create_all)
            await connection.execute(
                insert(docs), [{"id": i, "doc": v} for i, v in enumerate(VALUES)]
            )
        async with engine.connect() as connection:
            rows = (await connection.execute(select(docs.c.doc).order_by(docs.c.id))).all()
            stored = await connection.execute(text("SELECT doc FROM kit_json_docs WHERE id = 1"))
        assert [row.doc for row in rows] == VALUES
        assert "1180591620717411303424" in str(stored.scalar_one())  # written in full
    finally:
        await engine.dispose()
