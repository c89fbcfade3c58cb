"""Per-target job routes: ``/api/v1/{foundations|structures|dependencies}/{key}/jobs``."""

from __future__ import annotations

from typing import Final

from contractor.foreman.api.jobs import job_json
from contractor.foreman.auth import actor
from contractor.foreman.deps import Inventory, Operator, Reader, RuntimeDep, SessionDep
from contractor.foreman.runner import admission
from contractor.foreman.schemas.jobs import JobRead, TargetJobCreate
from contractor.foreman.store import jobs
from contractor.servicekit.pagination import Page
from fastapi import APIRouter, Response

router = APIRouter(tags=["jobs"])
KINDS: Final = {
    "foundations": "foundation",
    "structures": "structure",
    "dependencies": "dependency",
}


def _add_routes(collection: str, kind: str) -> None:
    @router.post(f"/{collection}/{{key}}/jobs", status_code=201, name=f"create_{kind}_job")
    async def create_target_job(
        key: str,
        body: TargetJobCreate,
        session: SessionDep,
        inventory: Inventory,
        rt: RuntimeDep,
        caller: Operator,
        response: Response,
    ) -> JobRead:
        """Create a job on this target."""
        async with session.begin():
            job = await admission.create(
                session,
                inventory,
                rt,
                kind=kind,
                key=key,
                script=body.script,
                wait=body.wait_for_prerequisites,
                actor=actor(caller),
            )
            answer = await job_json(session, job)
        response.headers["Location"] = f"/api/v1/jobs/{job.id}"
        return answer

    @router.get(f"/{collection}/{{key}}/jobs", name=f"list_{kind}_jobs")
    async def list_target_jobs(key: str, session: SessionDep, _: Reader) -> Page[JobRead]:
        """This target's jobs, newest first."""
        rows = await jobs.for_target(session, kind, key)
        return Page[JobRead](items=[await job_json(session, r) for r in rows])


for _collection, _kind in KINDS.items():
    _add_routes(_collection, _kind)
