"""``docker.map_ports`` / ``unmap_ports``: server tasks calling inventory's ``/job-calls`` (§4.6).

Inventory's endpoint is stood in for by the fake (``foreman_fake_inventory``): it allocates ports
from a counter and answers a repeated ``call_id`` with its first answer.
"""

from __future__ import annotations

from typing import Any

import httpx
from foreman_fake_inventory import FakeInventory
from foreman_testkit import job_in

MAP = "ports = foundation.map_ports(container_spec={ports=[80, 443]})\n"
UNMAP = "gone = foundation.unmap_ports()\n"


async def start(client: httpx.AsyncClient, inventory: FakeInventory, script: str) -> int:
    inventory.add("foundation", "c1", state="located", ftype="docker", scripts={"create": script})
    r = await client.post("/api/v1/foundations/c1/jobs", json={"script": "create"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def variables(client: httpx.AsyncClient, job_id: int) -> dict[str, Any]:
    found: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}/state")).json()["variables"]
    return found


async def server_calls(client: httpx.AsyncClient, job_id: int) -> list[dict[str, Any]]:
    items = (await client.get(f"/api/v1/jobs/{job_id}/tasks")).json()["items"]
    return [t for t in items if t["function"] in ("map_ports", "unmap_ports")]


def job_calls(inventory: FakeInventory) -> list[dict[str, Any]]:
    return [body for name, _, body in inventory.calls if name == "job-call"]


class TestMapPorts:
    async def test_map_then_unmap(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job_id = await start(client, inventory, MAP + UNMAP)
        await job_in(client, job_id, "done")
        assert await variables(client, job_id) == {
            "ports": {"80": 30000, "443": 30001},
            "gone": None,
        }
        mapped, unmapped = await server_calls(client, job_id)
        assert (mapped["module"], mapped["purpose"], mapped["state"]) == (
            "_inventory",
            "call",
            "succeeded",
        )
        assert mapped["idempotent"] is True and unmapped["function"] == "unmap_ports"
        sent = job_calls(inventory)
        assert sent == [
            {
                "job_id": job_id,
                "call_id": mapped["id"],
                "op": "map_ports",
                "params": {"container_spec": {"ports": [80, 443]}},
            },
            {"job_id": job_id, "call_id": unmapped["id"], "op": "unmap_ports", "params": {}},
        ]
        assert "docker_port_map" not in inventory.targets[("foundation", "c1")].config

    async def test_script_sees_the_port_map_in_its_config_at_once(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        script = MAP + "seen = config.docker_port_map\nport = config.docker_check_port\n"
        job_id = await start(client, inventory, script)
        await job_in(client, job_id, "done")
        found = await variables(client, job_id)
        assert found["seen"] == found["ports"] == {"80": 30000, "443": 30001}
        assert found["port"] == 30000

    async def test_retried_call_keeps_its_call_id(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        inventory.unavailable = 1  # the first /job-calls answers 503: retried with backoff
        job_id = await start(client, inventory, MAP)
        waiting = await job_in(client, job_id, "waiting_task")
        assert not waiting["message"].startswith("no agent serves")
        await job_in(client, job_id, "done")
        first, second = job_calls(inventory)
        assert first == second  # same call id: inventory answers the repeat idempotently
        [task] = await server_calls(client, job_id)
        assert first["call_id"] == task["id"] and task["attempt"] == 1
        assert await variables(client, job_id) == {"ports": {"80": 30000, "443": 30001}}
        assert inventory.next_port == 30002  # allocated once

    async def test_refused_call_is_a_call_error(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        inventory.refuse_calls = True
        job_id = await start(client, inventory, MAP)
        failed = await job_in(client, job_id, "error")
        assert failed["origin"] == "call"
        assert failed["message"] == "_inventory.map_ports: no free port in 30000-30001"
        inventory.refuse_calls = False
        r = await client.post(f"/api/v1/jobs/{job_id}/rollback", json={})
        assert r.status_code == 200, r.text  # rollback noop: the call is made again
        await job_in(client, job_id, "done")
        calls = job_calls(inventory)
        assert len(calls) == 2 and calls[0]["call_id"] != calls[1]["call_id"]
        assert await variables(client, job_id) == {"ports": {"80": 30000, "443": 30001}}
