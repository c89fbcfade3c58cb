"""Plugin module functions that create things for foundation types (foreman spec §6.4)."""

from __future__ import annotations

from typing import Final

from contractor.foundation_types.functions import HostFunction, Param, opt


def _create(
    module: str, task: str, params: tuple[Param, ...], undo: str, returns: str
) -> HostFunction:
    return HostFunction(
        "create",
        params,
        "task",
        module,
        (task,),
        idempotent=False,
        rollback="task",
        rollback_task=undo,
        returns=returns,
    )


MODULE_FUNCTIONS: Final[dict[str, tuple[HostFunction, ...]]] = {
    "virtualbox": (_create("virtualbox", "create", (Param("vm_spec"),), "destroy", "uuid"),),
    "vcenter": (
        _create(
            "vcenter",
            "create_vm",
            (Param("host"), Param("datastore"), Param("vm_spec")),
            "destroy_vm",
            "uuid",
        ),
        HostFunction(
            "host_list",
            (Param("min_memory"), Param("min_cpu"), opt("cpu_scaler", 1), opt("memory_scaler", 1)),
            "task",
            "vcenter",
            ("host_list",),
            returns="host names, best first",
        ),
        HostFunction(
            "datastore_list",
            (Param("host"), Param("min_free_space"), opt("name_regex", ".*")),
            "task",
            "vcenter",
            ("datastore_list",),
            returns="names",
        ),
        HostFunction(
            "network_list",
            (Param("host"), opt("name_regex", ".*")),
            "task",
            "vcenter",
            ("network_list",),
            returns="names",
        ),
        HostFunction(
            "create_datastore",
            (Param("name"), Param("model")),
            "task",
            "vcenter",
            ("create_datastore",),
        ),
    ),
    "aws": (
        _create(
            "aws", "run_instance", (), "terminate", "{instance_id, interface_list, ip_address_map}"
        ),
    ),
    "azure": (_create("azure", "create_vm", (Param("vm_spec"),), "delete_vm", "resource name"),),
    "docker": (
        _create(
            "docker",
            "create",
            (Param("container_spec"), Param("port_map")),
            "remove",
            "{docker_id}",
        ),
    ),
    "sim": (
        _create("sim", "create", (Param("vm_spec"),), "destroy", "id"),
        HostFunction(
            "echo",
            (Param("value"), opt("delay", 0), opt("fail")),
            "task",
            "sim",
            ("echo",),
            returns="value",
        ),
    ),
}
"""``<module>.<function>(…)`` declarations by TScript module name."""
