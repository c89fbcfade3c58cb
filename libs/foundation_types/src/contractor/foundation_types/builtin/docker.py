"""The ``docker`` foundation type: a container on a docker complex."""

from __future__ import annotations

from typing import Annotated, Final

from contractor.foundation_types.builtin.models import Attributes
from contractor.foundation_types.declaration import ComplexRule, FoundationType
from contractor.foundation_types.functions import HostFunction, Param, create, destroy, opt
from contractor.foundation_types.markers import RUNTIME
from contractor.foundation_types.values import SpecRule, SpecSource, TypeValue


class ContainerSpec(Attributes):
    """``docker_container_spec``: overrides of the config fallbacks."""

    image: str | None = None
    command: str | list[str] | None = None
    environment: dict[str, str] | None = None
    ports: list[int | str] | None = None


class DockerAttributes(Attributes):
    """A container; structures on it use pointer addresses."""

    docker_container_spec: ContainerSpec | None = None
    docker_id: Annotated[str | None, RUNTIME] = None


CONTAINER_SPEC_RULE: Final = SpecRule(
    "docker_containerspec",
    "docker_container_spec",
    sources=(
        SpecSource("image", "docker_image"),
        SpecSource("command", "docker_command"),
        SpecSource("environment", "docker_environment_map"),
        SpecSource("ports", "docker_port_list"),
    ),
)

DOCKER: Final = FoundationType(
    name="docker",
    display_name="Docker",
    prefix="docker_",
    class_list=("Container", "Docker"),
    attributes_model=DockerAttributes,
    complex=ComplexRule("required", ("docker",)),
    agent_module="docker",
    functions=(
        create("docker", "create", "remove"),
        destroy("docker", "remove"),
        HostFunction("start", (), "task", "docker", ("start",), returns="container state"),
        HostFunction(
            "stop", (opt("timeout", 10),), "task", "docker", ("stop",), returns="container state"
        ),
        HostFunction("state", (), "task", "docker", ("inspect",), returns="container state"),
        HostFunction(
            "map_ports",
            (Param("container_spec"),),
            "server",
            returns="port map (idempotent by call id)",
        ),
        HostFunction("unmap_ports", (), "server"),
    ),
    values=(
        TypeValue("docker_complex"),
        TypeValue("docker_containerspec"),
        TypeValue("docker_id", writable=True),
    ),
    spec_rule=CONTAINER_SPEC_RULE,
    description="A container on a docker complex.",
)
