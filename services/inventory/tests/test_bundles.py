from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]

BUNDLE = '''
sflinks = [ [ "linux-base", "ipmi-server" ], [ "linux-base", "nowhere" ] ]

[script.ipmi-create]
description = "Check the BMC, leave the machine off"
script = """
foundation.link_test()
foundation.wait_for_poweroff()
"""

[foundation.ipmi-server]
description = "Rack server managed over IPMI"
foundation_types = [ "IPMI" ]
scripts = { create = "ipmi-create" }
physical_interface_names = [ "eno1", "eno2" ]
template = { "hardware.dmi.system.manufacturer" = "^Dell" }
hardware_rules = [ { path = "hardware.memory_mib", min = 65536 } ]

[structure.linux-base]
description = "Any Linux host"
config_values = { swap_size = "2G", '>package_list' = [ "openssh-server" ] }

[structure.web]
description = "web"
parents = [ "linux-base" ]

[pxe.bootstrap]
boot_script = "kernel x"
'''


def _toml(admin: dict[str, str]) -> dict[str, str]:
    return {**admin, "content-type": "application/toml"}


async def test_import_creates_in_order_and_links(
    client: httpx.AsyncClient, as_role: Headers, seed: Any
) -> None:
    admin = as_role("admin")
    r = await client.post(
        "/api/v1/blueprints/import?dry_run=true", content=BUNDLE, headers=_toml(admin)
    )
    assert r.status_code == 200, r.text
    assert r.json()["dry_run"] is True
    assert (await client.get("/api/v1/scripts", headers=admin)).json()["items"] == []
    r = await client.post(
        "/api/v1/blueprints/import?filename=x.toml", content=BUNDLE, headers=_toml(admin)
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["created"] == [
        "script:ipmi-create",
        "foundation:ipmi-server",
        "structure:linux-base",
        "structure:web",
        "pxe:bootstrap",
    ]
    assert out["updated"] == [] and any("nowhere" in w for w in out["warnings"])
    fb = (await client.get("/api/v1/blueprints/foundation/ipmi-server", headers=admin)).json()
    assert fb["foundation_types"] == ["ipmi"] and fb["scripts"] == {"create": "ipmi-create"}
    assert {"path": "hardware.dmi.system.manufacturer", "regex": "^Dell"} in fb["hardware_rules"]
    sb = (await client.get("/api/v1/blueprints/structure/linux-base", headers=admin)).json()
    assert sb["foundation_blueprints"] == ["ipmi-server"]
    assert sb["config_values"] == {"swap_size": "2G", ">package_list": ["openssh-server"]}
    r = await client.post(
        "/api/v1/blueprints/import?mode=add", content=BUNDLE, headers=_toml(admin)
    )
    assert r.json()["created"] == [] and len(r.json()["skipped"]) == 5
    created = await seed.events(admin, "blueprint.created")
    assert len(created) == 3


async def test_import_reports_every_error_and_stores_nothing(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    bad = """
[foundation.a]
foundation_types = [ "warp-drive" ]

[structure.b]
parents = [ "missing-parent" ]

[structure.c]
scripts = { create = "no-such-script" }
"""
    r = await client.post(
        "/api/v1/blueprints/import?filename=bad.toml", content=bad, headers=_toml(admin)
    )
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-bundle")
    assert [e["table"] for e in r.json()["errors"]] == [
        "foundation.a",
        "structure.b",
        "structure.c",
    ]
    assert all(e["file"] == "bad.toml" for e in r.json()["errors"])
    assert (await client.get("/api/v1/blueprints/structure", headers=admin)).json()["items"] == []
    r = await client.post(
        "/api/v1/blueprints/import", content="[script.x\nbody=1", headers=_toml(admin)
    )
    assert r.status_code == 422 and r.json()["errors"][0]["line"] == 1
    r = await client.post(
        "/api/v1/blueprints/import",
        content=BUNDLE,
        headers={**admin, "content-type": "application/json"},
    )
    assert r.status_code == 415
    r = await client.post(
        "/api/v1/blueprints/import", content=BUNDLE, headers=_toml(as_role("operator"))
    )
    assert r.status_code == 403
