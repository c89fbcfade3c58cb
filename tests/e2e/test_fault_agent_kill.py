"""The agent dies mid-task: idempotent tasks run again, a non-idempotent one stops the job."""

from __future__ import annotations

from e2ekit import (
    Cluster,
    ProtocolAgent,
    act,
    add_foundation,
    agent_tasks,
    import_bundle,
    job_log,
    start_job,
    wait_for,
    wait_state,
)

BUNDLE = """
[script.ak-echo]
script = \"\"\"
slow = sim.echo( value=7, delay=5 )
\"\"\"

[script.ak-create]
script = \"\"\"
vm = sim.create( vm_spec={ name='ak-vm' } )
\"\"\"

[foundation.ak-echo]
description = "One slow idempotent task"
foundation_types = [ "sim" ]
scripts = { create = "ak-echo" }

[foundation.ak-create]
description = "One non-idempotent task"
foundation_types = [ "sim" ]
scripts = { create = "ak-create" }
"""


def _imported(cluster: Cluster) -> None:
    listed = cluster.client("inventory").get("/blueprints/foundation/ak-echo")
    if listed.status_code != 200:
        import_bundle(cluster, BUNDLE)


def test_idempotent_task_runs_again_on_a_new_agent(fault_cluster: Cluster) -> None:
    cluster = fault_cluster
    _imported(cluster)
    add_foundation(cluster, "ak-echo-01", "ak-echo")
    job_id = start_job(cluster, "ak-echo-01", "create")

    def running_at_agent() -> dict[str, object] | None:
        tasks = agent_tasks(cluster, job_id)
        return tasks[0] if tasks and tasks[0]["state"] in ("leased", "started") else None

    first = wait_for(running_at_agent, 60, "the echo task at the agent")
    assert first["attempt"] == 1
    cluster.replace_agent(cluster.agent_config, kill=True)  # SIGKILL mid-echo, then a new one

    wait_state(cluster, job_id, "done", timeout_s=90)
    tasks = agent_tasks(cluster, job_id)
    assert len(tasks) == 1, tasks  # the same task (same request id), offered again
    assert tasks[0]["id"] == first["id"]
    assert tasks[0]["state"] == "succeeded" and tasks[0]["attempt"] >= 2, tasks
    assert tasks[0]["result"] == {"value": 7}


def test_non_idempotent_task_lost_puts_job_in_error_and_reset_retries(
    fault_cluster: Cluster,
) -> None:
    cluster = fault_cluster
    _imported(cluster)
    # sim.create answers at once, so a SIGKILL cannot land reliably between its start
    # acknowledgement and its result. The stand-in agent stops exactly there instead.
    cluster.agent.stop()
    stand_in = ProtocolAgent(cluster)
    add_foundation(cluster, "ak-create-01", "ak-create")
    job_id = start_job(cluster, "ak-create-01", "create")
    offer = stand_in.take("create")
    assert offer["needs_start_ack"] is True
    stand_in.acknowledge_start(offer)
    stand_in.close()
    # A new agent process registers under the same name: the old incarnation's started
    # non-idempotent task is lost at once, never re-offered (spec §4.3).
    cluster.replace_agent(cluster.agent_config, kill=True)

    failed = wait_state(cluster, job_id, "error", timeout_s=60)
    assert failed["origin"] == "call", failed
    assert "lost" in failed["message"] and "e2e-sim" in failed["message"], failed
    assert "reset" in failed["actions"]
    (lost,) = agent_tasks(cluster, job_id)
    assert lost["id"] == offer["id"] and lost["state"] == "lost" and lost["attempt"] == 1, lost

    act(cluster, job_id, "reset")
    wait_state(cluster, job_id, "done", timeout_s=60)
    tasks = agent_tasks(cluster, job_id)
    assert [t["state"] for t in tasks] == ["lost", "succeeded"], tasks
    assert tasks[1]["id"] != offer["id"]  # reset makes a new request, hence a new task
    assert tasks[1]["result"]["id"], tasks[1]
    messages = " ".join(str(entry.get("message")) for entry in job_log(cluster, job_id))
    assert "retrying sim.create" in messages, messages
