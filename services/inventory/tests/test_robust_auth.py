"""Every route of the OpenAPI document against every role (§12.1, §12.2, §13.2, §13.3).

The existing token tests probe a few routes; these walk the whole document. Each refused request
is made against real objects with a valid body, so that a missing check would really change
something, and the whole database (less ``tokens.last_used_at``, which §13.1 lets any use update)
is compared before and after.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from contractor.inventory import orm
from fastapi import FastAPI
from sqlalchemy import select

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"
PUBLIC = {"/healthz", "/readyz", "/openapi.json", "/docs"}
IPMI = {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "admin", "ipmi_password": "bmc-s3cret"}
DISCOVERY_REPORT = {"site": "dc1", "hardware": {"dmi": {"system": {"serial": "ROBUST-1"}}}}

# §12.2 / §13.2: who may call what. Anything not listed here is a read for viewer and above.
ADMIN_WRITES = re.compile(
    r"^/api/v1/(sites|scripts|pxes|blueprints|networks|tokens)(/|$)"
    r"|^/api/v1/address-blocks(/\{block_id\})?$"
)
SERVICE_ONLY = re.compile(r"/(job|snapshot)$|^/api/v1/(job-writes|job-calls|tokens/introspect)$")
AGENT_OR_SERVICE = re.compile(r"^/api/v1/(boot/render|dhcp/\{site\}|resolve|discovery/reports)$")
TRANSITIONS = re.compile(r"/state$")
ADMIN_READS = re.compile(r"^/api/v1/tokens(/\{token_id\})?$")
ANYONE = {"/api/v1/tokens/self"}


def allowed(method: str, path: str) -> set[str]:
    """The roles §12.2 lets make this call."""
    if path in ANYONE:
        return {"admin", "operator", "viewer", "agent", "service"}
    if SERVICE_ONLY.search(path):
        return {"service"}
    if AGENT_OR_SERVICE.search(path):
        return {"agent", "service"}
    if method == "GET":
        return {"admin"} if ADMIN_READS.search(path) else {"admin", "operator", "viewer", "service"}
    if TRANSITIONS.search(path):
        return {"admin", "operator", "service"}
    if ADMIN_WRITES.search(path):
        return {"admin"}
    return {"admin", "operator"}


def operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    found = [
        (method.upper(), path)
        for path, item in document["paths"].items()
        for method in item
        if path not in PUBLIC
    ]
    assert len(found) > 100, "the document lists the API"
    return found


class World:
    """Real objects for every path parameter, and valid bodies for the writes."""

    def __init__(self, structure: int, block: int, network: int, address: int, token: int):
        self.values = {
            "structure_id": str(structure),
            "block_id": str(block),
            "network_id": str(network),
            "address_id": str(address),
            "token_id": str(token),
            "locator": "f1",
            "physical_location": "eth0",
            "dependency_id": "1",
            "zone": "dc1.example.com",
            "site": "dc1",
            "kind": "foundation",
            "slot": "create",
        }
        self.structure = structure
        self.block = block

    def path(self, template: str) -> str:
        names = {
            "/sites/": "dc1",
            "/scripts/": "build-it",
            "/pxes/": "p1",
            "/blueprints/foundation/": "fbp",
            "/blueprints/structure/": "sbp",
            "/blueprints/{kind}/": "fbp",
            "/complexes/": "c1",
            "/foundation-types/": "manual",
            "/complex-types/": "manual",
            "/interfaces/": "eth0",
        }

        def fill(match: re.Match[str]) -> str:
            name = match.group(1)
            before = template[: match.start()]
            if name == "name":
                return next(v for k, v in names.items() if before.endswith(k))
            if name == "key":
                kind = before.rsplit("/", 2)[-2]
                return {"foundations": "f1", "structures": str(self.structure)}.get(
                    kind, self.values["dependency_id"]
                )
            return self.values[name]

        return re.sub(r"\{(\w+)\}", fill, template)

    def body(self, method: str, template: str) -> Any:
        if method in ("GET", "DELETE"):
            return None
        bodies: dict[str, Any] = {
            "POST /api/v1/sites": {"name": "new-site", "description": "d"},
            "PATCH /api/v1/sites/{name}": {"description": "changed"},
            "POST /api/v1/scripts": {"name": "s2", "description": "d", "body": ""},
            "PATCH /api/v1/scripts/{name}": {"description": "changed"},
            "POST /api/v1/pxes": {"name": "p2", "boot_script": "", "template": ""},
            "POST /api/v1/blueprints/foundation": {
                "name": "fbp2",
                "description": "d",
                "foundation_types": ["manual"],
            },
            "PATCH /api/v1/blueprints/foundation/{name}": {"description": "changed"},
            "POST /api/v1/blueprints/structure": {
                "name": "sbp2",
                "description": "d",
                "foundation_blueprints": ["fbp"],
            },
            "PATCH /api/v1/blueprints/structure/{name}": {"description": "changed"},
            "POST /api/v1/foundations": {
                "locator": "f9",
                "site": "dc1",
                "blueprint": "fbp",
                "type": "manual",
            },
            "PATCH /api/v1/foundations/{locator}": {"config_values": {"x": 1}},
            "POST /api/v1/foundations/{locator}/state": {"from": "planned", "to": "located"},
            "POST /api/v1/structures": {
                "hostname": "web9",
                "site": "dc1",
                "blueprint": "sbp",
                "foundation": "f9",
            },
            "PATCH /api/v1/structures/{structure_id}": {"config_values": {"x": 1}},
            "POST /api/v1/structures/{structure_id}/state": {"from": "planned", "to": "built"},
            "PATCH /api/v1/sites/{name}/config": {"set": {"x": 1}},
            "PATCH /api/v1/blueprints/{kind}/{name}/config": {"set": {"x": 1}},
            "PATCH /api/v1/structures/{structure_id}/config": {"set": {"x": 1}},
            "POST /api/v1/networks": {"site": "dc1", "name": "n2"},
            "PATCH /api/v1/networks/{network_id}": {"mtu": 1500},
            "PUT /api/v1/networks/{network_id}/address-blocks/{block_id}": {"vlan": 0},
            "POST /api/v1/address-blocks": {
                "site": "dc1",
                "name": "b2",
                "subnet": "10.9.0.0",
                "prefix": 24,
            },
            "PATCH /api/v1/address-blocks/{block_id}": {"gateway_offset": 254},
            "POST /api/v1/address-blocks/{block_id}/addresses": {
                "kind": "reserved",
                "offset": 100,
                "reason": "r",
            },
            "POST /api/v1/address-blocks/{block_id}/next-free": {
                "structure": self.structure,
                "interface_name": "eth7",
            },
            "PATCH /api/v1/addresses/{address_id}": {"is_primary": True},
            "POST /api/v1/tokens": {"name": "x", "role": "admin"},
            "PUT /api/v1/foundations/{key}/job": {"job_id": 5, "script": "create", "wait": True},
            "PUT /api/v1/structures/{key}/job": {"job_id": 5, "script": "create", "wait": True},
            "POST /api/v1/tokens/introspect": {"token": "ctr_1_" + "a" * 43},
            "POST /api/v1/discovery/reports": DISCOVERY_REPORT,
            "POST /api/v1/discovery/{identifier}/assign": {"locator": "bmc1"},
            "POST /api/v1/discovery/{identifier}/enroll": {"blueprint": "fbp", "locator": "f8"},
        }
        return bodies.get(f"{method} {template}", {})


async def dump(app: FastAPI) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (tokens without ``last_used_at``)."""
    state: dict[str, list[tuple[Any, ...]]] = {}
    async with app.state.sessions() as session:
        for table in orm.Base.metadata.sorted_tables:
            columns = [c for c in table.columns if c.name != "last_used_at"]
            rows = (await session.execute(select(*columns))).all()
            state[table.name] = sorted((tuple(map(repr, row)) for row in rows), key=repr)
    return state


