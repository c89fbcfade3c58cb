"""Script and call errors, reset, pause/resume and cancel through the API (healthy cluster)."""

from __future__ import annotations

import time

import pytest
from e2ekit import (
    Cluster,
    act,
    add_foundation,
    agent_tasks,
    import_bundle,
    job,
    job_log,
    start_job,
    wait_for,
    wait_state,
)

BUNDLE = """
[script.fa-script-error]
script = \"\"\"
before = sim.echo( value=1 )
error( msg='boom' )
after = sim.echo( value=2 )
\"\"\"

[script.fa-call-error]
script = \"\"\"
value = sim.echo( value=1, fail='fatal' )
\"\"\"

[script.fa-pause]
script = \"\"\"
first = sim.echo( value=1 )
delay( seconds=2 )
second = sim.echo( value=2 )
\"\"\"

[script.fa-long]
script = \"\"\"
delay( seconds=600 )
\"\"\"

[foundation.fa-script-error]
description = "error() in the middle"
foundation_types = [ "sim" ]
scripts = { create = "fa-script-error" }

[foundation.fa-call-error]
description = "A plugin call that fails"
foundation_types = [ "sim" ]
scripts = { create = "fa-call-error" }

[foundation.fa-pause]
description = "A delay to pause in"
foundation_types = [ "sim" ]
scripts = { create = "fa-pause" }

[foundation.fa-long]
description = "A long delay to cancel"
foundation_types = [ "sim" ]
scripts = { create = "fa-long" }
"""


@pytest.fixture(scope="module")
def jobs_cluster(cluster: Cluster) -> Cluster:
    """The healthy cluster with this module's blueprints."""
    import_bundle(cluster, BUNDLE)
    return cluster


def _foundation(cluster: Cluster, locator: str) -> dict[str, object]:
    answer = cluster.client("inventory").get(f"/foundations/{locator}")
    assert answer.status_code == 200, answer.text
    value: dict[str, object] = answer.json()
    return value


def test_script_error_then_reset_continues_to_done(jobs_cluster: Cluster) -> None:
    cluster = jobs_cluster
    add_foundation(cluster, "fa-script-01", "fa-script-error")
    job_id = start_job(cluster, "fa-script-01", "create")
    failed = wait_state(cluster, job_id, "error")
    assert failed["origin"] == "script" and "boom" in failed["message"], failed
    assert [t["result"] for t in agent_tasks(cluster, job_id)] == [{"value": 1}]
    assert _foundation(cluster, "fa-script-01")["state"] != "built"

    act(cluster, job_id, "reset")  # continues after error(), which returns None
    wait_state(cluster, job_id, "done")
    assert [t["result"] for t in agent_tasks(cluster, job_id)] == [{"value": 1}, {"value": 2}]
    assert _foundation(cluster, "fa-script-01")["state"] == "built"
    assert _foundation(cluster, "fa-script-01")["job"] is None


def test_failing_call_errors_and_reset_retries_the_call(jobs_cluster: Cluster) -> None:
    cluster = jobs_cluster
    add_foundation(cluster, "fa-call-01", "fa-call-error")
    job_id = start_job(cluster, "fa-call-01", "create")
    failed = wait_state(cluster, job_id, "error")
    assert failed["origin"] == "call", failed
    assert failed["message"] == "sim.echo: sim: echo asked to fail (fatal)", failed
    (first,) = agent_tasks(cluster, job_id)
    assert first["state"] == "failed" and first["attempt"] == 1, first  # fatal: not retried

    act(cluster, job_id, "reset")  # the same call again, as a new task; it fails the same way
    wait_for(lambda: len(agent_tasks(cluster, job_id)) == 2, what="the retried task")
    again = wait_state(cluster, job_id, "error")
    assert again["message"] == failed["message"]
    tasks = agent_tasks(cluster, job_id)
    assert [t["state"] for t in tasks] == ["failed", "failed"] and tasks[0]["id"] != tasks[1]["id"]
    assert tasks[1]["parameters"] == first["parameters"]  # not re-evaluated
    assert "retrying sim.echo" in " ".join(str(e["message"]) for e in job_log(cluster, job_id))

    act(cluster, job_id, "cancel")
    wait_for(lambda: not job(cluster, job_id)["release_pending"], what="slot released")
    assert _foundation(cluster, "fa-call-01")["job"] is None


def test_pause_and_resume(jobs_cluster: Cluster) -> None:
    cluster = jobs_cluster
    add_foundation(cluster, "fa-pause-01", "fa-pause")
    job_id = start_job(cluster, "fa-pause-01", "create")
    wait_state(cluster, job_id, "waiting_delay")
    paused = act(cluster, job_id, "pause")
    assert paused["state"] == "paused" and paused["origin"] == "operator", paused
    assert "resume" in paused["actions"]
    time.sleep(3)  # longer than the script's delay: a paused job must not move on
    assert job(cluster, job_id)["state"] == "paused"
    assert len(agent_tasks(cluster, job_id)) == 1

    resumed = act(cluster, job_id, "resume")
    assert resumed["state"] in ("running", "waiting_delay", "waiting_task", "done"), resumed
    wait_state(cluster, job_id, "done")
    assert [t["result"] for t in agent_tasks(cluster, job_id)] == [{"value": 1}, {"value": 2}]
    steps = [(e["action"], e["to"]) for e in job_log(cluster, job_id)]
    assert ("pause", "paused") in steps and any(a == "resume" for a, _ in steps), steps


def test_cancel_running_job_releases_the_slot(jobs_cluster: Cluster) -> None:
    cluster = jobs_cluster
    add_foundation(cluster, "fa-long-01", "fa-long")
    job_id = start_job(cluster, "fa-long-01", "create")
    wait_state(cluster, job_id, "waiting_delay")
    held = _foundation(cluster, "fa-long-01")["job"]
    assert isinstance(held, dict) and held["job_id"] == job_id, held

    canceled = act(cluster, job_id, "cancel")
    assert canceled["state"] == "canceled", canceled
    wait_for(lambda: not job(cluster, job_id)["release_pending"], what="slot released")
    assert _foundation(cluster, "fa-long-01")["job"] is None
    assert _foundation(cluster, "fa-long-01")["state"] != "built"
    # The target is free: a new job on it is accepted.
    again = start_job(cluster, "fa-long-01", "create")
    assert again != job_id
    act(cluster, again, "cancel")
    wait_for(lambda: not job(cluster, again)["release_pending"], what="second slot released")
