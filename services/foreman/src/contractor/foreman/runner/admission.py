"""Creating a job: reserve the target at inventory and admit the answer (spec §2.4)."""

from __future__ import annotations

from typing import Any

from contractor.foreman import orm, states
from contractor.foreman.errors import ForemanError, JobExists
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.runner import cleanup
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, log, programs, signals
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.errors import ParseError
from tscript.program import compile_program


class ScriptInvalid(ForemanError):
    """The target's script does not parse."""

    status = 422
    type_slug = "script-invalid"
    title = "Script invalid"


async def refuse_if_busy(session: AsyncSession, kind: str, key: str) -> None:
    """409 ``job-exists`` while the target has an active job or a slot release pending."""
    active = await jobs.active_for_target(session, kind, key)
    if active is not None:
        raise JobExists(
            f"{kind} {key} has job {active.id} ({active.state})",
            job_id=active.id,
            state=active.state,
        )
    terminal = await session.scalars(
        select(orm.Job).where(orm.Job.target_kind == kind, orm.Job.target_key == key)
    )
    for job in terminal:
        if await cleanup.release_pending(session, job):
            raise JobExists(
                f"{kind} {key}: job {job.id} is still releasing the target",
                job_id=job.id,
                state=job.state,
            )


async def create(
    session: AsyncSession,
    inventory: InventoryClient,
    rt: Runtime,
    *,
    kind: str,
    key: str,
    script: str,
    wait: bool,
    actor: str,
) -> orm.Job:
    """Insert, reserve and admit a job in the caller's transaction.

    Any refusal raises and the caller's rollback leaves no job, log row or event.
    """
    await refuse_if_busy(session, kind, key)
    now = rt.clock.now()
    try:
        job = await jobs.create(
            session,
            target_kind=kind,
            target_key=key,
            script=script,
            wait_for_prerequisites=wait,
            created_by=actor,
            now=now,
        )
    except IntegrityError:
        raise JobExists(f"{kind} {key} has an active job", job_id=None, state=None) from None
    answer = await inventory.reserve(kind, key, job_id=job.id, script=script, wait=wait)
    if answer.get("outcome") == "granted" and "snapshot" not in answer:
        answer["snapshot"] = await inventory.snapshot(kind, key)
    await admit(session, job, answer, actor=actor, rt=rt)
    return job


async def admit(
    session: AsyncSession, job: orm.Job, answer: dict[str, Any], *, actor: str, rt: Runtime
) -> None:
    """Record inventory's reservation answer: granted → running, blocked → queued."""
    if answer.get("outcome") != "granted":
        job.wait = {"kind": "prerequisite", "waiting_on": answer.get("waiting_on") or []}
        await jobs.record_created(session, job, actor=actor)
        return
    program_id = await _program(session, job, answer)
    await jobs.record_created(session, job, actor=actor)
    await grant(session, job, answer, program_id, rt=rt)


async def _program(session: AsyncSession, job: orm.Job, answer: dict[str, Any]) -> str:
    script = answer.get("script") or {}
    source = str(script.get("body") or "")
    try:
        compile_program(source)
    except ParseError as exc:
        raise ScriptInvalid(
            f"script {script.get('name') or job.script_name}: {exc}",
            errors=[{"line": exc.line, "column": exc.column, "msg": str(exc)}],
        ) from None
    return await programs.ensure(session, source)


async def grant(
    session: AsyncSession,
    job: orm.Job,
    answer: dict[str, Any],
    program_id: str,
    *,
    rt: Runtime,
    note: str | None = None,
) -> None:
    """Start a job whose reservation inventory granted: program, snapshot, ``running``."""
    now = rt.clock.now()
    job.program_id = program_id
    job.snapshot = rt.seal(answer.get("snapshot") or {})
    job.site = _site(job.snapshot)
    job.wait = None
    source = await programs.source(session, program_id)
    for message in (note, "empty script" if not source.strip() else None):
        if message:
            await log.append(
                session, job.id, at=now, actor="system:stepper", action="note", message=message
            )
    await signals.arm(session, job.id, None, now, signals.new_token())
    await jobs.transition(session, job, "start", actor="system:stepper", now=now)
    job.runnable_at = now
    await rt.announce(session, rt.jobs)


async def regrant(
    session: AsyncSession, job: orm.Job, answer: dict[str, Any], *, rt: Runtime
) -> None:
    """A waiting job's repeated reservation: start it, or update what it waits on."""
    if answer.get("outcome") == "granted":
        program_id = await _program(session, job, answer)
        await grant(session, job, answer, program_id, rt=rt, note="prerequisites satisfied")
    else:
        job.wait = {"kind": "prerequisite", "waiting_on": answer.get("waiting_on") or []}


def _site(snapshot: dict[str, Any]) -> str | None:
    for part in ("target", "structure", "foundation"):
        value = snapshot.get(part)
        if isinstance(value, dict) and value.get("site"):
            return str(value["site"])
    # A foundation's site is among its values (inventory.md §4.1), and in the merged config.
    foundation = snapshot.get("foundation")
    values = foundation.get("values") if isinstance(foundation, dict) else None
    if isinstance(values, dict) and values.get("site"):
        return str(values["site"])
    config = snapshot.get("config")
    if isinstance(config, dict) and config.get("_site"):
        return str(config["_site"])
    return None


def is_terminal(job: orm.Job) -> bool:
    """Whether the job is in a terminal state."""
    return JobState(job.state) in states.TERMINAL
