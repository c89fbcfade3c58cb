"""The external-call protocol (tscript.md §12): requests, deliveries, losses, rollback."""

from __future__ import annotations

from typing import Any

import pytest
from jobkit import drive, make_registry, start
from tscript import state
from tscript.errors import ActionRefused, DeliveryRejected
from tscript.plugins import Module, Registry, remote
from tscript.values import Handle


def waiting(source: str, registry: Registry | None = None) -> Any:
    job = start(source, registry)
    result = job.run()
    assert result.status == "waiting", result
    return job


class TestRequests:
    def test_remote_call_emits_request_and_takes_result(self) -> None:
        job = waiting("aa = sim.power_on()\nbb = 1")
        request = job.pending_request()
        assert request == {
            "request_id": "req-1",
            "module": "sim",
            "function": "power_on",
            "parameters": {},
            "dispatched": False,
        }
        job.mark_dispatched("req-1")
        assert job.pending_request()["dispatched"] is True
        job.deliver_result("req-1", {"state": "on"})
        assert job.run().status == "done"
        assert job.vars == {"aa": {"state": "on"}, "bb": 1}

    def test_parameters_are_json_copies_of_the_arguments(self) -> None:
        job = waiting("disk = ['sda']\naa = sim.wipe( disk=disk )")
        assert job.pending_request()["parameters"] == {"disk": ["sda"]}

    def test_request_id_comes_from_the_context(self) -> None:
        job = waiting("sim.power_on()\nsim.power_on()")
        job.deliver_result("req-1", None)
        assert job.run().status == "waiting"
        assert job.pending_request()["request_id"] == "req-2"

    def test_wrong_request_id_is_refused_and_changes_nothing(self) -> None:
        job = waiting("aa = sim.power_on()")
        before = job.save()
        with pytest.raises(DeliveryRejected, match="unknown request id"):
            job.deliver_result("req-99", 1)
        with pytest.raises(DeliveryRejected, match="unknown request id"):
            job.deliver_error("req-99", "boom")
        assert job.save() == before

    def test_duplicate_result_is_refused(self) -> None:
        job = waiting("aa = sim.power_on()\nbb = sim.power_on()")
        job.deliver_result("req-1", 1)
        with pytest.raises(DeliveryRejected, match="nothing pending"):
            job.deliver_result("req-1", 2)
        job.run()
        with pytest.raises(DeliveryRejected, match="unknown request id"):
            job.deliver_result("req-1", 3)
        job.deliver_result("req-2", 4)
        job.run()
        assert job.vars == {"aa": 1, "bb": 4}

    def test_delivery_to_a_stopped_job_is_refused(self) -> None:
        job = start("pause( msg='hold' )")
        assert job.run().status == "paused"
        with pytest.raises(DeliveryRejected, match="job not running"):
            job.deliver_result("req-1", 1)

    def test_delivery_with_nothing_pending_is_refused(self) -> None:
        job = start("aa = 1\nbb = 2")
        with pytest.raises(DeliveryRejected, match="nothing pending"):
            job.deliver_result("req-1", 1)

    def test_error_delivery_puts_job_in_error_and_reset_resends(self) -> None:
        job = waiting("aa = 1\naa = sim.set_boot( device='pxe' )")
        job.deliver_error("req-1", "BMC said no")
        assert job.status == "error"
        assert job.message == "BMC said no"
        assert job.position == (2, 6)
        job.reset()
        assert job.status == "waiting"
        assert job.pending_request()["request_id"] == "req-2"
        assert job.pending_request()["parameters"] == {"device": "pxe"}
        with pytest.raises(DeliveryRejected, match="unknown request id"):
            job.deliver_result("req-1", "late")
        job.deliver_result("req-2", "pxe")
        assert job.run().status == "done"
        assert job.vars["aa"] == "pxe"

    def test_results_decode_handles(self) -> None:
        job = waiting("hh = sim.power_on()\nsame = hh == hh\ntxt = 'x' . hh\nbad = hh + 1")
        job.deliver_result("req-1", {"$handle": {"type": "machine", "ref": {"id": 7}}})
        result = job.run()
        assert result.status == "aborted"
        assert job.vars["hh"] == Handle("machine", {"id": 7})
        assert job.vars["same"] is True
        assert "machine" in job.vars["txt"]


class TestLostRequests:
    def test_idempotent_request_is_resent_with_a_new_id(self) -> None:
        job = waiting("aa = sim.power_on()")
        job.request_lost()
        assert job.status == "waiting"
        assert job.pending_request()["request_id"] == "req-2"
        with pytest.raises(DeliveryRejected):
            job.deliver_result("req-1", 1)
        job.deliver_result("req-2", 2)
        job.run()
        assert job.vars == {"aa": 2}

    def test_non_idempotent_request_puts_job_in_error(self) -> None:
        job = waiting("aa = sim.wipe()")
        job.request_lost()
        assert job.status == "error"
        assert job.message == "request req-1 lost"
        job.reset()
        assert job.pending_request()["request_id"] == "req-2"

    def test_lost_with_nothing_pending_is_refused(self) -> None:
        job = start("aa = 1")
        with pytest.raises(DeliveryRejected):
            job.request_lost()