@pytest.fixture
async def world_ids(
    app: FastAPI,
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    agent_token: str,
) -> World:
    admin = as_role("admin")
    await seed.foundation(admin, "f1")
    await seed.foundation(admin, "bmc1", type="ipmi", attributes=IPMI)
    s = await seed.structure(admin, "web1", "f1", config_values={"db_password": "pw-structure"})
    r = await client.patch(
        "/api/v1/sites/dc1/config", json={"set": {"site_secret": "pw-site"}}, headers=admin
    )
    assert r.status_code == 200, r.text
    r = await client.post(
        "/api/v1/address-blocks",
        json={"site": "dc1", "name": "b1", "subnet": "10.0.0.0", "prefix": 24},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    block = r.json()["id"]
    r = await client.post("/api/v1/networks", json={"site": "dc1", "name": "n1"}, headers=admin)
    assert r.status_code == 201, r.text
    network = r.json()["id"]
    r = await client.post(
        f"/api/v1/address-blocks/{block}/next-free",
        json={"structure": s["id"], "interface_name": "eth0"},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    address = r.json()["id"]
    r = await client.post(
        "/api/v1/tokens", json={"name": "victim", "role": "viewer"}, headers=admin
    )
    assert r.status_code == 201, r.text
    made = World(s["id"], block, network, address, r.json()["id"])
    r = await client.post(
        "/api/v1/discovery/reports", json=DISCOVERY_REPORT, headers=as_role("service")
    )
    assert r.status_code == 200, r.text
    made.values["identifier"] = r.json()["identifier"]
    return made


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/openapi.json")
    assert r.status_code == 200
    found: dict[str, Any] = r.json()
    return found


async def _call(
    client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if body is None:
        return await client.request(method, path, headers=headers)
    if path.endswith("/blueprints/import"):  # a TOML bundle (§14)
        toml = b'[[blueprint.foundation]]\nname = "imported"\ndescription = "d"\n'
        headers = {**headers, "content-type": "application/toml"}
        return await client.request(method, path, content=toml, headers=headers)
    return await client.request(method, path, json=body, headers=headers)


async def test_no_token_is_401_everywhere_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, world_ids: World, document: dict[str, Any]
) -> None:
    before = await dump(app)
    wrong = []
    for method, template in operations(document):
        path = world_ids.path(template)
        body = world_ids.body(method, template)
        for headers in ({}, {"Authorization": "Bearer ctr_1_" + "A" * 43}, {"Authorization": "x"}):
            r = await _call(client, method, path, body, headers)
            if (
                r.status_code != 401
                or r.headers.get("content-type") != PROBLEM
                or r.headers.get("www-authenticate") != "Bearer"
                or r.json().get("type") != "urn:contractor:problem:unauthorized"
            ):
                wrong.append((method, path, headers, r.status_code, r.text[:200]))
    assert not wrong, wrong
    assert await dump(app) == before


@pytest.mark.parametrize("role", ["viewer", "agent", "operator", "service", "admin"])
async def test_each_role_is_refused_outside_its_column_and_changes_nothing(
    app: FastAPI,
    client: httpx.AsyncClient,
    as_role: Headers,
    agent_token: str,
    world_ids: World,
    document: dict[str, Any],
    role: str,
) -> None:
    headers = {"Authorization": f"Bearer {agent_token}"} if role == "agent" else as_role(role)
    before = await dump(app)
    refused, wrong = 0, []
    for method, template in operations(document):
        if role in allowed(method, template):
            continue
        path = world_ids.path(template)
        r = await _call(client, method, path, world_ids.body(method, template), headers)
        refused += 1
        if (
            r.status_code != 403
            or r.headers.get("content-type") != PROBLEM
            or r.json().get("type") != "urn:contractor:problem:forbidden"
        ):
            wrong.append((method, path, r.status_code, r.text[:200]))
    assert refused > 10
    assert not wrong, wrong
    assert await dump(app) == before


async def test_the_bodies_used_would_have_changed_something(
    app: FastAPI, client: httpx.AsyncClient, as_role: Headers, world_ids: World
) -> None:
    """The refusals above mean something: an allowed caller with the same request does write."""
    before = await dump(app)
    for method, template, role in (
        ("POST", "/api/v1/sites", "admin"),
        ("POST", "/api/v1/foundations", "operator"),
        ("PATCH", "/api/v1/structures/{structure_id}/config", "operator"),
        ("POST", "/api/v1/address-blocks/{block_id}/next-free", "operator"),
        ("POST", "/api/v1/discovery/{identifier}/assign", "operator"),
        ("POST", "/api/v1/foundations/{locator}/state", "operator"),
        ("DELETE", "/api/v1/tokens/{token_id}", "admin"),
    ):
        path = world_ids.path(template)
        r = await _call(client, method, path, world_ids.body(method, template), as_role(role))
        assert r.status_code in (200, 201, 204), (method, path, r.text)
    assert await dump(app) != before


@pytest.mark.parametrize("role", ["viewer", "operator"])
async def test_viewer_and_operator_never_read_secrets(
    client: httpx.AsyncClient, as_role: Headers, world_ids: World, role: str
) -> None:
    headers = as_role(role)
    sid = world_ids.structure
    secrets = ("pw-structure", "pw-site", "bmc-s3cret")
    for path in (
        "/api/v1/sites/dc1",
        "/api/v1/sites/dc1/config",
        "/api/v1/foundations/bmc1",
        "/api/v1/foundations/bmc1/config",
        "/api/v1/foundations",
        f"/api/v1/structures/{sid}",
        f"/api/v1/structures/{sid}/config",
        "/api/v1/structures",
        "/api/v1/events?after=0&limit=1000",
    ):
        r = await client.get(path, headers=headers)
        assert r.status_code == 200, (path, r.text)
        leaked = [s for s in secrets if s in r.text]
        assert not leaked, (path, leaked)
    r = await client.get(f"/api/v1/structures/{sid}/config", headers=headers)
    assert r.json()["db_password"] == "***"
    for path in (f"/api/v1/structures/{sid}/snapshot", "/api/v1/foundations/bmc1/snapshot"):
        r = await client.get(path, headers=headers)
        assert r.status_code == 403 and "bmc-s3cret" not in r.text
    # Admins see stored config values (§13.2), never the write-only secret fields (§13.3).
    admin = as_role("admin")
    r = await client.get(f"/api/v1/structures/{sid}/config", headers=admin)
    assert r.json()["db_password"] == "pw-structure"
    r = await client.get("/api/v1/foundations/bmc1", headers=admin)
    assert "bmc-s3cret" not in r.text and r.json()["secrets_set"] == ["ipmi_password"]


async def test_revoked_token_is_refused_at_once_everywhere(
    app: FastAPI,
    client: httpx.AsyncClient,
    as_role: Headers,
    world_ids: World,
    document: dict[str, Any],
) -> None:
    r = await client.post(
        "/api/v1/tokens", json={"name": "short-lived", "role": "admin"}, headers=as_role("admin")
    )
    issued = r.json()
    mine = {"Authorization": f"Bearer {issued['token']}"}
    assert (await client.get("/api/v1/sites", headers=mine)).status_code == 200
    r = await client.delete(f"/api/v1/tokens/{issued['id']}", headers=as_role("admin"))
    assert r.status_code == 204
    before = await dump(app)
    wrong = []
    for method, template in operations(document):
        path = world_ids.path(template)
        r = await _call(client, method, path, world_ids.body(method, template), mine)
        if r.status_code != 401:
            wrong.append((method, path, r.status_code))
    assert not wrong, wrong
    assert await dump(app) == before
