"""Calls of a running job (§12.4): ``map_ports`` and ``unmap_ports`` of docker foundations."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import ClosedBody
from pydantic import BaseModel, ConfigDict, Field

CALL_EXAMPLE: dict[str, Any] = {
    "job_id": 4711,
    "call_id": "task-9f2c",
    "op": "map_ports",
    "params": {"container_spec": {"image": "nginx:1.27", "ports": [80, "53/udp"]}},
}


class JobCall(ClosedBody):
    """``POST /job-calls``: ``params`` is ``{container_spec}`` for ``map_ports``, ``{}`` else."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [dict(CALL_EXAMPLE)]})

    job_id: int = Field(ge=1, le=2**63 - 1)
    call_id: str = Field(min_length=1, max_length=100)
    op: Literal["map_ports", "unmap_ports"]
    params: dict[str, Any] = Field(default_factory=dict)


class CallAddress(BaseModel):
    """The pointer address ``map_ports`` gave the container."""

    id: int
    interface_name: str
    pointer: int
    ip_address: str | None


class JobCallAnswer(BaseModel):
    """The answer to a call; a repeat of a ``call_id`` answers the first answer again."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "job_id": 4711,
                    "call_id": "task-9f2c",
                    "op": "map_ports",
                    "result": {"80/tcp": 30000, "53/udp": 30001},
                    "check_port": 30000,
                    "address": {
                        "id": 31,
                        "interface_name": "eth0",
                        "pointer": 7,
                        "ip_address": "10.0.0.10",
                    },
                }
            ]
        }
    )

    job_id: int
    call_id: str
    op: Literal["map_ports", "unmap_ports"]
    result: dict[str, int] | None = Field(
        description="map_ports: container port (`80/tcp`) → host port; unmap_ports: null"
    )
    check_port: int | None = Field(
        None, description="`docker_check_port`: host port of the first TCP port"
    )
    address: CallAddress | None = None
