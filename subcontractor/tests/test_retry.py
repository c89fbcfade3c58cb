"""The one classification function and the backoff."""

from __future__ import annotations

import errno
import random

import httpx
import pydantic
import pytest
from subcontractor.errors import ForemanRefused, PluginError, UnknownFunction
from subcontractor.retry import Pacing, classify, is_retryable


def peer_status(code: int) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "http://bmc.example.test/")
    return httpx.HTTPStatusError(
        "x", request=request, response=httpx.Response(code, request=request)
    )


def validation_error() -> pydantic.ValidationError:
    class Model(pydantic.BaseModel):
        n: int

    try:
        Model.model_validate({"n": "x"})
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


class TestClassify:
    @pytest.mark.parametrize(
        ("exc", "action", "code"),
        [
            (httpx.ConnectError("refused"), "retry", "unreachable"),
            (httpx.ReadTimeout("slow"), "retry", "timeout"),
            (httpx.RemoteProtocolError("dropped"), "retry", "unreachable"),
            (httpx.ProxyError("proxy down"), "retry", "unreachable"),
            (ForemanRefused(503, "unavailable", ""), "retry", "unreachable"),
            (ForemanRefused(429, "", ""), "retry", "unreachable"),
            (ForemanRefused(500, "", ""), "retry", "unreachable"),
            (ForemanRefused(409, "reregister", ""), "reregister", "conflict"),
            (ForemanRefused(409, "stale-attempt", ""), "drop", "conflict"),
            (ForemanRefused(409, "unknown-task", ""), "drop", "conflict"),
            (ForemanRefused(409, "task-canceled", ""), "drop", "conflict"),
            (ForemanRefused(401, "unauthorized", ""), "reauth", "auth"),
            (ForemanRefused(403, "agent-disabled", ""), "reauth", "auth"),
            (ForemanRefused(422, "invalid", ""), "fail", "internal"),
            (PluginError("busy", retryable=True, code="timeout"), "retry", "timeout"),
            (PluginError("bad"), "fail", "internal"),
            (PluginError("gone", code="not_found"), "fail", "not_found"),
            (validation_error(), "fail", "invalid_parameters"),
            (UnknownFunction("x"), "fail", "unknown_function"),
            (TimeoutError(), "retry", "timeout"),
            (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), "retry", "unreachable"),
            (OSError(errno.EHOSTUNREACH, "no route"), "retry", "unreachable"),
            (peer_status(401), "fail", "auth"),
            (peer_status(404), "fail", "not_found"),
            (peer_status(503), "retry", "unreachable"),
            (ValueError("bug"), "fail", "internal"),
        ],
    )
    def test_table(self, exc: BaseException, action: str, code: str) -> None:
        verdict = classify(exc)
        assert (verdict.action, verdict.code) == (action, code)
        assert is_retryable(exc) is (action == "retry")

    def test_anything_else_names_the_exception_type(self) -> None:
        assert classify(KeyError("k")).message == "KeyError: 'k'"


class TestPacing:
    def test_backoff_is_jittered_within_the_exponential_ceiling(self) -> None:
        pacing = Pacing(backoff_base_s=0.5, backoff_cap_s=30, rng=random.Random(1))
        for failures in range(1, 12):
            ceiling = min(30.0, 0.5 * 2**failures)
            samples = [pacing.backoff(failures) for _ in range(50)]
            assert all(0 <= s <= ceiling for s in samples)
        assert len({pacing.backoff(3) for _ in range(10)}) > 1

    def test_huge_failure_counts_stay_capped(self) -> None:
        assert Pacing(rng=random.Random(2)).backoff(10_000) <= 30

    def test_zero_pacing_never_waits(self) -> None:
        pacing = Pacing.zero()
        assert {pacing.backoff(n) for n in range(1, 20)} == {0.0}
        assert pacing.reauth_wait_s == 0
