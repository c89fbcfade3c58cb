from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]
IPMI = {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "admin", "ipmi_password": "bmc-s3cret"}


async def _reserve(
    client: httpx.AsyncClient, headers: dict[str, str], path: str, **body: Any
) -> httpx.Response:
    return await client.put(f"/api/v1/{path}/job", json=body, headers=headers)


async def test_structure_create_job_blocks_then_is_granted(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    svc, op = as_role("service"), as_role("operator")
    await seed.foundation(op, "f1")
    s = await seed.structure(op, "web1", "f1")
    path = f"structures/{s['id']}"
    r = await _reserve(client, svc, path, job_id=7, script="create")
    assert r.status_code == 409 and r.json()["type"].endswith("prerequisite-not-ready")
    assert r.json()["waiting_on"] == [
        {"kind": "foundation", "key": "f1", "state": "planned", "required": "built"}
    ]
    r = await _reserve(client, svc, path, job_id=7, script="create", wait=True)
    assert r.status_code == 201, r.text
    assert r.json()["outcome"] == "blocked" and r.json()["slot"]["job_id"] == 7
    r = await _reserve(client, svc, path, job_id=8, script="create", wait=True)
    assert (
        r.status_code == 409 and r.json()["type"].endswith("job-exists") and r.json()["job_id"] == 7
    )
    # While the structure's job waits, a foundation job builds the foundation (§5.2 rule 3
    # keeps operators from moving it meanwhile).
    r = await client.post(
        "/api/v1/foundations/f1/state", json={"from": "planned", "to": "located"}, headers=op
    )
    assert r.status_code == 409 and r.json()["type"].endswith("job-exists")
    r = await _reserve(client, svc, "foundations/f1", job_id=6, script="create")
    assert r.status_code == 409
    r = await _reserve(client, svc, "foundations/f1", job_id=6, script="create", wait=True)
    assert r.json()["outcome"] == "blocked"
    assert r.json()["waiting_on"][0]["required"] == "located"
    r = await client.post(
        "/api/v1/foundations/f1/state",
        json={"from": "planned", "to": "built", "job_id": 6, "release_job": True},
        headers=svc,
    )
    assert r.status_code == 200, r.text
    r = await _reserve(client, svc, path, job_id=7, script="create", wait=True)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["outcome"] == "granted"
    assert answer["script"]["body"] == "" and answer["script"]["name"] is None
    snap = answer["snapshot"]
    assert snap["target"] == {"kind": "structure", "key": str(s["id"]), "state": "planned"}
    assert snap["structure"]["fqdn"] == "web1.dc1.example.com"
    assert snap["foundation"]["type"] == "Manual" and snap["config"]["_hostname"] == "web1"
    r = await client.get(f"/api/v1/{path}/job", headers=svc)
    assert r.json()["can_start"] is True and r.json()["slot"]["job_id"] == 7
    r = await client.post(
        f"/api/v1/{path}/state",
        json={"from": "planned", "to": "built", "job_id": 7, "release_job": True},
        headers=svc,
    )
    assert r.status_code == 200 and r.json()["job"] is None
    updated = await seed.events(svc, "structure.updated")
    assert updated[-1]["data"]["changed"] == ["job"]


async def test_foundation_create_grants_with_connection_secrets(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    svc = as_role("service")
    await seed.foundation(as_role("operator"), "bmc1", type="ipmi", attributes=IPMI)
    r = await _reserve(client, svc, "foundations/bmc1", job_id=1, script="create")
    assert r.status_code == 201, r.text
    answer = r.json()
    assert answer["outcome"] == "granted"  # out-of-band power: may start while planned
    assert answer["script"]["name"] == "build-it" and answer["script"]["from_blueprint"] == "fbp"
    connection = answer["snapshot"]["foundation"]["connection"]
    assert connection["credentials"] == {"username": "admin", "password": "bmc-s3cret"}
    values = answer["snapshot"]["foundation"]["values"]
    assert values["ipmi_port"] == 623 and "ipmi_password" not in values
    assert "bmc-s3cret" not in str(answer["snapshot"]["config"])
    r = await client.get("/api/v1/foundations/bmc1/snapshot", headers=as_role("admin"))
    assert r.status_code == 403
    r = await client.patch(
        "/api/v1/foundations/bmc1", json={"serial": "X"}, headers=as_role("operator")
    )
    assert r.status_code == 409 and r.json()["type"].endswith("job-active")
    r = await client.delete("/api/v1/foundations/bmc1/job?job_id=2", headers=svc)
    assert r.status_code == 409 and r.json()["type"].endswith("job-mismatch")
    assert (
        await client.delete("/api/v1/foundations/bmc1/job?job_id=1", headers=svc)
    ).status_code == 204
    assert (
        await client.delete("/api/v1/foundations/bmc1/job?job_id=1", headers=svc)
    ).status_code == 204


async def test_refusals(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    svc, op = as_role("service"), as_role("operator")
    await seed.foundation(op, "f1")
    s = await seed.structure(op, "web1", "f1")
    r = await _reserve(client, svc, f"structures/{s['id']}", job_id=1, script="destroy")
    assert r.status_code == 409 and r.json()["type"].endswith("not-built")
    r = await _reserve(client, svc, f"structures/{s['id']}", job_id=1, script="reboot")
    assert r.status_code == 409 and r.json()["type"].endswith("not-built")
    r = await client.post(
        f"/api/v1/structures/{s['id']}/state", json={"from": "planned", "to": "built"}, headers=op
    )
    assert r.status_code == 200
    r = await _reserve(client, svc, f"structures/{s['id']}", job_id=1, script="reboot")
    assert r.status_code == 404 and r.json()["type"].endswith("script-not-found")
    r = await _reserve(client, svc, f"structures/{s['id']}", job_id=1, script="destroy")
    assert r.status_code == 409 and r.json()["type"].endswith("not-built")  # foundation planned
    await client.post(
        "/api/v1/foundations/f1/state", json={"from": "planned", "to": "built"}, headers=op
    )
    r = await _reserve(client, svc, "foundations/f1", job_id=1, script="create")
    assert r.status_code == 409 and r.json()["type"].endswith("already-built")
    dep = (
        await client.post("/api/v1/dependencies", json={"structure": s["id"]}, headers=op)
    ).json()
    r = await _reserve(client, svc, f"dependencies/{dep['id']}", job_id=1, script="reboot")
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-script")
    r = await _reserve(client, as_role("operator"), "foundations/f1", job_id=1, script="create")
    assert r.status_code == 403
    r = await _reserve(client, svc, "structures/999", job_id=1, script="create")
    assert r.status_code == 404
    assert await seed.events(svc, "*.updated".replace("*", "foundation")) == []
