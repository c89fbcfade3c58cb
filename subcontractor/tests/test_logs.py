"""JSON logs with secrets redacted by key name and by value."""

from __future__ import annotations

import io
import json
import logging

from subcontractor import logs


def capture(secrets: list[str]) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logs.configure("DEBUG", lambda: secrets, stream)
    return logging.getLogger("subcontractor.test"), stream


class TestJsonLogs:
    def test_one_object_per_line_with_task_fields(self) -> None:
        log, stream = capture([])
        log.info("ran %s", "power", extra={"task_id": "t1", "task_module": "ipmi", "attempt": 2})
        entry = json.loads(stream.getvalue())
        assert entry["msg"] == "ran power"
        assert entry["level"] == "INFO"
        assert entry["logger"] == "subcontractor.test"
        assert (entry["task_id"], entry["module"], entry["attempt"]) == ("t1", "ipmi", 2)
        assert entry["ts"].endswith("+00:00")

    def test_known_secrets_never_appear(self) -> None:
        log, stream = capture(["hunter2-token"])
        log.warning("refused with hunter2-token in the header")
        assert "hunter2-token" not in stream.getvalue()
        assert "***" in stream.getvalue()

    def test_redact_masks_secret_keys(self) -> None:
        value = {
            "connection": {"ip_address": "10.0.0.5", "credentials": {"password": "x"}},
            "api_token": "y",
            "list": [{"private_key": "z"}],
        }
        assert logs.redact(value) == {
            "connection": {"ip_address": "10.0.0.5", "credentials": "***"},
            "api_token": "***",
            "list": [{"private_key": "***"}],
        }
