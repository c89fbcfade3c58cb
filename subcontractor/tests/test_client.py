"""The agent's client on its own, against the fake foreman: wire shapes and refusals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sc_fake_foreman import FakeForeman
from sc_http import problem
from subcontractor.client import ForemanClient, refusal
from subcontractor.credentials import Credentials
from subcontractor.errors import ForemanRefused, PluginError
from subcontractor.retry import Pacing
from subcontractor.wire import ModuleDeclaration, Outcome


@pytest.fixture
async def client(foreman: FakeForeman) -> AsyncIterator[ForemanClient]:
    headers = {"Authorization": f"Bearer {foreman.token}"}
    async with httpx.AsyncClient(base_url=foreman.url, headers=headers, trust_env=False) as http:
        yield ForemanClient(http)


DECLARED = {"sim": ModuleDeclaration(version="0.1.0", concurrency=2, functions=["echo"])}


class TestCalls:
    async def test_register_poll_and_outcomes(
        self, foreman: FakeForeman, client: ForemanClient
    ) -> None:
        registration = await client.register("c", ["dc1"], DECLARED)
        assert registration.agent_id == foreman.agent_id
        assert client.identity.incarnation == foreman.incarnation
        task = foreman.add_task("sim", "echo", {"value": 1})
        answer = await client.poll(["dc1"], {"sim": 1, "gate": 0}, [], wait_s=0)
        assert [t.id for t in answer.tasks] == [task.id]
        assert foreman.calls("poll")[0]["modules"] == {"sim": {"capacity": 1}}  # 0 omitted
        outcome = Outcome(
            agent_id=foreman.agent_id,
            task_id=task.id,
            attempt=1,
            outcome="result",
            data={"value": 1},
        )
        assert (await client.post_outcome(outcome)).status == "recorded"
        assert (await client.post_outcome(outcome)).status == "already recorded"

    async def test_events(self, foreman: FakeForeman, client: ForemanClient) -> None:
        await client.register("c", ["dc1"], DECLARED)
        accepted = await client.post_events(
            [
                {
                    "kind": "dhcp.ack",
                    "at": "2030-01-01T00:00:00.000Z",
                    "site": "dc1",
                    "mac": "52:54:00:12:34:56",
                    "ip": "10.0.0.30",
                },
            ]
        )
        assert accepted == 1
        assert foreman.events[0]["kind"] == "dhcp.ack"

    async def test_a_problem_becomes_foreman_refused(
        self, foreman: FakeForeman, client: ForemanClient
    ) -> None:
        foreman.fail_next(
            "register", problem(403, "forbidden", "site dc9 is outside the token's sites")
        )
        with pytest.raises(ForemanRefused) as exc:
            await client.register("c", ["dc9"], DECLARED)
        assert (exc.value.status, exc.value.slug) == (403, "forbidden")
        assert "dc9" in exc.value.detail

    def test_retry_after_is_read_and_honoured(self) -> None:
        response = httpx.Response(503, headers={"Retry-After": "7"}, text="busy")
        refused = refusal(response)
        assert (refused.status, refused.slug, refused.retry_after_s) == (503, "", 7.0)
        assert Pacing.zero().after(1, refused) == 0.0  # capped by the zero pacing
        assert Pacing(backoff_base_s=0, backoff_cap_s=30).after(1, refused) == 7.0


class TestCredentials:
    def test_references_resolve_and_are_remembered(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("BMC_PASSWORD", "pa55")
        (tmp_path / "key").write_text("k3y\n")
        credentials = Credentials(tmp_path)
        assert credentials.resolve({"ref": "env:BMC_PASSWORD"}) == "pa55"
        assert credentials.resolve({"ref": "file:key"}) == "k3y"
        assert credentials.resolve("plain") == "plain"
        assert credentials.resolve({"username": "u"}) == {"username": "u"}
        assert credentials.secrets() == {"pa55", "k3y"}
        assert credentials.scrub("login pa55 failed") == "login *** failed"

    def test_unresolvable_references_are_auth_errors(self, tmp_path: Path) -> None:
        credentials = Credentials(tmp_path)
        for ref in ("vault:kv/data/bmc", "env:SURELY_NOT_SET_ANYWHERE", "file:absent"):
            with pytest.raises(PluginError) as exc:
                credentials.resolve({"ref": ref})
            assert exc.value.code == "auth"
