"""Benchmarks of the inventory service through its real HTTP app, on PostgreSQL and SQLite.

Run with ``python -m bench inventory``. Each figure comes with a baseline measured in the same
run: the same rows fetched (or inserted) by raw SQL through asyncpg / aiosqlite directly; see
``NOTES`` for how each one is measured.

While iterating, ``INVENTORY_BENCH_ONLY`` (comma-separated, of ``list``, ``config``, ``impact``,
``next_free``, ``create``, ``floor``) and ``INVENTORY_BENCH_DB`` (``postgresql`` and/or
``sqlite``) run only some of the figures (use ``--no-write`` then); unset, everything runs.
``INVENTORY_BENCH_REPLICAS`` (default 1) sets how many serving processes the create figure uses.
"""

from __future__ import annotations

import asyncio
import gc
import json
import math
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import httptools
import httpx
from contractor.inventory import addressing, migrate, orm, store
from contractor.inventory.main import create_app
from contractor.inventory.settings import Settings
from contractor.servicekit import testing
from contractor.servicekit.auth import Role
from contractor.servicekit.db import utcnow
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import insert, make_url, update

from bench import Result, speed_probe

SUITE = "inventory"
TITLE = "Inventory service (HTTP app vs raw SQL)"

API = "/api/v1"
N_SITES_PER_LEVEL = (1, 3, 6, 15, 25)  # 50 sites, 5 levels
N_FOUNDATIONS = 10_000
N_STRUCTURES = 10_000
N_ADDRESSES = 20_000
N_MEMBERS = 1_000  # member structures of the impact complex
N_HOSTED = 1_000  # foundations hosted by the impact complex (each with a structure)
BIG_BLOCK_PG = 500_000
BIG_BLOCK_SQLITE = 500_000
CONFIG_VALUES_PER_BLUEPRINT = 20
CLIENTS = 8
CREATES_PG = int(os.environ.get("INVENTORY_BENCH_CREATES", "3000"))
CREATES_SQLITE = 500
# Inventory is stateless and scaled by replicas (design: "Running it"): on PostgreSQL the
# target row runs one serving process per CPU, as a deployment on this machine would; a
# one-process row is reported beside it. SQLite (the one-machine default) runs one process.
CREATE_REPLICAS = int(os.environ.get("INVENTORY_BENCH_REPLICAS", str(os.cpu_count() or 1)))
SERVE_START_S = 60

ROUNDS = 3  # p50 series per figure; the lowest is kept
LIST_SAMPLES = 11
FLOOR_SAMPLES = 100
CONFIG_SAMPLES = 100
IMPACT_SAMPLES = 7  # per round (ROUNDS of them, like every p50 series)
NEXT_FREE_SAMPLES = 30
NEXT_FREE_COLD_SAMPLES = 3  # one round (the raw baseline fetches every offset)

