from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def _docker_world(
    client: httpx.AsyncClient, as_role: Headers, seed: Any, *, port_range: Any = None
) -> dict[str, Any]:
    """A docker complex whose host has primary address 10.0.0.10; containers c1, c2 on it."""
    admin, op, svc = as_role("admin"), as_role("operator"), as_role("service")
    net = (
        await client.post("/api/v1/networks", json={"site": "dc1", "name": "n"}, headers=admin)
    ).json()["id"]
    block = (
        await client.post(
            "/api/v1/address-blocks",
            json={"site": "dc1", "name": "a", "subnet": "10.0.0.0", "prefix": 24},
            headers=admin,
        )
    ).json()["id"]
    container_config = {} if port_range is None else {"docker_port_range": port_range}
    for path, body in (
        (
            "/api/v1/blueprints/foundation",
            {"name": "cbp", "description": "container", "foundation_types": ["docker"]},
        ),
        (
            "/api/v1/blueprints/structure",
            {
                "name": "csbp",
                "description": "app",
                "foundation_blueprints": ["cbp"],
                "config_values": container_config,
            },
        ),
    ):
        r = await client.post(path, json=body, headers=admin)
        assert r.status_code == 201, r.text
    await seed.foundation(op, "host1")
    host = await seed.structure(op, "dockhost", "host1")
    r = await client.post(
        f"/api/v1/address-blocks/{block}/addresses",
        json={
            "kind": "address",
            "offset": 10,
            "structure": host["id"],
            "interface_name": "eth0",
            "is_primary": True,
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    primary = r.json()["id"]
    r = await client.post(
        "/api/v1/complexes",
        json={
            "name": "dock",
            "site": "dc1",
            "description": "docker hosts",
            "type": "docker",
            "members": [host["id"]],
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    containers = {}
    for n, job in ((1, 11), (2, 12)):
        r = await client.post(
            "/api/v1/complexes/dock/foundations",
            json={"locator": f"c{n}", "blueprint": "cbp", "interfaces": [{"network": net}]},
            headers=op,
        )
        assert r.status_code == 201, r.text
        s = await seed.structure(op, f"app{n}", f"c{n}", blueprint="csbp")
        r = await client.put(
            f"/api/v1/structures/{s['id']}/job",
            json={"job_id": job, "script": "create", "wait": True},
            headers=svc,
        )
        assert r.status_code == 201, r.text
        containers[n] = {"id": s["id"], "job": job}
    return {"svc": svc, "op": op, "primary": primary, "host": host, "c": containers}


def _call(job: int, call_id: str, op: str = "map_ports", **params: Any) -> dict[str, Any]:
    return {"job_id": job, "call_id": call_id, "op": op, "params": params}


async def test_map_ports_unique_per_complex_idempotent_and_written_to_config(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _docker_world(client, as_role, seed)
    svc, op, c1, c2 = ctx["svc"], ctx["op"], ctx["c"][1], ctx["c"][2]
    spec = {"image": "nginx", "ports": [80, "443/tcp", "53/udp", "80"]}
    r = await client.post(
        "/api/v1/job-calls", json=_call(c1["job"], "k1", container_spec=spec), headers=svc
    )
    assert r.status_code == 200, r.text
    first = r.json()
    assert r.headers["x-call-repeat"] == "false"
    assert first["result"] == {"80/tcp": 30000, "443/tcp": 30001, "53/udp": 30002}
    assert first["check_port"] == 30000 and first["op"] == "map_ports"
    assert first["address"]["pointer"] == ctx["primary"]
    assert first["address"]["ip_address"] == "10.0.0.10"
    assert first["address"]["interface_name"] == "eth0"

    # The second container of the same complex gets other host ports.
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c2["job"], "k2", container_spec={"ports": [80, 8080]}),
        headers=svc,
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"] == {"80/tcp": 30003, "8080/tcp": 30004}

    # A repeat of the call id answers the first answer and allocates nothing new.
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c1["job"], "k1", container_spec={"ports": [9999]}),
        headers=svc,
    )
    assert r.status_code == 200 and r.json() == first
    assert r.headers["x-call-repeat"] == "true"
    # The same call id from another job, or for another op, is a conflict.
    r = await client.post(
        "/api/v1/job-calls", json=_call(c2["job"], "k1", container_spec=spec), headers=svc
    )
    assert r.status_code == 409 and r.json()["type"].endswith("conflict")

    s1 = (await client.get(f"/api/v1/structures/{c1['id']}", headers=op)).json()
    assert s1["config_values"]["docker_port_map"] == first["result"]
    assert s1["config_values"]["docker_check_port"] == 30000
    addrs = (await client.get(f"/api/v1/structures/{c1['id']}/addresses", headers=op)).json()
    assert [(a["pointer"], a["ip_address"], a["is_primary"]) for a in addrs] == [
        (ctx["primary"], "10.0.0.10", True)
    ]
    changed = await seed.events(op, "config.changed")
    assert changed[-1]["data"]["target"] == {"kind": "structure", "key": str(c2["id"])}
    assert changed[-1]["data"]["keys"] == ["docker_check_port", "docker_port_map"]
    created = await seed.events(op, "address.created")
    pointer_events = [e for e in created if e["data"]["structure"] == c1["id"]]
    assert len(pointer_events) == 1
    assert pointer_events[0]["data"]["ip_address"] == "10.0.0.10"

    # Mapping again with a new call id keeps the ports still wanted, frees the others.
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c1["job"], "k3", container_spec={"ports": ["53/udp", 22]}),
        headers=svc,
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"] == {"53/udp": 30002, "22/tcp": 30000}
    assert r.json()["check_port"] == 30000
    assert r.json()["address"] == first["address"], "the pointer address is reused"


async def test_unmap_frees_ports_for_reuse(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _docker_world(client, as_role, seed)
    svc, op, c1, c2 = ctx["svc"], ctx["op"], ctx["c"][1], ctx["c"][2]
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c1["job"], "m1", container_spec={"ports": [80, 81]}),
        headers=svc,
    )
    assert r.json()["result"] == {"80/tcp": 30000, "81/tcp": 30001}
    r = await client.post(
        "/api/v1/job-calls", json=_call(c1["job"], "u1", "unmap_ports"), headers=svc
    )
    assert r.status_code == 200, r.text
    assert r.json()["result"] is None and r.json()["op"] == "unmap_ports"
    again = await client.post(
        "/api/v1/job-calls", json=_call(c1["job"], "u1", "unmap_ports"), headers=svc
    )
    assert again.json() == r.json() and again.headers["x-call-repeat"] == "true"
    s1 = (await client.get(f"/api/v1/structures/{c1['id']}", headers=op)).json()
    assert "docker_port_map" not in s1["config_values"]
    assert "docker_check_port" not in s1["config_values"]
    assert (await client.get(f"/api/v1/structures/{c1['id']}/addresses", headers=op)).json() == []
    deleted = await seed.events(op, "address.deleted")
    assert [e["data"]["structure"] for e in deleted] == [c1["id"]]
    # The freed ports go to the next container.
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c2["job"], "m2", container_spec={"ports": [80, 81, 82]}),
        headers=svc,
    )
    assert r.json()["result"] == {"80/tcp": 30000, "81/tcp": 30001, "82/tcp": 30002}
    # unmap_ports takes no parameters.
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c2["job"], "u2", "unmap_ports", container_spec={}),
        headers=svc,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "params", "container_spec"]


