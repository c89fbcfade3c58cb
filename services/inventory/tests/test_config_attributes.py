"""Attribute and global layout of inventory spec §6.4."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from contractor.inventory.config import (
    AddressObject,
    complex_attributes,
    config_globals,
    foundation_attributes,
    pick_provisioning_address,
    structure_attributes,
)


def test_foundation_attributes() -> None:
    attrs = foundation_attributes(
        locator="bmc-1",
        type_display_name="IPMI",
        state="located",
        class_list=["Physical", "IPMI"],
        console="ttyS1",
        fields={"ipmi_ip_address": "10.0.0.5", "ipmi_password": "s3cret", "ipmi_port": None},
        secret_fields={"ipmi_password"},
    )
    assert attrs == {
        "_foundation_id": "bmc-1",
        "_foundation_locator": "bmc-1",
        "_foundation_type": "IPMI",
        "_foundation_state": "located",
        "_foundation_class_list": ["Physical", "IPMI"],
        "_foundation_hardware": None,
        "_foundation_complex": None,
        "_provisioning_interface": None,
        "_provisioning_interface_mac": None,
        "_console": "ttyS1",
        "_ipmi_ip_address": "10.0.0.5",
        "_ipmi_port": None,
    }


def test_complex_attributes() -> None:
    attrs = complex_attributes(
        complex_type="docker",
        state="built",
        host_ip="10.0.0.9",
        fields={"docker_url": None, "docker_tls_key": "k"},
        secret_fields=["docker_tls_key"],
    )
    assert attrs == {
        "_complex_type": "docker",
        "_complex_state": "built",
        "_complex_host": "10.0.0.9",
        "_docker_url": None,
    }


class TestStructureAttributes:
    def test_with_zone(self) -> None:
        attrs = structure_attributes(
            structure_id=3, state="built", config_uuid="u", hostname="web01", zone="dc1.test"
        )
        assert (attrs["_domain_name"], attrs["_fqdn"]) == ("dc1.test", "web01.dc1.test")
        assert attrs["_interface_map"] == {}
        assert attrs["_structure_id"] == 3

    def test_without_zone(self) -> None:
        attrs = structure_attributes(
            structure_id=3, state="planned", config_uuid="u", hostname="web01", zone=None
        )
        assert (attrs["_domain_name"], attrs["_fqdn"]) == (None, "web01")


class TestProvisioningAddress:
    def addr(self, alias: int | None, primary: bool = False) -> AddressObject:
        return {"address": f"10.0.0.{alias or 0}", "alias_index": alias, "primary": primary}

    def test_primary_wins(self) -> None:
        chosen = pick_provisioning_address([self.addr(None), self.addr(2, primary=True)])
        assert chosen == self.addr(2, primary=True)

    def test_unaliased_first(self) -> None:
        assert pick_provisioning_address([self.addr(1), self.addr(None)]) == self.addr(None)

    def test_lowest_alias(self) -> None:
        assert pick_provisioning_address([self.addr(3), self.addr(1)]) == self.addr(1)

    def test_none(self) -> None:
        assert pick_provisioning_address([]) is None


def test_globals() -> None:
    cet = timezone(timedelta(hours=1))
    result = config_globals(
        last_modified=datetime(2030, 1, 1, 1, 0, tzinfo=cet),
        now=datetime(2030, 1, 2, 3, 4, 5, 600, tzinfo=UTC),
        contractor_host="http://contractor:8080",
        pxe_location="http://pxe",
    )
    assert result == {
        "__last_modified": "2030-01-01T00:00:00Z",
        "__timestamp": "2030-01-02T03:04:05.000600Z",
        "__contractor_host": "http://contractor:8080",
        "__pxe_location": "http://pxe",
    }
    with_conn = config_globals(
        last_modified=datetime(2030, 1, 1, tzinfo=UTC),
        now=datetime(2030, 1, 1, tzinfo=UTC),
        contractor_host="h",
        pxe_location="p",
        connection_parameters={"ip_address": "10.0.0.5"},
    )
    assert with_conn["__connection_parameters"] == {"ip_address": "10.0.0.5"}
