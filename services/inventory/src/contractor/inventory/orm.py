"""ORM classes: inventory's tables (the outbox table comes from the service kit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from contractor.servicekit.db import UTCDateTime
from contractor.servicekit.outbox import events_table
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Json = JSON()
Id = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    """Declarative base with a naming convention (batch migrations on SQLite need names)."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: Json,
        list[Any]: Json,
    }


events = events_table(Base.metadata)


class Versioned:
    """Timestamps and the version every resource carries (ETag)."""

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)


class JobSlot:
    """The per-target job slot (§5.2): which foreman job holds the target."""

    job_id: Mapped[int | None] = mapped_column(BigInteger)
    job_script: Mapped[str | None] = mapped_column(String(50))
    job_kind: Mapped[str | None] = mapped_column(String(16))
    job_since: Mapped[datetime | None]


class Token(Versioned, Base):
    """An API token; only the hash of its secret is stored."""

    __tablename__ = "tokens"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    sites: Mapped[list[Any]] = mapped_column(default=list)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(100))
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class Site(Versioned, Base):
    """A site; sites nest."""

    __tablename__ = "sites"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))
    parent: Mapped[str | None] = mapped_column(ForeignKey("sites.name"))
    zone: Mapped[str | None] = mapped_column(String(253), index=True)
    config_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    discovery: Mapped[dict[str, Any] | None]


class Script(Versioned, Base):
    """A named TScript body."""

    __tablename__ = "scripts"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    description: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)


class Blueprint(Versioned, Base):
    """A foundation or structure blueprint (one name space for both kinds).

    Parents, script slots and foundation blueprint lists are JSON lists/objects of names; the
    store checks that the names exist and refuses deletes while they are referenced.
    """

    __tablename__ = "blueprints"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    description: Mapped[str] = mapped_column(String(200))
    parents: Mapped[list[Any]] = mapped_column(default=list)
    config_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    scripts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    foundation_types: Mapped[list[Any]] = mapped_column(default=list)
    physical_interface_names: Mapped[list[Any]] = mapped_column(default=list)
    hardware_rules: Mapped[list[Any]] = mapped_column(default=list)
    foundation_blueprints: Mapped[list[Any]] = mapped_column(default=list)


