"""State transition requests (§12.3)."""

from __future__ import annotations

from typing import Literal

from contractor.inventory.schemas.fields import ClosedBody
from pydantic import ConfigDict, Field

State = Literal["planned", "located", "built"]


class StateChange(ClosedBody):
    """``POST /{targets}/{key}/state``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    from_state: State = Field(alias="from")
    to_state: State = Field(alias="to")
    job_id: int | None = Field(None, ge=1)
    release_job: bool = False