NOTES = f"""\
How each figure is measured (`python -m bench inventory`): a throwaway PostgreSQL database
(127.0.0.1:5432, user postgres, random name, dropped at the end) and a temporary SQLite file,
both migrated with `contractor.inventory.migrate.upgrade`. The app is
`create_app(Settings(...))` run inside its lifespan; requests go through
`httpx.AsyncClient(transport=ASGITransport(app))` with an admin token (`store.tokens.issue`),
in the same process and event loop (so every figure includes routing, auth, validation,
SQLAlchemy and JSON, but no socket) — every figure but *create*, which is measured as deployed:
served over HTTP by separate processes (see its entry below). Latencies are the median (p50)
of `perf_counter_ns` around each awaited request, after warm-up requests; the garbage
collector is run before each series. The machine's CPUs are shared with the database server
(and whatever else runs), so each p50 series is run {ROUNDS} times and the lowest median kept
(one series for the cold next-free baseline, which takes seconds).
Baselines use one raw connection (`asyncpg.connect` / `aiosqlite.connect`) to the same
database, measured the same way.
Ratio = route ÷ baseline (baseline ÷ route for throughput).

Seed (not measured; sites, blueprints, the template rows, the complex and the blocks through
the HTTP API, the bulk through SQLAlchemy Core `insert(table)` executemany of rows copied from
a template foundation made by the API): 50 sites in 5 levels ({N_SITES_PER_LEVEL}), each with
a zone and 5 config values; 20 blueprints in 3 levels (6 foundation, 14 structure), each with
{CONFIG_VALUES_PER_BLUEPRINT} config values (children override parents, 3 are Jinja
templates, one needs two render rounds); {N_FOUNDATIONS:,} `sim` foundations and
{N_STRUCTURES:,} structures spread over the sites; {N_ADDRESSES:,} static addresses (2 per
structure) in a /16 block; one `sim` complex with {N_MEMBERS:,} member structures that hosts
{N_HOSTED:,} of the foundations (each with a structure).

- **list**: `GET /structures?limit=1000` (one full page, full representation). Baseline:
  `SELECT * FROM structures ORDER BY id LIMIT 1001`.
- **config**: `GET /structures/{{id}}/config` (render=true, the default) of a structure on a
  level-5 site with a level-3 blueprint. Baseline: one query that returns the structure's
  values, its foundation's attributes, its site chain (recursive CTE) and every blueprint's
  values (the route loads the whole blueprint graph too) — the rows the merge is made of.
- **impact**: `GET /impact/complex/<name>?limit=10000` of the complex above: its answer is the
  {N_HOSTED:,} hosted foundations (depth 1) and their {N_HOSTED:,} structures (depth 2), with
  description, site and state (member structures are what the complex *needs*, so they are not
  in its impact). Baseline: one `UNION ALL` query returning the same 2,000 rows with the same
  columns.
- **next free**: `GET /address-blocks/{{id}}/next-free` (preview) on a /12 block holding
  {BIG_BLOCK_PG:,} addresses at offsets 1…N (PostgreSQL: one `INSERT … SELECT
  generate_series`; SQLite: {BIG_BLOCK_SQLITE:,} rows by `executemany`). Two cases:
  *cold*, `free_hint` NULL (as after a bulk import, or after addresses were created at explicit
  offsets): the first preview finds the hint stale, walks the used offsets to the first gap
  (N+1) and keeps it as `free_hint` (under the block's lock, in its own short transaction);
  that first call is timed alone and shown in the row's note, and the figure is the p50 of
  the {NEXT_FREE_SAMPLES} previews that follow it (each one probe at the kept hint). *hinted*:
  `free_hint` = N+1 set before the series (as `POST …/next-free` leaves it), p50 as usual.
  Baselines: the same offsets fetched by one raw query (`SELECT offset … ORDER BY offset`: all
  of them when cold, `>= hint LIMIT 1000` when hinted).
- **create**: the seeded database served by `python -m contractor.inventory serve` (uvicorn
  with its defaults: uvloop, httptools, access log on; output to a log file) as a process of its
  own on 127.0.0.1, with the seeding app's secret key. Inventory is stateless and scaled by
  replicas against one PostgreSQL, so on PostgreSQL the target row runs one replica per CPU
  ({CREATE_REPLICAS} here; `INVENTORY_BENCH_REPLICAS` sets another count), each a process on
  its own port with the clients spread over them as a balancer would, and a second row
  (no target) gives one replica alone; SQLite, the one-machine default, runs one process.
  {CLIENTS} concurrent clients in the benchmark process,
  each on one keep-alive HTTP/1.1 connection, send single `POST /foundations` (type `sim`) one
  after the other ({CREATES_PG:,} in all on PostgreSQL, {CREATES_SQLITE:,} on SQLite), after 3
  warm-up creates per connection; throughput = creates ÷ wall time. The load generator writes
  its requests by hand and parses the answers with httptools (uvicorn's parser): it shares the
  two CPUs with the service and PostgreSQL, and httpx would spend about 1 ms of their CPU per
  request. The note gives the p50 latency and the service's CPU time per create (user +
  system of the serving processes, from `/proc/<pid>/stat`, over the measured series).
  Baseline: the same number of single-row `INSERT INTO foundations` (autocommit) over
  {CLIENTS} concurrent raw connections.

- **reference**: `GET /sites/{{name}}` — the floor of any authenticated read through the app
  (token check, one row, routing, validation, JSON). Baseline: the raw `SELECT` of that row.
  No target; it says how much of each figure above is fixed cost.

Targets apply to the PostgreSQL rows; the SQLite rows are reported without targets. Every
app statement is a network round trip to the server (SQLAlchemy + asyncpg), and so is the
liveness check of each pooled connection a request checks out (one `SELECT 1`), so the number
of statements per request shows directly in the latencies. The token check is served from the
replica's token cache (`INVENTORY_TOKEN_CACHE_S`, 1 s): in a series, about one request a
second reads the token row (a query of its own, in its own short transaction); the others
read none.
"""


# ------------------------------------------------------------------------------ helpers


class Missing(Exception):
    """A route the benchmark needs answered 404/405: it does not exist (yet)."""


def _pack(value: int) -> bytes:
    return addressing.pack(value)


async def _p50(
    fn: Callable[[], Awaitable[object]], samples: int, warmup: int = 2, rounds: int = ROUNDS
) -> float:
    """Seconds per call of the coroutine function ``fn``: the median of ``samples`` calls.

    With ``rounds`` > 1 the series is repeated and the lowest median kept (the least disturbed
    round: the machine and its CPUs are shared with the database server).
    """
    for _ in range(warmup):
        await fn()
    medians: list[float] = []
    clock = time.perf_counter_ns
    for _ in range(rounds):
        gc.collect()
        times: list[float] = []
        for _ in range(samples):
            start = clock()
            await fn()
            times.append((clock() - start) / 1e9)
        medians.append(statistics.median(times))
    return min(medians)


def _check(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code in (404, 405) and (
        "Not Found" in response.text or "Method Not Allowed" in response.text
    ):
        raise Missing(
            f"{response.request.method} {response.request.url.path} → {response.status_code}"
        )
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} → {response.status_code}: "
            f"{response.text[:300]}"
        )
    return response.json() if response.content else None


@dataclass
class Raw:
    """One raw connection to the benchmark database (asyncpg or aiosqlite)."""

    dialect: str
    pg: asyncpg.Connection | None = None
    lite: aiosqlite.Connection | None = None

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        if self.pg is not None:
            return list(await self.pg.fetch(sql, *args))
        assert self.lite is not None
        async with self.lite.execute(sql, args) as cursor:
            return list(await cursor.fetchall())