async def test_exhausted_range_is_a_409_and_changes_nothing(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _docker_world(client, as_role, seed, port_range="40000-40002")
    svc, op, c1, c2 = ctx["svc"], ctx["op"], ctx["c"][1], ctx["c"][2]
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c1["job"], "a", container_spec={"ports": [1, 2]}),
        headers=svc,
    )
    assert r.json()["result"] == {"1/tcp": 40000, "2/tcp": 40001}
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c2["job"], "b", container_spec={"ports": [1, 2]}),
        headers=svc,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("no-free-port")
    assert r.json()["range"] == [40000, 40002] and "40000" in r.json()["detail"]
    s2 = (await client.get(f"/api/v1/structures/{c2['id']}", headers=op)).json()
    assert "docker_port_map" not in s2["config_values"]
    assert (await client.get(f"/api/v1/structures/{c2['id']}/addresses", headers=op)).json() == []
    # Nothing was kept of the refused call: a smaller request fits, under the same call id.
    r = await client.post(
        "/api/v1/job-calls", json=_call(c2["job"], "b", container_spec={"ports": [5]}), headers=svc
    )
    assert r.status_code == 200 and r.json()["result"] == {"5/tcp": 40002}


async def test_bad_range_and_params_name_the_field(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _docker_world(client, as_role, seed, port_range=[5, 2])
    svc, c1 = ctx["svc"], ctx["c"][1]
    r = await client.post(
        "/api/v1/job-calls", json=_call(c1["job"], "x", container_spec={"ports": [80]}), headers=svc
    )
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-config")
    assert r.json()["errors"][0]["loc"] == ["config", "docker_port_range"]
    r = await client.post(
        "/api/v1/job-calls",
        json=_call(c1["job"], "y", container_spec={"ports": [80, "http"]}),
        headers=svc,
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "params", "container_spec", "ports", 1]
    r = await client.post("/api/v1/job-calls", json=_call(c1["job"], "z"), headers=svc)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "params", "container_spec"]
    r = await client.post(
        "/api/v1/job-calls", json={**_call(c1["job"], "w", "move_ports")}, headers=svc
    )
    assert r.status_code == 422


