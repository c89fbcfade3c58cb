"""The sim plugin on its own: machines, boot devices, PXE boots, failures, execution counts."""

from __future__ import annotations

from typing import Any

import pytest
from sc_run import task_context
from subcontractor.errors import PluginError
from subcontractor.plugins.sim import SimConfig, SimPlugin
from subcontractor.plugins.sim.machines import mac_for


async def call(plugin: SimPlugin, function: str, params: dict[str, Any], task_id: str = "t") -> Any:
    fn = plugin.functions()[function]
    assert fn.handler is not None
    return await fn.handler(fn.params.model_validate(params), task_context(task_id))


def machine(machine_id: str = "rack1-u12", **extra: Any) -> dict[str, Any]:
    return {"id": machine_id, "macs": ["02:00:5e:10:00:01"], **extra}


@pytest.fixture
def sim() -> SimPlugin:
    return SimPlugin(SimConfig(seed=1))


class TestPower:
    async def test_power_on_off_and_state(self, sim: SimPlugin) -> None:
        assert await call(sim, "power_state", {"machine": machine()}) == {"state": "off"}
        assert await call(sim, "power", {"machine": machine(), "state": "on"}) == {"state": "on"}
        assert await call(sim, "power_state", {"machine": machine()}) == {"state": "on"}
        assert await call(sim, "power", {"machine": machine(), "state": "soft_off"}) == {
            "state": "off"
        }
        assert await call(sim, "power", {"machine": machine(), "state": "cycle"}) == {"state": "on"}

    async def test_machines_are_kept_apart_by_id(self, sim: SimPlugin) -> None:
        await call(sim, "power", {"machine": machine("a"), "state": "on"})
        assert await call(sim, "power_state", {"machine": machine("b")}) == {"state": "off"}
        assert sorted(sim.registry.machines) == ["a", "b"]

    async def test_power_is_idempotent(self, sim: SimPlugin) -> None:
        for _ in range(3):
            await call(sim, "power", {"machine": machine(), "state": "on"})
        assert sim.registry.get("rack1-u12").boots == 1

    async def test_link_test(self, sim: SimPlugin) -> None:
        assert await call(sim, "link_test", {"machine": machine(), "count": 3}) == {
            "ok": True,
            "score": 100,
        }


class TestBoot:
    async def test_a_one_time_boot_device_is_spent_by_one_boot(self, sim: SimPlugin) -> None:
        result = await call(sim, "boot_device", {"machine": machine(), "device": "pxe"})
        assert result == {"device": "pxe"}
        await call(sim, "power", {"machine": machine(), "state": "on"})
        state = sim.registry.get("rack1-u12")
        assert state.booted_from == "pxe"
        await call(sim, "power", {"machine": machine(), "state": "reset"})
        assert state.booted_from == "disk"

    async def test_a_persistent_boot_device_stays(self, sim: SimPlugin) -> None:
        await call(sim, "boot_device", {"machine": machine(), "device": "bios", "persistent": True})
        await call(sim, "power", {"machine": machine(), "state": "on"})
        await call(sim, "power", {"machine": machine(), "state": "cycle"})
        assert sim.registry.get("rack1-u12").booted_from == "bios"

    async def test_pxe_boot_cycles_into_the_network_boot(self, sim: SimPlugin) -> None:
        await call(sim, "power", {"machine": machine(), "state": "on"})
        result = await call(sim, "pxe_boot", {"machine": machine(boot_delay_s=0.01)})
        assert result == {"state": "on", "booted_from": "pxe", "boots": 2}


class TestVms:
    async def test_create_interfaces_destroy(self, sim: SimPlugin) -> None:
        created = await call(sim, "create", {"name": "vm1", "spec": {"interface_count": 2}})
        assert created == {
            "id": "vm1",
            "interfaces": [
                {"physical_location": "eth0", "mac": mac_for("vm1", 0)},
                {"physical_location": "eth1", "mac": mac_for("vm1", 1)},
            ],
        }
        assert (await call(sim, "interfaces", {"id": "vm1"}))["interfaces"]["eth1"] == mac_for(
            "vm1", 1
        )
        assert await call(sim, "destroy", {"name": "vm1"}) == {"destroyed": True}
        assert await call(sim, "destroy", {"id": "vm1"}) == {
            "destroyed": False
        }  # already gone: success
        with pytest.raises(PluginError) as exc:
            await call(sim, "interfaces", {"id": "vm1"})
        assert exc.value.code == "not_found"

    def test_create_is_the_only_non_idempotent_function(self, sim: SimPlugin) -> None:
        table = sim.functions()
        assert [name for name, fn in table.items() if not fn.idempotent] == ["create"]

    def test_destroy_needs_exactly_one_key(self, sim: SimPlugin) -> None:
        params = sim.functions()["destroy"].params
        with pytest.raises(ValueError, match="exactly one"):
            params.model_validate({})


class TestFailuresAndCounting:
    async def test_every_call_is_counted_by_task_id(self, sim: SimPlugin) -> None:
        await call(sim, "echo", {"value": 1}, task_id="a")
        await call(sim, "echo", {"value": 1}, task_id="a")
        await call(sim, "echo", {"value": 1}, task_id="b")
        assert sim.executions == {"a": 2, "b": 1}

    async def test_error_and_abort_modes(self, sim: SimPlugin) -> None:
        failing = machine(fail_rate=1.0, fail_mode="error")
        with pytest.raises(PluginError) as exc:
            await call(sim, "power", {"machine": failing, "state": "on"})
        assert (exc.value.retryable, exc.value.code) == (False, "internal")
        aborting = machine(fail_rate=1.0, fail_mode="abort")
        with pytest.raises(PluginError) as exc:
            await call(sim, "power_state", {"machine": aborting})
        assert exc.value.code == "sim_abort"

    async def test_only_listed_functions_fail(self, sim: SimPlugin) -> None:
        flaky = machine(fail_rate=1.0, fail_functions=["power"])
        assert await call(sim, "power_state", {"machine": flaky}) == {"state": "off"}
        with pytest.raises(PluginError):
            await call(sim, "power", {"machine": flaky, "state": "on"})

    async def test_hang_mode_never_answers(self, sim: SimPlugin) -> None:
        import anyio

        with anyio.move_on_after(0.05) as scope:
            await call(sim, "power_state", {"machine": machine(fail_rate=1.0, fail_mode="hang")})
        assert scope.cancelled_caught

    async def test_failure_rate_is_seeded(self) -> None:
        async def outcomes(seed: int) -> list[bool]:
            plugin = SimPlugin(SimConfig(seed=seed, fail_rate=0.5))
            results = []
            for n in range(40):
                try:
                    await call(plugin, "power_state", {"machine": machine()}, task_id=str(n))
                    results.append(True)
                except PluginError:
                    results.append(False)
            return results

        first = await outcomes(5)
        assert first == await outcomes(5)
        assert True in first and False in first

    async def test_config_defaults_apply_when_the_machine_is_silent(self) -> None:
        plugin = SimPlugin(SimConfig(fail_rate=1.0, fail_mode="abort"))
        with pytest.raises(PluginError) as exc:
            await call(plugin, "power_state", {"machine": machine()})
        assert exc.value.code == "sim_abort"
        assert await call(plugin, "power_state", {"machine": machine(fail_rate=0.0)}) == {
            "state": "off"
        }

    async def test_echo_failures(self, sim: SimPlugin) -> None:
        assert await call(sim, "echo", {"value": {"x": [1]}}) == {"value": {"x": [1]}}
        with pytest.raises(PluginError) as exc:
            await call(sim, "echo", {"fail": "retryable"})
        assert exc.value.retryable
