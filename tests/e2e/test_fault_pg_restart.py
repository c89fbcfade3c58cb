"""PostgreSQL restarts under running jobs (a private server, never the machine's shared one)."""

from __future__ import annotations

import httpx
from e2ekit import (
    Cluster,
    PrivatePostgres,
    add_foundation,
    agent_tasks,
    import_bundle,
    job,
    start_job,
    wait_for,
)

JOBS = 20

BUNDLE = """
[script.pg-create]
script = \"\"\"
first = sim.echo( value=1, delay=2 )
delay( seconds=1 )
second = sim.echo( value=2, delay=2 )
\"\"\"

[foundation.pg-sim]
description = "Two slow echoes around a delay"
foundation_types = [ "sim" ]
scripts = { create = "pg-create" }
"""


def test_jobs_survive_a_database_restart(
    pg_restart_cluster: Cluster, private_pg: PrivatePostgres
) -> None:
    cluster = pg_restart_cluster
    import_bundle(cluster, BUNDLE)
    locators = [f"pg-{i:02d}" for i in range(JOBS)]
    for locator in locators:
        add_foundation(cluster, locator, "pg-sim")
    job_ids = [start_job(cluster, locator, "create") for locator in locators]

    def at_agent() -> bool:
        return any(
            t["state"] in ("leased", "started") for i in job_ids for t in agent_tasks(cluster, i)
        )

    wait_for(at_agent, 60, "agent tasks running")
    private_pg.stop()

    def foreman_ready() -> int:
        return httpx.get(f"{cluster.foreman_url}/readyz", timeout=10).status_code

    wait_for(lambda: foreman_ready() == 503, 30, "foreman to notice the database is gone")
    private_pg.start()

    def all_done() -> bool:
        states = {i: job(cluster, i)["state"] for i in job_ids}
        failed = {
            i: (s, job(cluster, i)["message"])
            for i, s in states.items()
            if s in ("error", "aborted", "canceled")
        }
        assert not failed, f"jobs failed after the database restart: {failed}"
        return all(s == "done" for s in states.values())

    wait_for(all_done, 120, f"all {JOBS} jobs done")
    for job_id in job_ids:
        tasks = agent_tasks(cluster, job_id)
        assert [t["result"] for t in tasks] == [{"value": 1}, {"value": 2}], tasks
    assert foreman_ready() == 200  # the database answers and no background loop died
    inventory = cluster.client("inventory")
    assert {inventory.get(f"/foundations/{loc}").json()["state"] for loc in locators} == {"built"}