@dataclass
class World:
    """What the seed made, for the measurements."""

    db: str  # "PostgreSQL" | "SQLite"
    url: str
    app: FastAPI
    client: httpx.AsyncClient
    headers: dict[str, str]
    raw: Raw
    secret_key: str = ""
    sites: list[list[str]] = field(default_factory=list)
    structure_ids: list[int] = field(default_factory=list)
    config_target: int = 0
    complex_name: str = "cx-impact"
    big_block: int = 0
    big_count: int = 0
    leaf_fbp: str = "fbp-a1"

    @property
    def is_pg(self) -> bool:
        return self.raw.pg is not None

    def sql(self, pg: str, lite: str | None = None) -> str:
        """PostgreSQL text with ``$n`` parameters, or its SQLite spelling with ``?``."""
        if self.is_pg:
            return pg
        if lite is not None:
            return lite
        out = pg
        for n in range(9, 0, -1):
            out = out.replace(f"${n}", "?")
        return out


@asynccontextmanager
async def _app(db: str, url: str) -> AsyncIterator[World]:
    key = Fernet.generate_key().decode()
    settings = Settings(database_url=url, secret_keys=SecretStr(key), feed_poll_interval_s=0.5)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        async with app.state.sessions() as session, session.begin():
            _, token = await store.tokens.issue(
                session,
                name="bench-admin",
                role=Role.ADMIN,
                sites=None,
                expires_at=None,
                created_by="bench",
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://inventory", timeout=120
        ) as client:
            if url.startswith("sqlite"):
                path = make_url(url).database
                assert path
                lite = await aiosqlite.connect(path)
                await lite.execute("PRAGMA busy_timeout=30000")
                raw = Raw("sqlite", lite=lite)
            else:
                dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
                raw = Raw("postgresql", pg=await asyncpg.connect(dsn))
            try:
                headers = {"Authorization": f"Bearer {token}"}
                yield World(db, url, app, client, headers, raw, secret_key=key)
            finally:
                if raw.pg is not None:
                    await raw.pg.close()
                if raw.lite is not None:
                    await raw.lite.close()


# ------------------------------------------------------------------------------ seed


