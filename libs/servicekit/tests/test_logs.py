"""JSON log lines and request ids (foreman spec §12.2)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
from contractor.servicekit import logs
from fastapi import FastAPI


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logs.configure("testsvc", "DEBUG", stream=stream, loggers=["contractor.test"])
    yield stream
    for name in ("contractor.test", "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        if handler in logger.handlers:
            logger.removeHandler(handler)
        logger.propagate = True


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_line_is_one_json_object_with_the_context_fields(captured: io.StringIO) -> None:
    log = logging.getLogger("contractor.test.unit")
    log.info(
        "job %s moved", 7, extra={"job_id": 7, "task_module": "sim", "function": "echo", "x": 1}
    )
    (line,) = _lines(captured)
    assert line["msg"] == "job 7 moved" and line["level"] == "INFO"
    assert line["service"] == "testsvc" and line["logger"] == "contractor.test.unit"
    assert line["job_id"] == 7 and line["module"] == "sim" and line["function"] == "echo"
    assert line["request_id"] is None  # logged outside a request
    assert "x" not in line and "task_id" not in line  # only the known context keys
    assert str(line["ts"]).endswith("+00:00")


def test_secret_looking_keys_in_context_values_are_masked(captured: io.StringIO) -> None:
    logging.getLogger("contractor.test").warning(
        "agent", extra={"agent": {"name": "a1", "token": "hunter2", "api_key": "k"}}
    )
    (line,) = _lines(captured)
    assert line["agent"] == {"name": "a1", "token": "***", "api_key": "***"}
    assert "hunter2" not in captured.getvalue()


def test_exceptions_are_on_the_line(captured: io.StringIO) -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("contractor.test").exception("failed")
    (line,) = _lines(captured)
    assert line["level"] == "ERROR" and "ValueError: boom" in str(line["exc"])


def _app() -> FastAPI:
    app = FastAPI()
    app.add_middleware(logs.RequestIdMiddleware)

    @app.get("/work")
    async def work() -> dict[str, str | None]:
        logging.getLogger("contractor.test.route").info("working")
        return {"seen": logs.request_id.get()}

    return app


async def test_each_request_gets_an_id_on_its_lines_and_response(captured: io.StringIO) -> None:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        given = await client.get("/work", headers={"X-Request-ID": "abc-123"})
        fresh = await client.get("/work")
        insane = await client.get("/work", headers={"X-Request-ID": "bad id; with spaces"})
    assert given.headers["x-request-id"] == "abc-123" == given.json()["seen"]
    assert len(fresh.headers["x-request-id"]) == 32
    assert fresh.json()["seen"] == fresh.headers["x-request-id"]
    assert insane.headers["x-request-id"] != "bad id; with spaces"  # replaced by a new id
    ids = [line["request_id"] for line in _lines(captured)]
    assert ids == [
        "abc-123",
        fresh.headers["x-request-id"],
        insane.headers["x-request-id"],
    ]
    assert logs.request_id.get() is None  # reset once the request is served
