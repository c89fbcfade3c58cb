"""The function tables of foreman spec §6.3 and §6.4."""

from __future__ import annotations

import json

import pytest
from contractor.foundation_types import MODULE_FUNCTIONS, foundation_type

POWERED = ["ipmi", "redfish", "amt", "virtualbox", "vcenter", "aws", "azure", "sim"]


def names(type_name: str) -> set[str]:
    return {fn.name for fn in foundation_type(type_name).functions}


@pytest.mark.parametrize("type_name", POWERED)
def test_power_functions(type_name: str) -> None:
    ftype = foundation_type(type_name)
    assert {"power_on", "power_off", "power_state", "wait_for_poweroff"} <= names(type_name)
    power_off = ftype.function("power_off")
    assert power_off is not None
    assert [(p.name, p.default) for p in power_off.params] == [("soft_timeout", 60)]
    wait = ftype.function("wait_for_poweroff")
    assert wait is not None
    assert [(p.name, p.default) for p in wait.params] == [("interval", 5), ("timeout", 7200)]
    for fn in ftype.functions:
        if fn.name.startswith("power") or fn.name == "wait_for_poweroff":
            assert (fn.agent_module, fn.idempotent, fn.rollback) == (type_name, True, "noop")


def test_aws_power_tasks() -> None:
    tasks = {fn.name: fn.tasks for fn in foundation_type("aws").functions}
    assert (tasks["power_on"], tasks["power_off"]) == (("start",), ("stop",))


@pytest.mark.parametrize(
    ("function", "types"),
    [
        ("link_test", {"ipmi", "redfish", "amt", "sim", "manual"}),
        ("set_boot_device", {"ipmi", "redfish", "sim"}),
        ("sensors", {"ipmi"}),
        ("fru", {"ipmi"}),
        ("destroy", {"virtualbox", "vcenter", "aws", "azure", "docker", "sim"}),
        ("get_interface_map", {"virtualbox", "vcenter", "sim"}),
        ("set_interface_macs", {"virtualbox", "vcenter", "aws", "azure", "sim"}),
        ("set_ip_addresses", {"aws"}),
        ("start", {"docker"}),
        ("stop", {"docker"}),
        ("state", {"docker"}),
        ("map_ports", {"docker"}),
        ("unmap_ports", {"docker"}),
        ("create", {"docker", "virtualbox", "vcenter", "aws", "azure"}),
        ("execute", {"vcenter"}),
        ("mark_as_template", {"vcenter"}),
        ("export", {"vcenter"}),
    ],
)
def test_function_membership(function: str, types: set[str]) -> None:
    shipped = {"manual", "sim", "ipmi", "redfish", "amt", "docker", "virtualbox"}
    shipped |= {"vcenter", "aws", "azure"}
    assert {t for t in shipped if function in names(t)} == types


@pytest.mark.parametrize(
    ("type_name", "task", "rollback_task"),
    [
        ("virtualbox", "create", "destroy"),
        ("vcenter", "create_vm", "destroy_vm"),
        ("aws", "run_instance", "terminate"),
        ("azure", "create_vm", "delete_vm"),
        ("docker", "create", "remove"),
    ],
)
def test_create(type_name: str, task: str, rollback_task: str) -> None:
    create = foundation_type(type_name).function("create")
    assert create is not None
    assert (create.tasks, create.idempotent, create.rollback) == ((task,), False, "task")
    assert create.rollback_task == rollback_task


@pytest.mark.parametrize(
    ("type_name", "task"),
    [
        ("virtualbox", "destroy"),
        ("vcenter", "destroy_vm"),
        ("aws", "terminate"),
        ("azure", "delete_vm"),
        ("docker", "remove"),
        ("sim", "destroy"),
    ],
)
def test_destroy(type_name: str, task: str) -> None:
    destroy = foundation_type(type_name).function("destroy")
    assert destroy is not None and destroy.tasks == (task,) and destroy.idempotent is True


def test_manual_pauses() -> None:
    manual = foundation_type("manual")
    kinds = {fn.name: fn.kind for fn in manual.functions}
    assert kinds == {
        "power_on": "pause",
        "power_off": "pause",
        "wait_for_poweroff": "pause",
        "power_state": "inline",
        "link_test": "inline",
    }
    assert manual.agent_module is None


def test_vcenter_execute() -> None:
    execute = foundation_type("vcenter").function("execute")
    assert execute is not None
    assert [(p.name, p.required, p.default) for p in execute.params] == [
        ("username", True, None),
        ("password", True, None),
        ("command", True, None),
        ("dir", False, None),
        ("timeout", False, 300),
        ("expected_rc", False, 0),
    ]
    assert (execute.idempotent, execute.rollback) == (False, "none")


def test_docker_server_calls() -> None:
    map_ports = foundation_type("docker").function("map_ports")
    assert map_ports is not None and map_ports.kind == "server" and map_ports.idempotent


def test_writes() -> None:
    macs = foundation_type("sim").function("set_interface_macs")
    assert macs is not None and macs.kind == "write"
    assert [p.name for p in macs.params] == ["interface_map", "interface_list"]


def test_module_functions() -> None:
    table = {module: {fn.name: fn for fn in fns} for module, fns in MODULE_FUNCTIONS.items()}
    assert set(table) == {"virtualbox", "vcenter", "aws", "azure", "docker", "sim"}
    assert set(table["vcenter"]) == {
        "create",
        "host_list",
        "datastore_list",
        "network_list",
        "create_datastore",
    }
    assert table["aws"]["create"].rollback_task == "terminate"
    assert table["sim"]["echo"].idempotent is True
    echo_params = [(p.name, p.required, p.default) for p in table["sim"]["echo"].params]
    assert echo_params == [("value", True, None), ("delay", False, 0), ("fail", False, None)]
    for fns in table.values():
        for fn in fns.values():
            assert json.loads(json.dumps(fn.describe())) == fn.describe()