def _blueprint_values(name: str, level: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for j in range(CONFIG_VALUES_PER_BLUEPRINT - 3):
        if j % 4 == 0:
            values[f"k{j:02d}"] = f"{name}-value-{j}"
        elif j % 4 == 1:
            values[f"k{j:02d}"] = j * 100 + level
        elif j % 4 == 2:
            values[f"k{j:02d}"] = [f"{name}-{j}-a", f"{name}-{j}-b", level]
        else:
            values[f"{name}-own-{j:02d}"] = {"level": level, "name": name, "on": True}
    values["t17"] = "{{ k00 }}/{{ k01 }}"
    values["t18"] = "{{ t17 }}-two-rounds"
    values["t19"] = "{{ missing_key|default('fallback') }}"
    return values


async def _post(w: World, path: str, body: dict[str, Any]) -> Any:
    return _check(await w.client.post(API + path, json=body, headers=w.headers), 201)


async def seed(w: World, big: int) -> None:
    """Build the benchmark's inventory (not measured)."""
    # Sites: 5 levels, each a child of the level above (round robin).
    for level, count in enumerate(N_SITES_PER_LEVEL):
        names = [f"s{level}-{i:02d}" for i in range(count)]
        for i, name in enumerate(names):
            parent = w.sites[level - 1][i % len(w.sites[level - 1])] if level else None
            await _post(
                w,
                "/sites",
                {
                    "name": name,
                    "description": f"level {level}",
                    "parent": parent,
                    "zone": f"{name}.bench.example.com",
                    "config_values": {
                        f"site_l{level}": name,
                        "ntp": [f"ntp{level}.example.com"],
                        "dns_search": f"{name}.bench.example.com",
                        f"site_l{level}_n": level,
                        "k05": f"site-{name}",
                    },
                },
            )
        w.sites.append(names)
    leaves = w.sites[-1]
    # Blueprints: 3 levels of foundation (1+2+3) and structure (1+4+9) blueprints.
    fbps = {"fbp-root": [], "fbp-a": ["fbp-root"], "fbp-b": ["fbp-root"]}
    fbps |= {"fbp-a1": ["fbp-a"], "fbp-a2": ["fbp-a"], "fbp-b1": ["fbp-b"]}
    for name, parents in fbps.items():
        await _post(
            w,
            "/blueprints/foundation",
            {
                "name": name,
                "description": name,
                "parents": parents,
                "foundation_types": ["sim"],
                "config_values": _blueprint_values(name, name.count("-") + len(parents)),
            },
        )
    sbps: dict[str, list[str]] = {"sbp-root": []}
    mids = [f"sbp-{c}" for c in "abcd"]
    sbps |= {m: ["sbp-root"] for m in mids}
    sbp_leaves = [f"{mids[i % 4]}{i}" for i in range(9)]
    sbps |= {leaf: [mids[i % 4]] for i, leaf in enumerate(sbp_leaves)}
    for name, parents in sbps.items():
        level = 0 if not parents else (1 if name in mids else 2)
        await _post(
            w,
            "/blueprints/structure",
            {
                "name": name,
                "description": name,
                "parents": parents,
                "foundation_blueprints": list(fbps),
                "config_values": _blueprint_values(name, level),
            },
        )
    fbp_leaves = ["fbp-a1", "fbp-a2", "fbp-b1"]
    # A template foundation and structure made by the API; the bulk copies their rows.
    await _post(
        w,
        "/foundations",
        {"locator": "tmpl-f", "site": leaves[0], "blueprint": "fbp-a1", "type": "sim"},
    )
    await _post(
        w,
        "/structures",
        {
            "hostname": "tmpl-s",
            "site": leaves[0],
            "blueprint": sbp_leaves[0],
            "foundation": "tmpl-f",
            "config_values": {"own": "x"},
        },
    )
    async with w.app.state.sessions() as session:
        tmpl_f = await session.get(orm.Foundation, "tmpl-f")
        assert tmpl_f is not None
    all_sites = [s for level in w.sites for s in level]
    now = utcnow()
    common = {"created_at": now, "updated_at": now, "version": 1}
    foundations = []
    structures = []
    for i in range(N_FOUNDATIONS):
        site = leaves[i % len(leaves)] if i % 5 else all_sites[i % len(all_sites)]
        hosted = i >= N_FOUNDATIONS - N_HOSTED
        foundations.append(
            {
                "locator": f"f-{i:05d}",
                "site": site,
                "blueprint": fbp_leaves[i % 3],
                "type": "sim",
                "complex": None,
                "serial": None,
                "attributes": tmpl_f.attributes,
                "sealed_secrets": tmpl_f.sealed_secrets,
                "state": "planned",
                "job_id": None,
                **common,
            }
        )
        if i < N_STRUCTURES:
            structures.append(
                {
                    "hostname": f"h{i:05d}" + ("-vm" if hosted else ""),
                    "site": site,
                    "blueprint": sbp_leaves[i % len(sbp_leaves)],
                    "foundation": f"f-{i:05d}",
                    "config_values": {"own": i, "k03": f"own-{i}", "role": "web"},
                    "config_uuid": str(uuid.uuid4()),
                    "state": "planned",
                    "job_id": None,
                    **common,
                }
            )
    async with w.app.state.sessions() as session, session.begin():
        await session.execute(insert(orm.Foundation.__table__), foundations)
        await session.execute(insert(orm.Structure.__table__), structures)
    ids = [
        row[0]
        for row in await w.raw.fetch(
            "SELECT id FROM structures WHERE hostname LIKE 'h%' ORDER BY id"
        )
    ]
    w.structure_ids = ids
    # A structure on a level-5 site with a level-3 blueprint (every 5th is not on a leaf).
    w.config_target = ids[N_STRUCTURES // 2 + 1]
    # The impact complex: members are the first structures; it hosts the last foundations.
    await _post(
        w,
        "/complexes",
        {"name": w.complex_name, "site": w.sites[0][0], "description": "impact", "type": "sim"},
    )
    async with w.app.state.sessions() as session, session.begin():
        await session.execute(
            insert(orm.ComplexMember.__table__),
            [{"complex": w.complex_name, "structure": sid} for sid in ids[:N_MEMBERS]],
        )
        await session.execute(
            update(orm.Foundation)
            .where(orm.Foundation.locator >= f"f-{N_FOUNDATIONS - N_HOSTED:05d}")
            .where(orm.Foundation.locator < "g")
            .values(complex=w.complex_name)
        )
    # Addresses: 2 static addresses per structure in a /16.
    block = await _post(
        w,
        "/address-blocks",
        {"site": w.sites[0][0], "name": "main", "subnet": "10.0.0.0", "prefix": 16},
    )
    rows = [
        {
            "kind": "address",
            "address_block": block["id"],
            "offset": _pack(n + 1),
            "structure": ids[n // 2],
            "interface_name": f"eth{n % 2}",
            "is_primary": n % 2 == 0,
            **common,
        }
        for n in range(N_ADDRESSES)
    ]
    async with w.app.state.sessions() as session, session.begin():
        await session.execute(insert(orm.Address.__table__), rows)
    # The big block: offsets 1…big, free_hint left NULL.
    bigb = await _post(
        w,
        "/address-blocks",
        {"site": w.sites[0][0], "name": "big", "subnet": "10.16.0.0", "prefix": 12},
    )
    w.big_block, w.big_count = bigb["id"], big
    if w.raw.pg is not None:
        await w.raw.pg.execute(
            """INSERT INTO addresses (kind, address_block, "offset", is_primary, reason,
                                      created_at, updated_at, version)
               SELECT 'reserved', $1, decode(lpad(to_hex(g), 32, '0'), 'hex'), false, 'bench',
                      now(), now(), 1
               FROM generate_series(1, $2::int) AS g""",
            w.big_block,
            big,
        )
        await w.raw.pg.execute("ANALYZE")
    else:
        _sqlite_big_block(w, big)


def _sqlite_big_block(w: World, big: int) -> None:
    path = make_url(w.url).database
    assert path
    with sqlite3.connect(path, timeout=30) as connection:
        stamp = connection.execute("SELECT created_at FROM addresses LIMIT 1").fetchone()[0]
        connection.executemany(
            'INSERT INTO addresses (kind, address_block, "offset", is_primary, reason, '
            "created_at, updated_at, version) VALUES ('reserved', ?, ?, 0, 'bench', ?, ?, 1)",
            ((w.big_block, _pack(n), stamp, stamp) for n in range(1, big + 1)),
        )
        connection.execute("ANALYZE")


# ------------------------------------------------------------------------------ measurements


def _row(
    w: World,
    name: str,
    value: float,
    baseline: float,
    baseline_name: str,
    limit: float | None,
    label: str,
    *,
    throughput: bool = False,
    note: str = "",
) -> Result:
    unit = "/s" if throughput else "s"
    ratio = (baseline / value if throughput else value / baseline) if value and baseline else None
    target, ok = "", None
    if limit is not None and w.is_pg:
        target = label
        ok = value >= limit if throughput else value < limit
    return Result(f"{w.db}: {name}", value, unit, baseline, baseline_name, ratio, target, ok, note)


def _failed(w: World, name: str, why: str, label: str) -> Result:
    return Result(
        f"{w.db}: {name}",
        math.nan,
        "",
        None,
        "",
        None,
        label if w.is_pg else "",
        False if w.is_pg else None,
        f"FAILED: {why}",
    )


async def bench_list(w: World) -> Result:
    name = "list 1,000 structures (one page, full representation), p50"

    async def route() -> None:
        body = _check(await w.client.get(f"{API}/structures?limit=1000", headers=w.headers))
        assert len(body["items"]) == 1000

    async def raw() -> None:
        rows = await w.raw.fetch("SELECT * FROM structures ORDER BY id LIMIT 1001")
        assert len(rows) == 1001

    value = await _p50(route, LIST_SAMPLES)
    baseline = await _p50(raw, LIST_SAMPLES)
    return _row(w, name, value, baseline, "raw SELECT … LIMIT 1001", 0.150, "p50 < 150 ms")


async def bench_floor(w: World) -> Result:
    name = "reference: authenticated GET /sites/{name} (one row), p50"
    site = w.sites[-1][0]

    async def route() -> None:
        r = await w.client.get(f"{API}/sites/{site}", headers=w.headers)
        assert r.status_code == 200, r.text

    sql = w.sql("SELECT * FROM sites WHERE name = $1")

    async def raw() -> None:
        assert len(await w.raw.fetch(sql, site)) == 1

    value = await _p50(route, FLOOR_SAMPLES, warmup=10)
    baseline = await _p50(raw, FLOOR_SAMPLES, warmup=10)
    return _row(w, name, value, baseline, "raw SELECT of the row", None, "")


CONFIG_SQL_PG = """
WITH RECURSIVE chain(name, parent, config_values, depth) AS (
    SELECT name, parent, config_values, 0 FROM sites
    WHERE name = (SELECT site FROM structures WHERE id = $1)
  UNION ALL
    SELECT p.name, p.parent, p.config_values, c.depth + 1
    FROM sites p JOIN chain c ON p.name = c.parent
)
SELECT s.config_values, s.hostname, s.config_uuid, f.attributes, f.type,
       (SELECT json_agg(config_values ORDER BY depth DESC) FROM chain) AS sites,
       (SELECT json_agg(json_build_array(name, parents, config_values)) FROM blueprints) AS bps
FROM structures s JOIN foundations f ON f.locator = s.foundation
WHERE s.id = $1
"""

CONFIG_SQL_LITE = """
WITH RECURSIVE chain(name, parent, config_values, depth) AS (
    SELECT name, parent, config_values, 0 FROM sites
    WHERE name = (SELECT site FROM structures WHERE id = ?1)
  UNION ALL
    SELECT p.name, p.parent, p.config_values, c.depth + 1
    FROM sites p JOIN chain c ON p.name = c.parent
)
SELECT s.config_values, s.hostname, s.config_uuid, f.attributes, f.type,
       (SELECT json_group_array(json(config_values)) FROM
           (SELECT config_values FROM chain ORDER BY depth DESC)) AS sites,
       (SELECT json_group_array(json_array(name, json(parents), json(config_values)))
        FROM blueprints) AS bps
FROM structures s JOIN foundations f ON f.locator = s.foundation
WHERE s.id = ?1
"""


async def bench_config(w: World) -> Result:
    name = "merged config of one structure, rendered, p50"
    sid = w.config_target
    first = _check(await w.client.get(f"{API}/structures/{sid}/config", headers=w.headers))
    assert first.get("t18", "").endswith("-two-rounds") and "{{" not in first["t18"], first

    async def route() -> None:
        r = await w.client.get(f"{API}/structures/{sid}/config", headers=w.headers)
        assert r.status_code == 200

    sql = w.sql(CONFIG_SQL_PG, CONFIG_SQL_LITE)

    async def raw() -> None:
        rows = await w.raw.fetch(sql, sid)
        assert len(rows) == 1

    value = await _p50(route, CONFIG_SAMPLES, warmup=10)
    baseline = await _p50(raw, CONFIG_SAMPLES, warmup=10)
    note = f"{len(first)} keys"
    return _row(
        w, name, value, baseline, "raw rows of the merge, 1 query", 0.005, "p50 < 5 ms", note=note
    )


IMPACT_SQL = """
SELECT 'foundation' AS kind, f.locator AS key, f.locator AS description, f.site, f.state
FROM foundations f WHERE f.complex = $1
UNION ALL
SELECT 'structure', CAST(s.id AS TEXT), s.hostname, s.site, s.state
FROM structures s JOIN foundations f ON f.locator = s.foundation WHERE f.complex = $1
"""


async def bench_impact(w: World) -> Result:
    name = f"impact of a complex ({N_MEMBERS:,} members, hosts {N_HOSTED:,} foundations), p50"
    path = f"{API}/impact/complex/{w.complex_name}?limit=10000"
    first = _check(await w.client.get(path, headers=w.headers))
    want = {"structure": N_HOSTED, "foundation": N_HOSTED, "complex": 0, "dependency": 0}
    assert first["counts"] == want, first["counts"]
    assert len(first["items"]) == 2 * N_HOSTED and not first["truncated"]

    async def route() -> None:
        r = await w.client.get(path, headers=w.headers)
        assert r.status_code == 200

    sql = w.sql(IMPACT_SQL, IMPACT_SQL.replace("$1", "?1"))

    async def raw() -> None:
        rows = await w.raw.fetch(sql, w.complex_name)
        assert len(rows) == 2 * N_HOSTED

    value = await _p50(route, IMPACT_SAMPLES)
    baseline = await _p50(raw, IMPACT_SAMPLES)
    return _row(
        w,
        name,
        value,
        baseline,
        "raw UNION ALL, same 2,000 rows",
        0.050,
        "< 50 ms",
        note="2,000 items",
    )


async def bench_next_free(w: World) -> list[Result]:
    n = w.big_count
    path = f"{API}/address-blocks/{w.big_block}/next-free"
    results = []

    async def route() -> None:
        body = _check(await w.client.get(path, headers=w.headers))
        assert body["offset"] == n + 1, body

    all_sql = w.sql('SELECT "offset" FROM addresses WHERE address_block = $1 ORDER BY "offset"')

    async def raw_all() -> None:
        rows = await w.raw.fetch(all_sql, w.big_block)
        assert len(rows) == n

    where = f"next free address, {n:,} allocated"
    gc.collect()
    start = time.perf_counter_ns()
    await route()  # finds free_hint NULL: walks to the first gap and keeps it as the hint
    first = (time.perf_counter_ns() - start) / 1e9
    value = await _p50(route, NEXT_FREE_SAMPLES, warmup=0, rounds=1)
    baseline = await _p50(raw_all, NEXT_FREE_COLD_SAMPLES, warmup=1, rounds=1)
    results.append(
        _row(
            w,
            f"{where}, free_hint NULL (after bulk import), p50 of the previews after the first",
            value,
            baseline,
            f"raw SELECT of the {n:,} offsets",
            0.005,
            "< 5 ms",
            note=f"first call {first * 1e3:.0f} ms: walks, keeps free_hint",
        )
    )
    hint = _pack(n + 1)
    async with w.app.state.sessions() as session, session.begin():
        await session.execute(
            update(orm.AddressBlock)
            .where(orm.AddressBlock.id == w.big_block)
            .values(free_hint=hint)
        )
    hint_sql = w.sql(
        'SELECT "offset" FROM addresses WHERE address_block = $1 AND "offset" >= $2 '
        'ORDER BY "offset" LIMIT 1000'
    )

    async def raw_hint() -> None:
        await w.raw.fetch(hint_sql, w.big_block, hint)

    value = await _p50(route, NEXT_FREE_SAMPLES)
    baseline = await _p50(raw_hint, NEXT_FREE_SAMPLES)
    results.append(
        _row(
            w,
            f"{where}, free_hint set (as allocations leave it), p50",
            value,
            baseline,
            "raw SELECT … >= hint LIMIT 1000",
            0.005,
            "< 5 ms",
        )
    )
    return results


@dataclass
class Replica:
    """One ``python -m contractor.inventory serve`` process of the create benchmark."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the process has used so far (Linux ``/proc``)."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@asynccontextmanager
async def _served(w: World, count: int, logs: Path) -> AsyncIterator[list[Replica]]:
    """``count`` inventory replicas serving the benchmark database, as deployed.

    Each is ``python -m contractor.inventory serve`` (uvicorn, its defaults) on a free port of
    127.0.0.1, with the same database and secret key as the seeding app; its output goes to a
    log file. They are stopped by PID (SIGINT, then SIGKILL if one lingers).
    """
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": w.url,
        "INVENTORY_SECRET_KEYS": w.secret_key,
    }
    replicas: list[Replica] = []
    try:
        for n in range(count):
            port = _free_port()
            log = logs / f"inventory-{n}.log"
            with log.open("wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "contractor.inventory", "serve", "--port", str(port)],
                    env=env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                )
            replicas.append(Replica(process, f"http://127.0.0.1:{port}", log))
        async with httpx.AsyncClient(timeout=5) as probe:
            for replica in replicas:
                await _wait_ready(probe, replica)
        yield replicas
    finally:
        for replica in replicas:
            if replica.process.poll() is None:
                replica.process.send_signal(signal.SIGINT)
        for replica in replicas:
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait(timeout=10)


async def _wait_ready(probe: httpx.AsyncClient, replica: Replica) -> None:
    deadline = time.monotonic() + SERVE_START_S
    while time.monotonic() < deadline:
        if replica.process.poll() is not None:
            tail = replica.log.read_text(errors="replace")[-500:]
            raise RuntimeError(f"inventory replica exited at start: {tail}")
        try:
            if (await probe.get(f"{replica.url}/readyz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise RuntimeError(f"inventory replica at {replica.url} not ready in {SERVE_START_S} s")


class _Connection:
    """One keep-alive HTTP/1.1 connection of the create benchmark's load generator.

    Requests written by hand and responses parsed by ``httptools`` (uvicorn's parser): a
    fraction of httpx's CPU per request, which matters when the load generator shares the
    machine's two CPUs with the service and the database.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, head: str):
        self.reader, self.writer, self.head = reader, writer, head
        self._body: list[bytes] = []
        self._complete = False

    @classmethod
    async def open(cls, url: str, headers: dict[str, str]) -> _Connection:
        """Connect to the server at ``url``; ``headers`` go with every request."""
        target = httpx.URL(url)
        assert target.port is not None
        reader, writer = await asyncio.open_connection(target.host, target.port)
        lines = [f"Host: {target.host}:{target.port}", "Content-Type: application/json"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        return cls(reader, writer, "".join(f"{line}\r\n" for line in lines))

    def on_body(self, data: bytes) -> None:  # httptools callback
        self._body.append(data)

    def on_message_complete(self) -> None:  # httptools callback
        self._complete = True

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, bytes]:
        """``POST`` a JSON body; the answer's status and body."""
        data = json.dumps(body).encode()
        request = f"POST {path} HTTP/1.1\r\n{self.head}Content-Length: {len(data)}\r\n\r\n"
        self.writer.write(request.encode() + data)
        self._body, self._complete = [], False
        parser = httptools.HttpResponseParser(self)
        while not self._complete:
            chunk = await self.reader.read(65536)
            if not chunk:
                raise ConnectionError("the server closed the connection")
            parser.feed_data(chunk)
        return parser.get_status_code(), b"".join(self._body)

    async def close(self) -> None:
        """Close the connection."""
        self.writer.close()
        await self.writer.wait_closed()


async def _create_series(
    w: World, replicas: int, total: int, prefix: str
) -> tuple[float, list[float], float]:
    """``total`` single creates by ``CLIENTS`` clients over ``replicas`` serving processes.

    Returns creates per second, the latencies, and the servers' CPU seconds per create.
    """
    site = w.sites[-1][1]
    latencies: list[float] = []

    def body(locator: str) -> dict[str, Any]:
        return {"locator": locator, "site": site, "blueprint": w.leaf_fbp, "type": "sim"}

    async def post(http: _Connection, locator: str) -> None:
        status, answer = await http.post(f"{API}/foundations", body(locator))
        if status != 201:
            raise RuntimeError(f"POST {API}/foundations → {status}: {answer[:300]!r}")

    with tempfile.TemporaryDirectory(prefix="inventory-bench-") as logs:
        async with _served(w, replicas, Path(logs)) as servers:
            # One connection per client, spread over the replicas as a balancer would.
            clients = [
                await _Connection.open(servers[k % len(servers)].url, w.headers)
                for k in range(CLIENTS)
            ]
            try:

                async def client(k: int) -> None:
                    for i in range(k, total, CLIENTS):
                        start = time.perf_counter_ns()
                        await post(clients[k], f"{prefix}-{i:05d}")
                        latencies.append((time.perf_counter_ns() - start) / 1e9)

                for n in range(3):  # warm-up (not counted): every connection, a few times
                    await asyncio.gather(
                        *(post(http, f"{prefix}-warm-{n}-{k}") for k, http in enumerate(clients))
                    )
                gc.collect()
                cpu = [r.cpu_seconds() for r in servers]
                start = time.perf_counter()
                await asyncio.gather(*(client(k) for k in range(CLIENTS)))
                rate = total / (time.perf_counter() - start)
                cpu = [r.cpu_seconds() - c for r, c in zip(servers, cpu, strict=True)]
            finally:
                for http in clients:
                    await http.close()
    return rate, latencies, sum(cpu) / total


def _served_by(replicas: int) -> str:
    return "one replica process" if replicas == 1 else f"{replicas} replica processes"


async def bench_create(w: World) -> list[Result]:
    total = CREATES_PG if w.is_pg else CREATES_SQLITE
    series = [CREATE_REPLICAS] if w.is_pg else [1]
    if w.is_pg and CREATE_REPLICAS != 1:
        series.append(1)  # the one-process figure beside it, no target
    measured = [
        (replicas, *await _create_series(w, replicas, total, f"new{replicas}"))
        for replicas in series
    ]
    site = w.sites[-1][1]

    async with w.app.state.sessions() as session:
        tmpl = await session.get(orm.Foundation, "tmpl-f")
        assert tmpl is not None
    stamp = utcnow()
    if w.raw.pg is not None:
        dsn = make_url(w.url).set(drivername="postgresql").render_as_string(False)
        conns: list[Any] = [await asyncpg.connect(dsn) for _ in range(CLIENTS)]
        sql = (
            "INSERT INTO foundations (locator, site, blueprint, type, attributes, state, "
            "created_at, updated_at, version) VALUES ($1, $2, $3, 'sim', $4::json, 'planned', "
            "$5, $5, 1)"
        )
        attrs = json.dumps(tmpl.attributes)

        async def raw_client(k: int) -> None:
            for i in range(k, total, CLIENTS):
                await conns[k].execute(sql, f"raw-{i:05d}", site, w.leaf_fbp, attrs, stamp)
    else:
        path = make_url(w.url).database
        assert path
        conns = []
        for _ in range(CLIENTS):
            c = await aiosqlite.connect(path, isolation_level=None)
            await c.execute("PRAGMA busy_timeout=30000")
            conns.append(c)
        row = await w.raw.fetch("SELECT attributes, created_at FROM foundations LIMIT 1")
        attrs, text_stamp = row[0]
        sql = (
            "INSERT INTO foundations (locator, site, blueprint, type, attributes, state, "
            "created_at, updated_at, version) VALUES (?, ?, ?, 'sim', ?, 'planned', ?, ?, 1)"
        )

        async def raw_client(k: int) -> None:
            for i in range(k, total, CLIENTS):
                await conns[k].execute(
                    sql, (f"raw-{i:05d}", site, w.leaf_fbp, attrs, text_stamp, text_stamp)
                )

    gc.collect()
    start = time.perf_counter()
    await asyncio.gather(*(raw_client(k) for k in range(CLIENTS)))
    raw_rate = total / (time.perf_counter() - start)
    for c in conns:
        await c.close()
    results = []
    for replicas, rate, latencies, cpu in measured:
        note = (
            f"{total:,} creates, p50 latency {statistics.median(latencies) * 1e3:.1f} ms, "
            f"server CPU {cpu * 1e3:.2f} ms per create"
        )
        name = (
            f"create foundations, {CLIENTS} concurrent clients × single POST, "
            f"served by {_served_by(replicas)}"
        )
        first = replicas == series[0]
        results.append(
            _row(
                w,
                name,
                rate,
                raw_rate,
                f"raw single INSERTs, {CLIENTS} connections",
                500 if first else None,
                "≥ 500 /s",
                throughput=True,
                note=note,
            )
        )
    return results


def _selected(variable: str) -> set[str] | None:
    """The comma-separated words of an environment variable (``None``: unset, run all)."""
    raw = os.environ.get(variable, "").strip()
    return {word.strip() for word in raw.split(",") if word.strip()} if raw else None


async def _measure(w: World) -> list[Result]:
    results: list[Result] = []
    steps: list[tuple[str, str, Callable[[World], Awaitable[Result | list[Result]]]]] = [
        ("list 1,000 structures", "p50 < 150 ms", bench_list),
        ("merged config of one structure", "p50 < 5 ms", bench_config),
        ("impact of a complex", "< 50 ms", bench_impact),
        ("next free address", "< 5 ms", bench_next_free),
        ("create foundations", "≥ 500 /s", bench_create),
        ("reference: authenticated GET", "", bench_floor),
    ]
    only = _selected("INVENTORY_BENCH_ONLY")
    for label, target, step in steps:
        if only is not None and step.__name__.removeprefix("bench_") not in only:
            continue
        started = time.perf_counter()
        try:
            got = await step(w)
        except Missing as exc:
            results.append(_failed(w, label, f"route missing: {exc}", target))
            continue
        except Exception as exc:  # report, do not abort the suite
            results.append(_failed(w, label, f"{type(exc).__name__}: {exc}"[:200], target))
            continue
        results.extend(got if isinstance(got, list) else [got])
        print(f"  {w.db}: {label} ({time.perf_counter() - started:.1f} s)", flush=True)
    return results


async def _one_database(db: str, url: str, big: int) -> list[Result]:
    started = time.perf_counter()
    await migrate.upgrade(url)
    async with _app(db, url) as w:
        await seed(w, big)
        print(f"  {db}: seeded in {time.perf_counter() - started:.1f} s", flush=True)
        return await _measure(w)


_PG_VERSION = ["PostgreSQL not reached"]


async def _run() -> list[Result]:
    results: list[Result] = []
    databases = _selected("INVENTORY_BENCH_DB") or {"postgresql", "sqlite"}
    admin = testing.admin_url()
    if "postgresql" not in databases:
        pass
    elif await testing.postgres_available(admin):
        async with testing.throwaway_database(admin, "inventory_bench") as url:
            dsn = make_url(url).set(drivername="postgresql").render_as_string(False)
            connection = await asyncpg.connect(dsn)
            version = await connection.fetchval("SHOW server_version")
            await connection.close()
            _PG_VERSION[0] = f"PostgreSQL server {version}"
            results += await _one_database("PostgreSQL", url, BIG_BLOCK_PG)
    else:
        results.append(
            Result(
                "PostgreSQL",
                math.nan,
                "",
                None,
                "",
                None,
                "reachable",
                False,
                f"FAILED: not reachable at {admin}",
            )
        )
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite+aiosqlite:///{Path(tmp) / 'inventory.sqlite3'}"
            results += await _one_database("SQLite", url, BIG_BLOCK_SQLITE)
    return results


def _conditions(when: str) -> str:
    one, five, _ = os.getloadavg()
    return f"{when}: load average {one:.2f} (1 min) / {five:.2f} (5 min)"


def run() -> list[Result]:
    global NOTES
    before = _conditions("before")
    results = [speed_probe(), *asyncio.run(_run())]
    NOTES += (
        f"\nRun conditions: {os.cpu_count()} CPUs shared with the PostgreSQL server (and with any"
        f" other work on the machine); {before}, {_conditions('after')}. {_PG_VERSION[0]}.\n"
    )
    return results
