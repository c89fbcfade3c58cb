"""The sim plugin's function table and behaviour."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import anyio
from pydantic import BaseModel, Field, field_validator

from subcontractor.errors import ConfigError, PluginError
from subcontractor.plugin import Function, Plugin, PluginConfig, PluginContext, TaskContext
from subcontractor.plugins.sim.boot import simulate_boot
from subcontractor.plugins.sim.ledger import ExecutionLedger
from subcontractor.plugins.sim.machines import FailMode, Registry, SimMachine
from subcontractor.plugins.sim.params import (
    BootDeviceParams,
    CreateParams,
    DestroyParams,
    EchoParams,
    InterfacesParams,
    LinkTestParams,
    MachineParams,
    PowerParams,
)
from subcontractor.wire import JsonObject

P = TypeVar("P", bound=BaseModel)
Handler = Callable[[P, TaskContext], Awaitable[JsonObject]]


class SimConfig(PluginConfig):
    """``[plugins.sim]``: defaults for machines that do not set their own tuning."""

    seed: int | None = Field(None, description="Seed of the failure and delay randomness.")
    power_delay_s: float = Field(0.0, ge=0, description="Time a power change takes.")
    boot_delay_s: float = Field(0.0, ge=0, description="Time a boot takes.")
    variance: float = Field(0.0, ge=0, le=1, description="Triangular spread of delays.")
    fail_rate: float = Field(0.0, ge=0, le=1, description="Probability a function fails.")
    fail_mode: FailMode = Field("error", description="error, abort or hang.")
    fail_functions: list[str] = Field(default_factory=list, description="Empty: all functions.")
    delay_scale: float = Field(1.0, ge=0, description="Multiplies every delay (0: instant).")
    executions_file: Path | None = Field(
        None,
        description="Append one JSON line per execution here (task_id, attempt, function, "
        "job_id, time), fsynced; relative to the config file. None: count in memory only.",
    )

    @field_validator("executions_file", mode="before")
    @classmethod
    def _a_file_path(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            raise ValueError("must be a file path (omit the key to keep counts in memory)")
        return value

    @field_validator("executions_file")
    @classmethod
    def _not_a_directory(cls, value: Path | None) -> Path | None:
        if value is not None and value.is_dir():
            raise ValueError(f"{value} is a directory")
        return value

    def anchored(self, base: Path) -> SimConfig:
        """Make a relative ``executions_file`` relative to ``base``."""
        if self.executions_file is None or self.executions_file.is_absolute():
            return self
        return self.model_copy(update={"executions_file": base / self.executions_file})


class SimPlugin(Plugin[SimConfig]):
    """Simulated machines: power, boot device, PXE boot, VMs; counts executions per task."""

    name = "sim"
    version = "0.1.0"
    config_model = SimConfig

    def __init__(self, config: SimConfig) -> None:
        super().__init__(config)
        self.registry = Registry()
        try:
            self.ledger = ExecutionLedger(config.executions_file)
        except OSError as exc:
            where = f"cannot append to {config.executions_file}: {exc.strerror}"
            raise ConfigError([("plugins.sim.executions_file", where)]) from None
        self.rng = random.Random(config.seed)
        self._table = self._build_table()
        self._services: PluginContext | None = None

    @property
    def executions(self) -> Counter[str]:
        """Executions per task id since start (also in ``executions_file`` when set)."""
        return self.ledger.counts

    async def stop(self) -> None:
        """Close the executions file."""
        self.ledger.close()

    async def start(self, ctx: PluginContext) -> None:
        """Keep the agent's services: network boots play out in the background."""
        self._services = ctx

    def _after_power_on(self, machine: SimMachine) -> None:
        state = self.registry.get(machine.id)
        if self._services is None or state.booted_from != "pxe":
            return  # called directly (no agent), or a disk boot: no conversation with foreman
        delay = self.config.boot_delay_s if machine.boot_delay_s is None else machine.boot_delay_s

        async def wait() -> None:
            await self._delay(delay, self._variance(machine))

        async def boot() -> None:
            assert self._services is not None
            await simulate_boot(self._services, self.registry, machine, state.boots, wait)

        self._services.spawn(boot, f"boot {machine.id}")

    def functions(self) -> Mapping[str, Function[Any]]:
        """The function table (decision 12)."""
        return self._table

    def _build_table(self) -> dict[str, Function[Any]]:
        def fn(params: type[P], handler: Handler[P], *, idempotent: bool) -> Function[P]:
            counted = self._counted(handler.__name__, handler)  # methods are named as functions
            return Function(params=params, handler=counted, idempotent=idempotent)

        return {
            "power": fn(PowerParams, self.power, idempotent=True),
            "power_state": fn(MachineParams, self.power_state, idempotent=True),
            "link_test": fn(LinkTestParams, self.link_test, idempotent=True),
            "boot_device": fn(BootDeviceParams, self.boot_device, idempotent=True),
            "pxe_boot": fn(MachineParams, self.pxe_boot, idempotent=True),
            "create": fn(CreateParams, self.create, idempotent=False),
            "destroy": fn(DestroyParams, self.destroy, idempotent=True),
            "interfaces": fn(InterfacesParams, self.interfaces, idempotent=True),
            "echo": fn(EchoParams, self.echo, idempotent=True),
        }

    def _counted(self, function: str, handler: Handler[P]) -> Handler[P]:
        async def run(params: P, ctx: TaskContext) -> JsonObject:
            # Recorded (and fsynced) before the function acts: a SIGKILL cannot hide a run.
            # The write and fsync run in a worker thread, so they never stall the event loop.
            if self.ledger.path is None:
                self.ledger.record(ctx.task_id, ctx.attempt, function, ctx.job_id)
            else:
                await anyio.to_thread.run_sync(
                    self.ledger.record, ctx.task_id, ctx.attempt, function, ctx.job_id
                )
            return await handler(params, ctx)

        return run

    async def _delay(self, seconds: float, variance: float) -> None:
        if seconds <= 0 or self.config.delay_scale <= 0:
            return
        spread = seconds * variance
        value = self.rng.triangular(seconds - spread, seconds + spread, seconds)
        await anyio.sleep(max(0.0, value) * self.config.delay_scale)

    async def _maybe_fail(self, function: str, machine: SimMachine) -> None:
        rate = self.config.fail_rate if machine.fail_rate is None else machine.fail_rate
        listed = (
            self.config.fail_functions if machine.fail_functions is None else machine.fail_functions
        )
        if rate <= 0 or (listed and function not in listed) or self.rng.random() >= rate:
            return
        mode = machine.fail_mode or self.config.fail_mode
        if mode == "hang":
            await anyio.sleep_forever()  # no answer: exercises leases and timeouts
        code = "sim_abort" if mode == "abort" else "internal"
        raise PluginError(f"sim: injected failure in {function} on {machine.id}", code=code)

    async def _power_delay(self, machine: SimMachine) -> None:
        delay = (
            self.config.power_delay_s if machine.power_delay_s is None else machine.power_delay_s
        )
        await self._delay(delay, self._variance(machine))

    def _variance(self, machine: SimMachine) -> float:
        return self.config.variance if machine.variance is None else machine.variance

    async def power(self, params: PowerParams, ctx: TaskContext) -> JsonObject:
        """Set power: ``on``, ``off``/``soft_off``, ``cycle``/``reset`` (ends on)."""
        await self._maybe_fail("power", params.machine)
        state = self.registry.get(params.machine.id)
        await self._power_delay(params.machine)
        boots = state.boots
        if params.state in ("off", "soft_off"):
            state.power_off()
        elif params.state in ("cycle", "reset"):
            state.power_off()
            state.power_on()
        else:
            state.power_on()
        if state.boots != boots:
            self._after_power_on(params.machine)
        return {"state": state.power}

    async def power_state(self, params: MachineParams, ctx: TaskContext) -> JsonObject:
        """Report ``on`` or ``off``."""
        await self._maybe_fail("power_state", params.machine)
        return {"state": self.registry.get(params.machine.id).power}

    async def link_test(self, params: LinkTestParams, ctx: TaskContext) -> JsonObject:
        """Read the simulated BMC ``count`` times; every read succeeds unless failing."""
        await self._maybe_fail("link_test", params.machine)
        return {"ok": True, "score": 100}

    async def boot_device(self, params: BootDeviceParams, ctx: TaskContext) -> JsonObject:
        """Choose the next boot's device (once, or persistently)."""
        await self._maybe_fail("boot_device", params.machine)
        state = self.registry.get(params.machine.id)
        state.boot_device, state.persistent = params.device, params.persistent
        return {"device": params.device}

    async def pxe_boot(self, params: MachineParams, ctx: TaskContext) -> JsonObject:
        """Boot once from the network: select PXE, power-cycle, wait for the boot."""
        machine = params.machine
        await self._maybe_fail("pxe_boot", machine)
        state = self.registry.get(machine.id)
        state.boot_device, state.persistent = "pxe", False
        await self._power_delay(machine)
        state.power_off()
        state.power_on()
        self._after_power_on(machine)
        delay = self.config.boot_delay_s if machine.boot_delay_s is None else machine.boot_delay_s
        await self._delay(delay, self._variance(machine))
        return {"state": state.power, "booted_from": state.booted_from, "boots": state.boots}

    async def create(self, params: CreateParams, ctx: TaskContext) -> JsonObject:
        """Create a machine with the spec's ``interface_count`` (default 1) interfaces."""
        count = int(params.spec.get("interface_count", 1))
        state = self.registry.create(params.name, count)
        interfaces = [{"physical_location": k, "mac": v} for k, v in state.interfaces.items()]
        return {"id": state.id, "interfaces": interfaces}

    async def destroy(self, params: DestroyParams, ctx: TaskContext) -> JsonObject:
        """Remove a machine; one that does not exist counts as destroyed already."""
        return {"destroyed": self.registry.destroy(params.name or params.id or "")}

    async def interfaces(self, params: InterfacesParams, ctx: TaskContext) -> JsonObject:
        """The machine's MACs by physical location."""
        if params.id not in self.registry.machines:
            raise PluginError(f"sim: no machine {params.id}", code="not_found")
        return {"interfaces": dict(self.registry.machines[params.id].interfaces)}

    async def echo(self, params: EchoParams, ctx: TaskContext) -> JsonObject:
        """Answer ``value`` after ``delay_s``, or fail as ``fail`` asks."""
        await anyio.sleep(params.delay_s * self.config.delay_scale)
        if params.fail == "retryable":
            raise PluginError(
                "sim: echo asked to fail (retryable)", retryable=True, code="unreachable"
            )
        if params.fail == "fatal":
            raise PluginError("sim: echo asked to fail (fatal)", code="internal")
        return {"value": params.value}
