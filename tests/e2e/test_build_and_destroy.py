"""A structure is built and destroyed across real processes on PostgreSQL."""

from __future__ import annotations

from typing import Any

from e2ekit import Cluster, wait_for

BUNDLE = """
sflinks = [ [ "e2e-web", "e2e-sim" ] ]

[script.e2e-sim-create]
script = \"\"\"
begin( description="Check the BMC" )
  foundation.link_test()
  foundation.power_off()
end
\"\"\"

[script.e2e-web-create]
script = \"\"\"
begin( description="Install", expected_time=0:10 )
  foundation.power_on()
  delay( seconds=1 )
end
\"\"\"

[script.e2e-web-destroy]
script = \"\"\"
foundation.power_off()
\"\"\"

[foundation.e2e-sim]
description = "Simulated server"
foundation_types = [ "sim" ]
scripts = { create = "e2e-sim-create" }

[structure.e2e-web]
description = "Web server"
scripts = { create = "e2e-web-create", destroy = "e2e-web-destroy" }
foundation_blueprints = [ "e2e-sim" ]
config_values = { http_port = 8080 }
"""


def _job_done(cluster: Cluster, job_id: int) -> dict[str, Any] | None:
    job: dict[str, Any] = cluster.client("foreman").get(f"/jobs/{job_id}").json()
    if job["state"] in ("error", "aborted", "canceled"):
        raise AssertionError(f"job {job_id} ended {job['state']}: {job.get('message')}")
    return job if job["state"] == "done" else None


def test_structure_is_built_and_destroyed(cluster: Cluster) -> None:
    inventory, foreman = cluster.client("inventory"), cluster.client("foreman")
    imported = inventory.post(
        "/blueprints/import", content=BUNDLE.encode(), headers={"Content-Type": "application/toml"}
    )
    assert imported.status_code == 200, imported.text
    created = inventory.post(
        "/foundations",
        json={"locator": "e2e-01", "site": "e2e-rack", "blueprint": "e2e-sim", "type": "sim"},
    )
    assert created.status_code == 201, created.text
    job = foreman.post("/foundations/e2e-01/jobs", json={"script": "create"})
    assert job.status_code == 201, job.text
    wait_for(lambda: _job_done(cluster, job.json()["id"]), what="foundation create job")
    assert inventory.get("/foundations/e2e-01").json()["state"] == "built"

    structure = inventory.post(
        "/structures",
        json={
            "hostname": "web01",
            "site": "e2e-rack",
            "blueprint": "e2e-web",
            "foundation": "e2e-01",
        },
    )
    assert structure.status_code == 201, structure.text
    sid = structure.json()["id"]
    build = foreman.post(f"/structures/{sid}/jobs", json={"script": "create"})
    assert build.status_code == 201, build.text
    done = wait_for(lambda: _job_done(cluster, build.json()["id"]), what="structure create job")
    assert done["progress"]["percent"] == 100
    assert inventory.get(f"/structures/{sid}").json()["state"] == "built"
    log = foreman.get(f"/jobs/{build.json()['id']}/log").json()
    states = [entry["to"] for entry in log["items"] if entry.get("to")]
    assert states[0] == "queued" and states[-1] == "done", states
    assert all(entry["actor"] and entry["at"] for entry in log["items"])
    assert inventory.get(f"/structures/{sid}/config").json()["http_port"] == 8080

    destroy = foreman.post(f"/structures/{sid}/jobs", json={"script": "destroy"})
    assert destroy.status_code == 201, destroy.text
    wait_for(lambda: _job_done(cluster, destroy.json()["id"]), what="structure destroy job")
    assert inventory.get(f"/structures/{sid}").json()["state"] == "planned"
    events = inventory.get("/events", params={"after": 0, "wait": 0}).json()
    kinds = [event["type"] for event in events["events"]]
    assert "structure.built" in kinds and "structure.destroyed" in kinds, kinds
    job_events = foreman.get("/events", params={"after": 0, "wait": 0}).json()["events"]
    assert any(event["type"] == "job.done" for event in job_events)
