from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


def _res(cpu: int, memory: int, disk: int) -> dict[str, int]:
    return {"cpu_count": cpu, "memory_mb": memory, "disk_gb": disk}


async def _post(client: httpx.AsyncClient, path: str, body: Any, headers: Any) -> Any:
    r = await client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


async def test_resources_follow_attributes_config_and_the_create_job(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op, svc = as_role("admin"), as_role("operator"), as_role("service")
    vm = await seed.foundation(op, "vm1", type="sim")
    assert vm["resources"] == _res(1, 512, 10), "the VM size defaults"
    spec = {"sim_vm_spec": {"cpu_count": 4, "memory_size": 8192}}
    vm = await seed.foundation(op, "vm2", type="sim", attributes=spec)
    assert vm["resources"] == _res(4, 8192, 10)
    r = await client.patch(
        "/api/v1/foundations/vm2",
        json={"attributes": {"sim_vm_spec": {"cpu_count": 2, "disk_size": 40}}},
        headers=op,
    )
    assert r.status_code == 200 and r.json()["resources"] == _res(2, 512, 40)
    listed = (await client.get("/api/v1/foundations", headers=as_role("viewer"))).json()
    assert [f["resources"]["cpu_count"] for f in listed["items"]] == [1, 2]

    # Bare metal without a hardware report: the config keys when set, else nothing.
    await _post(
        client,
        "blueprints/foundation",
        {
            "name": "big",
            "description": "big metal",
            "foundation_types": ["manual"],
            "config_values": {"cpu_count": 16, "memory_size": "65536", "disk_size": 500},
        },
        admin,
    )
    metal = await seed.foundation(op, "m1", blueprint="big")
    assert metal["resources"] == _res(16, 65536, 500)
    assert (await seed.foundation(op, "m2"))["resources"] == _res(0, 0, 0)

    # The structure's config sizes the VM once its create job writes its runtime id back.
    await seed.structure(op, "app1", "vm1", config_values={"memory_size": 2048})
    assert (await client.get("/api/v1/foundations/vm1", headers=op)).json()["resources"] == _res(
        1, 512, 10
    )
    r = await client.put(
        "/api/v1/foundations/vm1/job", json={"job_id": 3, "script": "create"}, headers=svc
    )
    assert r.status_code == 201, r.text
    batch = {
        "job_id": 3,
        "batch_id": "w1",
        "writes": [
            {
                "op": "set_value",
                "target": {"kind": "foundation", "key": "vm1"},
                "name": "sim_id",
                "value": "sim-0001",
            }
        ],
    }
    r = await client.post("/api/v1/job-writes", json=batch, headers=svc)
    assert r.status_code == 200, r.text
    vm = (await client.get("/api/v1/foundations/vm1", headers=op)).json()
    assert vm["resources"] == _res(1, 2048, 10)
    # resources is read-only in request bodies.
    r = await client.patch("/api/v1/foundations/vm2", json={"resources": _res(9, 9, 9)}, headers=op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "resources"]


async def test_new_foundation_is_sized_from_both_chains(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    # The create reads both chains as plain rows: the child blueprint overrides its parent and
    # the sites (root first) override the blueprints, as the config endpoints merge them.
    admin, op = as_role("admin"), as_role("operator")
    r = await client.patch(
        "/api/v1/sites/dc1", json={"config_values": {"disk_size": 100}}, headers=admin
    )
    assert r.status_code == 200, r.text
    dc2 = {"name": "dc2", "description": "second", "parent": "dc1"}
    await _post(client, "sites", {**dc2, "config_values": {"disk_size": 200}}, admin)
    for name, parents, values in (
        ("metal", [], {"cpu_count": 8, "memory_size": 1024, "disk_size": 10}),
        ("small-metal", ["metal"], {"cpu_count": 4}),
    ):
        body = {
            "name": name,
            "description": name,
            "parents": parents,
            "foundation_types": ["manual"],
            "config_values": values,
        }
        await _post(client, "blueprints/foundation", body, admin)
    made = await seed.foundation(op, "m1", blueprint="small-metal", site="dc2")
    assert made["resources"] == _res(4, 1024, 200)
    made = await seed.foundation(op, "m2", blueprint="small-metal")
    assert made["resources"] == _res(4, 1024, 100)
    stored = (await client.get("/api/v1/foundations/m1", headers=op)).json()
    assert stored["resources"] == _res(4, 1024, 200)
    # Operators and class filters on the sizing keys apply as in the full merge (only keys on
    # those names are merged for sizing): ``~`` removes cpu_count, a key for a class the type
    # does not have is skipped, and other keys are left out.
    tiny = {
        "name": "tiny-metal",
        "description": "tiny",
        "parents": ["small-metal"],
        "foundation_types": ["manual"],
        "config_values": {"~cpu_count": None, "memory_size:Nope": 1, "packages": ["vim"]},
    }
    await _post(client, "blueprints/foundation", tiny, admin)
    made = await seed.foundation(op, "m3", blueprint="tiny-metal")
    assert made["resources"] == _res(0, 1024, 100)


async def _usage_world(client: httpx.AsyncClient, as_role: Headers, seed: Any) -> dict[str, Any]:
    """Complexes kvm-a (a1 4/8192/10 with web app1 and two addresses, a2 1/512/10) and kvm-b
    (b1 2/1024/20 with db db1 and one address); m1 (no complex, site dc2, 16/65536/500)
    carries web web2 with a reserved-free address; m2 in dc1 has nothing."""
    admin, op = as_role("admin"), as_role("operator")
    await _post(client, "sites", {"name": "dc2", "description": "second", "parent": "dc1"}, admin)
    await _post(
        client,
        "blueprints/foundation",
        {
            "name": "big",
            "description": "big metal",
            "foundation_types": ["manual"],
            "config_values": {"cpu_count": 16, "memory_size": 65536, "disk_size": 500},
        },
        admin,
    )
    await _post(
        client,
        "blueprints/structure",
        {"name": "db", "description": "database", "foundation_blueprints": ["fbp"]},
        admin,
    )
    r = await client.patch(
        "/api/v1/blueprints/structure/sbp",
        json={"foundation_blueprints": ["fbp", "big"]},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    block = (
        await _post(
            client,
            "address-blocks",
            {"site": "dc1", "name": "a", "subnet": "10.0.0.0", "prefix": 24},
            admin,
        )
    )["id"]
    for name in ("kvm-a", "kvm-b"):
        await _post(
            client,
            "complexes",
            {"name": name, "site": "dc1", "description": "pool", "type": "sim"},
            op,
        )

    def sized(cpu: int, memory: int, disk: int) -> dict[str, Any]:
        return {"sim_vm_spec": {"cpu_count": cpu, "memory_size": memory, "disk_size": disk}}

    await seed.foundation(op, "a1", type="sim", complex="kvm-a", attributes=sized(4, 8192, 10))
    await seed.foundation(op, "a2", type="sim", complex="kvm-a")
    await seed.foundation(op, "b1", type="sim", complex="kvm-b", attributes=sized(2, 1024, 20))
    await seed.foundation(op, "m1", blueprint="big", site="dc2")
    await seed.foundation(op, "m2")
    app1 = await seed.structure(op, "app1", "a1")
    db1 = await seed.structure(op, "db1", "b1", blueprint="db")
    web2 = await seed.structure(op, "web2", "m1", site="dc2")
    for offset, sid in ((5, app1["id"]), (6, app1["id"]), (7, db1["id"])):
        await _post(
            client,
            f"address-blocks/{block}/addresses",
            {
                "kind": "address",
                "offset": offset,
                "structure": sid,
                "interface_name": "eth0",
                "alias_index": offset,
            },
            op,
        )
    await _post(
        client,
        f"address-blocks/{block}/addresses",
        {"kind": "reserved", "offset": 8, "reason": "not a structure's"},
        admin,
    )
    return {"web2": web2}


def _row(group: Any, f: int, s: int, cpu: int, mem: int, disk: int, a: int) -> dict[str, Any]:
    return {
        "group": group,
        "foundations": f,
        "structures": s,
        "cpu_count": cpu,
        "memory_mb": mem,
        "disk_gb": disk,
        "addresses": a,
    }


async def test_usage_sums_per_group_with_filters(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    await _usage_world(client, as_role, seed)
    viewer = as_role("viewer")

    async def usage(query: str) -> list[dict[str, Any]]:
        r = await client.get(f"/api/v1/stats/usage?{query}", headers=viewer)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()
        return rows

    assert await usage("group_by=complex") == [
        _row("kvm-a", 2, 1, 5, 8704, 20, 2),
        _row("kvm-b", 1, 1, 2, 1024, 20, 1),
        _row(None, 2, 1, 16, 65536, 500, 0),
    ]
    assert await usage("group_by=site") == [
        _row("dc1", 4, 2, 7, 9728, 40, 3),
        _row("dc2", 1, 1, 16, 65536, 500, 0),
    ]
    # By blueprint: the structure's where there is one, else the foundation's.
    assert await usage("group_by=blueprint") == [
        _row("db", 1, 1, 2, 1024, 20, 1),
        _row("fbp", 2, 0, 1, 512, 10, 0),
        _row("sbp", 2, 2, 20, 73728, 510, 2),
    ]
    # "What does service X use": foundations carrying an sbp structure, per complex.
    assert await usage("blueprint=sbp&group_by=complex") == [
        _row("kvm-a", 1, 1, 4, 8192, 10, 2),
        _row(None, 1, 1, 16, 65536, 500, 0),
    ]
    # A foundation blueprint filters by the foundation's own blueprint.
    assert await usage("blueprint=big&group_by=site") == [_row("dc2", 1, 1, 16, 65536, 500, 0)]
    assert await usage("complex=kvm-b&group_by=site") == [_row("dc1", 1, 1, 2, 1024, 20, 1)]
    assert await usage("site=dc2&group_by=complex") == [_row(None, 1, 1, 16, 65536, 500, 0)]
    assert await usage("site=dc1&site_tree=true&group_by=site") == await usage("group_by=site")
    assert await usage("site=nowhere&group_by=site") == []

    r = await client.get("/api/v1/stats/usage?group_by=rack", headers=viewer)
    assert r.status_code == 422


async def test_usage_follows_changes_and_needs_a_reader(
    app: Any,
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    agent_token: str,
) -> None:
    await _usage_world(client, as_role, seed)
    op = as_role("operator")
    r = await client.patch(
        "/api/v1/foundations/a2",
        json={"attributes": {"sim_vm_spec": {"cpu_count": 8}}},
        headers=op,
    )
    assert r.status_code == 200, r.text
    r = await client.get("/api/v1/stats/usage?group_by=complex&complex=kvm-a", headers=op)
    assert r.json() == [_row("kvm-a", 2, 1, 12, 8704, 20, 2)]
    assert (await client.delete("/api/v1/foundations/a2", headers=op)).status_code == 204
    r = await client.get("/api/v1/stats/usage?group_by=complex&complex=kvm-a", headers=op)
    assert r.json() == [_row("kvm-a", 1, 1, 4, 8192, 10, 2)]
    agent = {"Authorization": f"Bearer {agent_token}"}
    r = await client.get("/api/v1/stats/usage?group_by=site", headers=agent)
    assert r.status_code == 403
    r = await client.get("/api/v1/stats/usage?group_by=site")
    assert r.status_code == 401
