"""Foreman is SIGKILLed with many jobs in flight; after a restart all finish, no task twice.

"No task twice" is checked twice: by attempt numbers in foreman, and by the sim agent's own
execution ledger (``[plugins.sim] executions_file``, one fsynced line per execution).
"""

from __future__ import annotations

import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from e2ekit import (
    Cluster,
    add_foundation,
    agent_tasks,
    import_bundle,
    job,
    job_log,
    sim_executions,
    wait_for,
)

#: Jobs in flight when foreman dies (the issue asks for 200).
JOBS = int(os.environ.get("CONTRACTOR_FAULT_JOBS", "200"))

BUNDLE = """
[script.fk-create]
script = \"\"\"
first = sim.echo( value=1, delay=2 )
second = sim.echo( value=2, delay=2 )
\"\"\"

[foundation.fk-sim]
description = "Simulated server, two slow echoes"
foundation_types = [ "sim" ]
scripts = { create = "fk-create" }
"""


def test_foreman_sigkill_with_jobs_in_flight(fault_cluster: Cluster) -> None:
    cluster = fault_cluster
    import_bundle(cluster, BUNDLE)
    locators = [f"fk-{i:03d}" for i in range(JOBS)]
    inventory, foreman = cluster.client("inventory"), cluster.client("foreman")
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda loc: add_foundation(cluster, loc, "fk-sim", inventory), locators))

        def create(locator: str) -> int:
            answer = foreman.post(f"/foundations/{locator}/jobs", json={"script": "create"})
            assert answer.status_code == 201, answer.text
            return int(answer.json()["id"])

        job_ids = list(pool.map(create, locators))

    def tasks_at_agent() -> int:
        held = 0
        for state in ("leased", "started"):
            listed = foreman.get("/tasks", params={"state": state, "module": "sim", "limit": 1000})
            assert listed.status_code == 200, listed.text
            held += len(listed.json()["items"])
        return held

    # Kill while agent tasks are out (delivered to the agent, running), not before they exist.
    wait_for(lambda: tasks_at_agent() >= min(JOBS, 20), 90, "agent tasks running")
    cluster.restart("foreman", kill=True)

    def all_tasks(job_id: int) -> list[dict[str, object]]:
        items: list[dict[str, object]] = foreman.get(f"/jobs/{job_id}/tasks").json()["items"]
        return items

    def unfinished() -> list[int]:
        found = {i: job(cluster, i) for i in job_ids}
        states = {i: j["state"] for i, j in found.items()}
        failed = {
            i: (j["state"], j.get("message"), job_log(cluster, i), all_tasks(i))
            for i, j in found.items()
            if j["state"] in ("error", "aborted", "canceled")
        }
        assert not failed, f"jobs failed after the restart: {failed}"
        return [i for i, s in states.items() if s != "done"]

    wait_for(lambda: not unfinished(), 180, f"all {JOBS} jobs done")

    # The sim agent's ledger (one fsynced line per execution): every task ran exactly once.
    ours = set(job_ids)
    runs = Counter(str(e["task_id"]) for e in sim_executions(cluster) if e["job_id"] in ours)
    task_ids: set[str] = set()
    for job_id in job_ids:
        tasks = agent_tasks(cluster, job_id)
        assert [t["function"] for t in tasks] == ["echo", "echo"], tasks
        assert [runs[t["id"]] for t in tasks] == [1, 1], (job_id, tasks)
        task_ids.update(t["id"] for t in tasks)
        # Attempt 1 everywhere: no task was re-offered, so none ran twice (spec §4.3, alt B).
        assert all(t["state"] == "succeeded" and t["attempt"] == 1 for t in tasks), tasks
        actions = " ".join(
            str(e.get("action")) + str(e.get("message")) for e in job_log(cluster, job_id)
        )
        assert "lost" not in actions and "retr" not in actions, actions
    assert set(runs) == task_ids, "the agent ran tasks foreman does not list"
    assert sum(runs.values()) == 2 * JOBS
    states = {loc: inventory.get(f"/foundations/{loc}").json()["state"] for loc in locators}
    assert states == dict.fromkeys(locators, "built")