class TestRollback:
    def test_rollback_runs_the_hook_and_revokes_the_request(self) -> None:
        job = waiting("vm = vm.create( size=2 )")
        job.deliver_error("req-1", "quota exceeded")
        job.rollback()
        assert job.run().status == "waiting"
        request = job.pending_request()
        assert (request["function"], request["request_id"]) == ("destroy", "req-2")
        job.deliver_result("req-2", {"size": 1})
        job.run()
        assert job.pending_request()["parameters"] == {"size": 1}
        job.deliver_result("req-3", "vm-9")
        assert job.run().status == "done"
        assert job.vars == {"vm": "vm-9"}

    def test_rollback_without_hook_is_refused(self) -> None:
        job = waiting("aa = sim.wipe()")
        job.deliver_error("req-1", "disk busy")
        before = job.save()
        with pytest.raises(ActionRefused, match="rollback not possible"):
            job.rollback()
        assert job.status == "error"
        assert job.save() == before

    def test_rollback_after_error_builtin_behaves_like_reset(self) -> None:
        job = start("aa = error( msg='stop' )\nbb = 2")
        assert job.run().status == "error"
        job.rollback()
        assert job.run().status == "done"
        assert job.vars == {"aa": None, "bb": 2}

    def test_rollback_refused_unless_in_error(self) -> None:
        job = start("pause( msg='x' )")
        job.run()
        with pytest.raises(ActionRefused):
            job.rollback()
        with pytest.raises(ActionRefused):
            job.reset()


class TestLocalFunctions:
    def test_local_function_is_polled_until_done(self) -> None:
        job = start("aa = local.wait_until()")
        statuses = []
        for _ in range(5):
            result = job.run()
            statuses.append(result.status)
            if result.status == "done":
                break
        assert statuses == ["waiting", "waiting", "waiting", "done"]
        assert job.vars == {"aa": 3}

    def test_pause_outcome_then_resume_polls_again(self) -> None:
        job = start("aa = local.wait_until( mode='pause' )")
        job.run()
        assert job.run().status == "paused"
        assert job.message == "needs a hand"
        job.resume()
        _, result = drive(job)
        assert result.status == "done"
        assert job.vars == {"aa": 3}

    def test_fail_outcome_then_reset_polls_again(self) -> None:
        job = start("aa = local.wait_until( mode='fail' )")
        job.run()
        assert job.run().status == "error"
        job.reset()
        _, result = drive(job)
        assert result.status == "done"

    def test_abort_outcome_aborts(self) -> None:
        job = start("\n  aa = local.wait_until( mode='abort' )")
        result = job.run()
        assert (result.status, result.message, result.line, result.column) == (
            "aborted",
            "gave up",
            2,
            8,
        )


class TestValues:
    def test_getter_and_setter(self) -> None:
        store = {"hostname": "web01", "power": "off"}
        job = start("aa = sim.power\nsim.power = 'on'\nbb = sim.power", make_registry(store))
        job.run()
        assert job.vars == {"aa": "off", "bb": "on"}
        assert store["power"] == "on"

    def test_config_values_resolve_on_demand(self) -> None:
        job = start("aa = config.hostname\nbb = exists( config.nothing )")
        job.run()
        assert job.vars == {"aa": "web01", "bb": False}

    @pytest.mark.parametrize(
        ("source", "kind"),
        [
            ("aa = sim.serial", "cannot be read"),
            ("sim.readonly = 1", "cannot be set"),
            ("aa = sim.temperature", "sim.temperature failed"),
            ("aa = sim.power_on", "not defined"),
            ("aa = sim.power()", "not defined"),
            ("aa = nomodule.x", "not defined"),
            ("aa = nomodule.x()", "not defined"),
        ],
    )
    def test_value_errors_abort(self, source: str, kind: str) -> None:
        job = start(source)
        result = job.run()
        assert result.status == "aborted"
        assert kind in (result.message or "")

    def test_indexed_module_value_assignment_aborts_before_evaluating(self) -> None:
        job = start("aa = [1]\nsim.power[0] = pop( array=aa )")
        result = job.run()
        assert (result.status, result.line) == ("aborted", 2)
        assert job.vars == {"aa": [1]}

    def test_plugin_functions_receive_copies(self) -> None:
        seen: list[Any] = []

        def grab(args: dict[str, Any]) -> None:
            seen.append(args["items"])
            args["items"].append("plugin")

        from tscript.plugins import inline

        registry = Registry({"p": Module("p", functions={"grab": inline("grab", grab)})})
        job = start("xs = [1]\np.grab( items=xs )", registry)
        job.run()
        assert job.vars == {"xs": [1]}
        assert seen == [[1, "plugin"]]

    def test_registries_are_per_run(self) -> None:
        first = Registry({"m": Module("m", functions={"f": remote("f", module="one")})})
        second = Registry({"m": Module("m", functions={"f": remote("f", module="two")})})
        job_one, job_two = waiting("m.f()", first), waiting("m.f()", second)
        assert job_one.pending_request()["module"] == "one"
        assert job_two.pending_request()["module"] == "two"


class TestAcrossProcesses:
    def test_waiting_job_resumes_after_save_and_load(self) -> None:
        job = waiting("ii = 0\nwhile ii < 3 do\nbegin()\n  ii = ii + 1\n  sim.power_on()\nend")
        text = job.save()
        loaded = state.load(text, make_registry(), job.ctx)
        assert loaded.pending_request() == job.pending_request()
        final, result = drive(loaded)
        assert result.status == "done"
        assert final.vars == {"ii": 3}
