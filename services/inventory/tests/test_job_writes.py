from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def _setup(client: httpx.AsyncClient, as_role: Headers, seed: Any) -> dict[str, Any]:
    admin, op, svc = as_role("admin"), as_role("operator"), as_role("service")
    net = (
        await client.post("/api/v1/networks", json={"site": "dc1", "name": "n"}, headers=admin)
    ).json()["id"]
    await client.post(
        "/api/v1/address-blocks",
        json={"site": "dc1", "name": "a", "subnet": "10.0.0.0", "prefix": 24},
        headers=admin,
    )
    for pxe in ("bootstrap", "normal-boot"):
        r = await client.post(
            "/api/v1/pxes", json={"name": pxe, "boot_script": "chain x"}, headers=admin
        )
        assert r.status_code == 201, r.text
    ports = [{"physical_location": f"eth{n}", "name": f"eth{n}", "network": net} for n in (0, 1)]
    await seed.foundation(op, "vm1", type="sim", interfaces=ports)
    s = await seed.structure(op, "web1", "vm1", config_values={"app": {"ports": [1, 2]}})
    r = await client.put(
        "/api/v1/foundations/vm1/job", json={"job_id": 5, "script": "create"}, headers=svc
    )
    assert r.status_code == 201 and r.json()["outcome"] == "granted", r.text
    return {"structure": s, "svc": svc, "op": op}


async def test_batch_applies_atomically_and_is_idempotent(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _setup(client, as_role, seed)
    svc, op = ctx["svc"], ctx["op"]
    f = {"kind": "foundation", "key": "vm1"}
    port = (await client.get("/api/v1/foundations/vm1/interfaces/eth0", headers=op)).json()
    batch = {
        "job_id": 5,
        "batch_id": "b-1",
        "writes": [
            {"op": "set_value", "target": f, "name": "sim_id", "value": "vm-0001"},
            {
                "op": "set_interface_macs",
                "target": f,
                "macs": ["08:00:27:AA:BB:01", "0800.27aa.bb02"],
            },
            {"op": "set_pxe", "target": f, "interface": port["id"], "pxe": "bootstrap"},
        ],
    }
    r = await client.post("/api/v1/job-writes", json=batch, headers=svc)
    assert r.status_code == 200, r.text
    snap = r.json()
    assert snap["foundation"]["values"]["sim_id"] == "vm-0001"
    assert [p["mac"] for p in snap["foundation"]["interface_list"]] == [
        "08:00:27:aa:bb:01",
        "08:00:27:aa:bb:02",
    ]
    assert snap["foundation"]["interface_list"][0]["pxe"] == "bootstrap"
    r = await client.post("/api/v1/job-writes", json=batch, headers=svc)
    assert r.status_code == 200 and r.headers["x-batch-repeat"] == "true" and r.json() == snap
    bad = {
        "job_id": 5,
        "batch_id": "b-2",
        "writes": [
            {"op": "set_pxe", "target": f, "interface": port["id"], "pxe": None},
            {"op": "set_value", "target": f, "name": "sim_power_delay_s", "value": 1},
        ],
    }
    r = await client.post("/api/v1/job-writes", json=bad, headers=svc)
    assert (
        r.status_code == 422
        and r.json()["type"].endswith("write-rejected")
        and r.json()["index"] == 1
    )
    again = (await client.get("/api/v1/foundations/vm1/interfaces/eth0", headers=op)).json()
    assert again["pxe"] == "bootstrap", "the rejected batch changed nothing"
    r = await client.post(
        "/api/v1/job-writes", json={**batch, "batch_id": "b-3", "job_id": 6}, headers=svc
    )
    assert r.status_code == 409 and r.json()["type"].endswith("job-mismatch")
    assert (await client.post("/api/v1/job-writes", json=batch, headers=op)).status_code == 403


async def test_structure_job_sets_config_and_addresses(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _setup(client, as_role, seed)
    svc, op, sid = ctx["svc"], ctx["op"], ctx["structure"]["id"]
    await client.post(
        "/api/v1/foundations/vm1/state",
        json={"from": "planned", "to": "built", "job_id": 5, "release_job": True},
        headers=svc,
    )
    r = await client.put(
        f"/api/v1/structures/{sid}/job", json={"job_id": 9, "script": "create"}, headers=svc
    )
    assert r.json()["outcome"] == "granted", r.text
    s = {"kind": "structure", "key": str(sid)}
    port = (await client.get("/api/v1/foundations/vm1/interfaces/eth1", headers=op)).json()
    batch = {
        "job_id": 9,
        "batch_id": "s-1",
        "writes": [
            {"op": "set_config", "target": s, "name": "app.ports.1", "value": 8080},
            {"op": "set_ip_addresses", "target": s, "addresses": {"eth0": "10.0.0.31"}},
            {
                "op": "set_pxe",
                "target": {"kind": "foundation", "key": "vm1"},
                "interface": port["id"],
                "pxe": "normal-boot",
            },
        ],
    }
    r = await client.post("/api/v1/job-writes", json=batch, headers=svc)
    assert r.status_code == 200, r.text
    assert r.json()["config"]["app"] == {"ports": [1, 8080]}
    addrs = (await client.get(f"/api/v1/structures/{sid}/addresses", headers=op)).json()
    assert [(a["interface_name"], a["ip_address"]) for a in addrs] == [("eth0", "10.0.0.31")]
    move = {
        "job_id": 9,
        "batch_id": "s-2",
        "writes": [
            {"op": "set_ip_addresses", "target": s, "addresses": {"eth0": "10.0.0.32"}},
            {"op": "set_config", "target": s, "name": "missing.deep", "value": 1},
        ],
    }
    r = await client.post("/api/v1/job-writes", json=move, headers=svc)
    assert r.status_code == 422 and r.json()["index"] == 1
    addrs = (await client.get(f"/api/v1/structures/{sid}/addresses", headers=op)).json()
    assert addrs[0]["ip_address"] == "10.0.0.31"
    r = await client.post(
        "/api/v1/job-writes", json={**move, "writes": move["writes"][:1]}, headers=svc
    )
    assert r.status_code == 200
    addrs = (await client.get(f"/api/v1/structures/{sid}/addresses", headers=op)).json()
    assert addrs[0]["ip_address"] == "10.0.0.32"


async def test_stored_batch_answers_hold_no_plain_secrets(
    app: Any, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    from contractor.inventory import orm
    from sqlalchemy import select

    svc = as_role("service")
    attrs = {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "u", "ipmi_password": "pw-secret-x"}
    await seed.foundation(as_role("operator"), "bmc1", type="ipmi", attributes=attrs)
    await client.put(
        "/api/v1/foundations/bmc1/job", json={"job_id": 4, "script": "create"}, headers=svc
    )
    batch = {
        "job_id": 4,
        "batch_id": "z",
        "writes": [
            {
                "op": "set_interface_macs",
                "target": {"kind": "foundation", "key": "bmc1"},
                "macs": [],
            }
        ],
    }
    first = await client.post("/api/v1/job-writes", json=batch, headers=svc)
    assert first.status_code == 200, first.text
    async with app.state.sessions() as session:
        stored = await session.scalar(select(orm.JobBatch))
        assert stored is not None and "pw-secret-x" not in str(stored.answer)
    again = await client.post("/api/v1/job-writes", json=batch, headers=svc)
    assert again.json() == first.json()