async def test_roles_ownership_and_applicability(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _docker_world(client, as_role, seed)
    svc, op, c1 = ctx["svc"], ctx["op"], ctx["c"][1]
    body = _call(c1["job"], "r", container_spec={"ports": [80]})
    for role in ("operator", "admin", "viewer"):
        r = await client.post("/api/v1/job-calls", json=body, headers=as_role(role))
        assert r.status_code == 403 and r.json()["type"].endswith("forbidden"), role
    r = await client.post("/api/v1/job-calls", json={**body, "job_id": 999}, headers=svc)
    assert r.status_code == 409 and r.json()["type"].endswith("job-mismatch")
    # A structure on a manual foundation has no ports to map.
    await seed.foundation(op, "metal1")
    metal = await seed.structure(op, "metal", "metal1")
    r = await client.put(
        f"/api/v1/structures/{metal['id']}/job",
        json={"job_id": 31, "script": "create", "wait": True},
        headers=svc,
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        "/api/v1/job-calls", json=_call(31, "m", container_spec={"ports": [80]}), headers=svc
    )
    assert r.status_code == 409 and r.json()["type"].endswith("not-applicable")
    # Nothing was stored for the refused calls: the call ids are still free.
    r = await client.post("/api/v1/job-calls", json={**body, "call_id": "m"}, headers=svc)
    assert r.status_code == 200, r.text


async def test_structure_with_mapped_ports_deletes_cleanly(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _docker_world(client, as_role, seed)
    svc, op, c1, c2 = ctx["svc"], ctx["op"], ctx["c"][1], ctx["c"][2]
    r = await client.post(
        "/api/v1/job-calls", json=_call(c1["job"], "d", container_spec={"ports": [80]}), headers=svc
    )
    assert r.status_code == 200
    r = await client.delete(f"/api/v1/structures/{c1['id']}/job?job_id={c1['job']}", headers=svc)
    assert r.status_code in (200, 204), r.text
    r = await client.delete(f"/api/v1/structures/{c1['id']}", headers=op)
    assert r.status_code == 204, r.text
    r = await client.post(
        "/api/v1/job-calls", json=_call(c2["job"], "e", container_spec={"ports": [80]}), headers=svc
    )
    assert r.json()["result"] == {"80/tcp": 30000}, "the deleted structure's port is free"