class Foundation(JobSlot, Versioned, Base):
    """One concrete thing to build on."""

    __tablename__ = "foundations"

    locator: Mapped[str] = mapped_column(String(100), primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"), index=True)
    blueprint: Mapped[str] = mapped_column(ForeignKey("blueprints.name"), index=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    complex: Mapped[str | None] = mapped_column(String(40), index=True)
    serial: Mapped[str | None] = mapped_column(String(100), unique=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    located_at: Mapped[datetime | None]
    built_at: Mapped[datetime | None]
    # ``resources`` (§3.4, §9): stored so that usage statistics are plain sums.
    cpu_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    memory_mb: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    disk_gb: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")


class Structure(JobSlot, Versioned, Base):
    """One concrete thing deployed on a foundation."""

    __tablename__ = "structures"
    __table_args__ = (UniqueConstraint("site", "hostname"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    hostname: Mapped[str] = mapped_column(String(63), index=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"), index=True)
    blueprint: Mapped[str] = mapped_column(ForeignKey("blueprints.name"), index=True)
    foundation: Mapped[str] = mapped_column(ForeignKey("foundations.locator"), unique=True)
    config_values: Mapped[dict[str, Any]] = mapped_column(default=dict)
    config_uuid: Mapped[str] = mapped_column(String(36), unique=True)
    state: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    built_at: Mapped[datetime | None]


class Transition(Base):
    """The log of every state change: time, actor, from, to, and whether it was forced."""

    __tablename__ = "transitions"
    __table_args__ = (
        Index("ix_transitions_target", "target_kind", "target_key"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_key: Mapped[str] = mapped_column(String(100))
    from_state: Mapped[str] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    reason: Mapped[str] = mapped_column(String(16))
    actor: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class Complex(Versioned, Base):
    """A group of structures that hosts foundations; ``state`` caches the derived state."""

    __tablename__ = "complexes"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"), index=True)
    description: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(40))
    built_percentage: Mapped[int] = mapped_column(Integer, default=90)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    sealed_secrets: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="planned")


class ComplexMember(Base):
    """Membership of a structure in a complex (at most one complex per structure)."""

    __tablename__ = "complex_members"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    complex: Mapped[str] = mapped_column(
        ForeignKey("complexes.name", ondelete="CASCADE"), index=True
    )
    structure: Mapped[int] = mapped_column(ForeignKey("structures.id"), unique=True)


class Dependency(JobSlot, Versioned, Base):
    """This foundation (or dependency) waits for that structure (or dependency)."""

    __tablename__ = "dependencies"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    structure: Mapped[int | None] = mapped_column(ForeignKey("structures.id"), index=True)
    dependency: Mapped[int | None] = mapped_column(ForeignKey("dependencies.id"), index=True)
    foundation: Mapped[str | None] = mapped_column(ForeignKey("foundations.locator"), unique=True)
    script_structure: Mapped[int | None] = mapped_column(ForeignKey("structures.id"))
    link: Mapped[str] = mapped_column(String(8), default="soft")
    create_script_name: Mapped[str | None] = mapped_column(String(50))
    destroy_script_name: Mapped[str | None] = mapped_column(String(50))
    state: Mapped[str] = mapped_column(String(16), default="planned", index=True)
    built_at: Mapped[datetime | None]


Ip = LargeBinary(16)


class Network(Versioned, Base):
    """A layer-2 network of a site."""

    __tablename__ = "networks"
    __table_args__ = (UniqueConstraint("site", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    mtu: Mapped[int | None] = mapped_column(Integer)


class AddressBlock(Versioned, Base):
    """An IP subnet of a site; addresses are offsets into it."""

    __tablename__ = "address_blocks"
    __table_args__ = (UniqueConstraint("site", "name"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    site: Mapped[str] = mapped_column(ForeignKey("sites.name"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    subnet: Mapped[bytes] = mapped_column(Ip)
    max_address: Mapped[bytes] = mapped_column(Ip)
    prefix: Mapped[int] = mapped_column(Integer)
    is_ipv4: Mapped[bool] = mapped_column(Boolean)
    gateway_offset: Mapped[bytes | None] = mapped_column(Ip)
    free_hint: Mapped[bytes | None] = mapped_column(Ip)


class NetworkLink(Base):
    """A network ↔ address block link with its VLAN (null = untagged)."""

    __tablename__ = "network_links"
    __table_args__ = (
        UniqueConstraint("network", "address_block"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    network: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"), index=True)
    address_block: Mapped[int] = mapped_column(ForeignKey("address_blocks.id"), index=True)
    vlan: Mapped[int | None] = mapped_column(Integer)


class Address(Versioned, Base):
    """A static, reserved or dynamic address (an offset into a block, or a pointer)."""

    __tablename__ = "addresses"
    __table_args__ = (
        UniqueConstraint("address_block", "offset"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    address_block: Mapped[int | None] = mapped_column(ForeignKey("address_blocks.id"), index=True)
    offset: Mapped[bytes | None] = mapped_column(Ip)
    structure: Mapped[int | None] = mapped_column(ForeignKey("structures.id"), index=True)
    interface_name: Mapped[str | None] = mapped_column(String(20))
    alias_index: Mapped[int | None] = mapped_column(Integer)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    pointer: Mapped[int | None] = mapped_column(ForeignKey("addresses.id"))
    reason: Mapped[str | None] = mapped_column(String(50))
    pxe: Mapped[str | None] = mapped_column(String(50))


class Interface(Versioned, Base):
    """A real interface (port of a foundation) or an abstract/aggregated one (of a structure)."""

    __tablename__ = "interfaces"
    __table_args__ = (
        UniqueConstraint("foundation", "physical_location"),
        UniqueConstraint("foundation", "name"),
        UniqueConstraint("structure", "name"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    foundation: Mapped[str | None] = mapped_column(ForeignKey("foundations.locator"), index=True)
    structure: Mapped[int | None] = mapped_column(ForeignKey("structures.id"), index=True)
    name: Mapped[str] = mapped_column(String(20))
    physical_location: Mapped[str | None] = mapped_column(String(100))
    network: Mapped[int] = mapped_column(ForeignKey("networks.id"), index=True)
    mac: Mapped[str | None] = mapped_column(String(17), unique=True)
    is_provisioning: Mapped[bool] = mapped_column(Boolean, default=False)
    link_name: Mapped[str | None] = mapped_column(String(100))
    pxe: Mapped[str | None] = mapped_column(String(50))
    primary: Mapped[str | None] = mapped_column(String(20))
    secondaries: Mapped[list[Any]] = mapped_column(default=list)
    parameters: Mapped[dict[str, Any]] = mapped_column(default=dict)


class JobBatch(Base):
    """A write batch already applied, with its answer (batches are idempotent by id)."""

    __tablename__ = "job_batches"

    batch_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    answer: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class JobCall(Base):
    """A job call already made, with its answer (calls are idempotent by id, §12.4)."""

    __tablename__ = "job_calls"

    call_id: Mapped[str] = mapped_column(String(100), primary_key=True)
    job_id: Mapped[int] = mapped_column(BigInteger, index=True)
    op: Mapped[str] = mapped_column(String(16))
    answer: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]


class DockerPort(Base):
    """A host port of a docker complex mapped to a container port of a structure."""

    __tablename__ = "docker_ports"
    __table_args__ = (
        UniqueConstraint("complex", "host_port"),
        UniqueConstraint("structure", "container_port"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    complex: Mapped[str] = mapped_column(ForeignKey("complexes.name"))
    host_port: Mapped[int] = mapped_column(Integer)
    structure: Mapped[int] = mapped_column(ForeignKey("structures.id"), index=True)
    container_port: Mapped[str] = mapped_column(String(16))


class Pxe(Versioned, Base):
    """A PXE profile: an iPXE boot script and a template (both Jinja2)."""

    __tablename__ = "pxes"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    description: Mapped[str | None] = mapped_column(String(200))
    boot_script: Mapped[str] = mapped_column(Text, default="")
    template: Mapped[str] = mapped_column(Text, default="")


class DiscoveryRecord(Versioned, Base):
    """The latest hardware report of one machine (keyed by its identifier, §8.2)."""

    __tablename__ = "discovery_records"

    identifier: Mapped[str] = mapped_column(String(64), primary_key=True)
    site: Mapped[str] = mapped_column(String(40), index=True)  # no FK: records outlive sites
    ip_address: Mapped[str | None] = mapped_column(String(45))
    boot_mac: Mapped[str | None] = mapped_column(String(17))
    source: Mapped[str] = mapped_column(String(8), default="image")
    report: Mapped[dict[str, Any]]
    status: Mapped[str] = mapped_column(String(16), index=True)
    locator: Mapped[str | None] = mapped_column(String(100), index=True)
    matched_by: Mapped[str | None] = mapped_column(String(16))
    messages: Mapped[list[Any]] = mapped_column(default=list)
    reported_at: Mapped[datetime]


class FoundationHardware(Base):
    """The accepted hardware report of a foundation (§8.4); cleared on destroy."""

    __tablename__ = "foundation_hardware"

    foundation: Mapped[str] = mapped_column(
        ForeignKey("foundations.locator", ondelete="CASCADE"), primary_key=True
    )
    identifier: Mapped[str] = mapped_column(String(64), index=True)
    matched_by: Mapped[str] = mapped_column(String(16))
    report: Mapped[dict[str, Any]]
    accepted_at: Mapped[datetime]
