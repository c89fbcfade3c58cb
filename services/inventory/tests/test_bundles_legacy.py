"""§14: bundles only the older TOML 0.10 dialect reads import with ``legacy-toml-syntax``."""

from __future__ import annotations

import tomllib
from collections.abc import Callable

import httpx
import pytest
import toml

Headers = Callable[[str], dict[str, str]]

# The reference's files wrote operator keys bare; TOML 1.0 only allows them quoted.
LEGACY = """
sflinks = [ [ "docker-host", "metal" ] ]

[foundation.metal]
description = "metal"
foundation_types = [ "Manual" ]

[structure.docker-host]
description = "runs containers"
config_values = { >package_list = [ "docker.io" ], swap_size = "1G" }

[structure.web]
description = "web"
parents = [ "docker-host" ]

[structure.web.config_values]
<package_list = [ "nginx" ]
~swap_size = true
"""


def _toml(admin: dict[str, str]) -> dict[str, str]:
    return {**admin, "content-type": "application/toml"}


def _legacy(warnings: list[str]) -> list[str]:
    return [w for w in warnings if w.startswith("legacy-toml-syntax")]


def test_the_legacy_dialect_is_what_the_fallback_relies_on() -> None:
    text = '[structure.x.config_values]\n>repo_list = [ "a" ]\n'
    with pytest.raises(tomllib.TOMLDecodeError):
        tomllib.loads(text)
    assert toml.loads(text) == {"structure": {"x": {"config_values": {">repo_list": ["a"]}}}}


async def test_bare_operator_keys_import_with_a_warning(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    bundle = LEGACY
    r = await client.post(
        "/api/v1/blueprints/import?dry_run=true", content=bundle, headers=_toml(admin)
    )
    assert r.status_code == 200, r.text
    assert len(_legacy(r.json()["warnings"])) == 1
    assert r.json()["warnings"][0].startswith("legacy-toml-syntax")
    assert (await client.get("/api/v1/blueprints/structure", headers=admin)).json()["items"] == []
    r = await client.post("/api/v1/blueprints/import", content=bundle, headers=_toml(admin))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["created"] == ["foundation:metal", "structure:docker-host", "structure:web"]
    assert out["updated"] == [] and len(_legacy(out["warnings"])) == 1
    host = (await client.get("/api/v1/blueprints/structure/docker-host", headers=admin)).json()
    assert host["config_values"] == {">package_list": ["docker.io"], "swap_size": "1G"}
    assert host["foundation_blueprints"] == ["metal"]
    web = (await client.get("/api/v1/blueprints/structure/web", headers=admin)).json()
    assert web["config_values"] == {"<package_list": ["nginx"], "~swap_size": True}
    r = await client.get("/api/v1/blueprints/structure/web/config", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["package_list"] == ["nginx", "docker.io"] and "swap_size" not in r.json()


async def test_toml_1_files_give_no_legacy_warning(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    quoted = """
[structure.docker-host]
description = "runs containers"
config_values = { '>package_list' = [ "docker.io" ], mixed = [ 1, "a" ] }
"""
    r = await client.post("/api/v1/blueprints/import", content=quoted, headers=_toml(admin))
    assert r.status_code == 200, r.text
    assert _legacy(r.json()["warnings"]) == [] and r.json()["created"] == ["structure:docker-host"]


async def test_files_neither_dialect_reads_report_the_toml_1_error(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    broken = '[structure.x]\n>bad = 1\ndescription = "x\n'  # unbalanced quote, too
    r = await client.post(
        "/api/v1/blueprints/import?filename=old.toml", content=broken, headers=_toml(admin)
    )
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-bundle")
    error = r.json()["errors"][0]
    # The position is the TOML 1.0 parser's: the bare key, not the later quote.
    assert error["file"] == "old.toml" and error["line"] == 2 and error["table"] is None


async def test_legacy_files_are_still_checked_and_stored_all_or_nothing(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    bad = """
[structure.a]
description = "a"
config_values = { >pkgs = [ "x" ] }

[structure.b]
parents = [ "missing-parent" ]
"""
    r = await client.post("/api/v1/blueprints/import", content=bad, headers=_toml(admin))
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-bundle")
    assert [e["table"] for e in r.json()["errors"]] == ["structure.b"]
    assert (await client.get("/api/v1/blueprints/structure", headers=admin)).json()["items"] == []
