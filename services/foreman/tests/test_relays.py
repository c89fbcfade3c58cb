from __future__ import annotations

import httpx
from foreman_agentkit import TestAgent
from foreman_fake_inventory import FakeInventory
from foreman_testkit import job_in

SCRIPT = "signaling.reset(pxe_name='installer')\nsignaling.wait_for_completion()\n"
MAC = "52:54:00:12:34:56"


async def waiting(client: httpx.AsyncClient, inventory: FakeInventory) -> int:
    inventory.add("foundation", "sim1", state="located", scripts={"create": SCRIPT})
    inventory.macs[MAC] = ("foundation", "sim1")
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    await job_in(client, job["id"], "waiting_signal")
    job_id: int = job["id"]
    return job_id


class TestRelays:
    async def test_render_adds_the_signal_url_then_mac_signal_finishes(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        job_id = await waiting(client, inventory)
        body = {
            "kind": "boot_script",
            "selector": {"mac": MAC},
            "client": {"ip": "10.0.0.30", "mac": MAC, "arch": 7},
            "boot_base": "http://10.0.0.2:8071",
            "request_url": f"http://10.0.0.2:8071/boot/v1/ipxe?mac={MAC}",
        }
        r = await agent.call("/boot/render", body)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert answer["job_id"] == job_id and answer["status"] == 200
        [(_, _, sent)] = [c for c in inventory.calls if c[0] == "render"]
        assert sent["site"] == "dc1"
        assert sent["variables"]["__signal_url"].startswith(
            "http://10.0.0.2:8071/boot/v1/signal/sig_"
        )
        assert sent["variables"]["__client_platform"] == "efi"
        r = await agent.call("/boot/signal", {"mac": MAC, "origin": "agent", "status": "complete"})
        assert r.json()["result"] == "received"
        await job_in(client, job_id, "done")
        marks = (await client.get(f"/api/v1/jobs/{job_id}/timeline")).json()["marks"]
        assert {"boot.script", "signal.received"} <= {m["mark"] for m in marks}

    async def test_unknown_mac_is_404(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        r = await agent.call("/boot/signal", {"mac": "02:00:00:00:00:01", "origin": "agent"})
        assert r.status_code == 404
        r = await agent.call("/boot/signal", {"status": "complete"})
        assert r.status_code == 422

    async def test_discovery_is_relayed_with_the_site(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        report = {"ip_address": "10.0.0.120", "boot_mac": MAC, "source": "image", "hardware": {}}
        r = await agent.call("/boot/discovery", {"client": {"ip": "10.0.0.120"}, "report": report})
        assert r.json()["next"] == "poweroff"
        assert [c[1] for c in inventory.calls if c[0] == "discovery"] == ["dc1"]
        r = await agent.call("/boot/discovery", {"report": {**report, "site": "dc9"}})
        assert r.status_code == 403

    async def test_dhcp_pools_long_poll(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        headers = {"Authorization": "Bearer agent-token"}
        url = "/agent/v1/dhcp/pools"
        r = await client.get(url, params={"site": "dc1", "wait_s": 0}, headers=headers)
        assert r.json()["changed"] is True and r.json()["revision"] == "1"
        params = {"site": "dc1", "after_revision": "1", "wait_s": 0}
        r = await client.get(url, params=params, headers=headers)
        assert r.json() == {"site": "dc1", "revision": "1", "changed": False}
        r = await client.get(url, params={"site": "dc2"}, headers=headers)
        assert r.status_code == 403
