"""The published conformance cases of inventory spec §15 (config-examples.json).

Cases whose input is a pure function call run here. Cases whose input is an HTTP
``scenario`` (``getConfig``) need the running service; `api_cases` lists them for the API
tests, and they are deliberately not collected here.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from contractor.inventory.config import (
    ConfigRenderError,
    ConfigValueError,
    apply_layer,
    render,
)

CASES_FILE = Path(__file__).parent / "data" / "config-examples.json"
PURE_FUNCTIONS = frozenset({"_updateConfig", "mergeValues"})
API_FUNCTIONS = frozenset({"getConfig"})


def load_cases() -> list[dict[str, Any]]:
    """Every published case, in file order."""
    cases: list[dict[str, Any]] = json.loads(CASES_FILE.read_text(encoding="utf-8"))
    return cases


def pure_cases() -> list[dict[str, Any]]:
    """Cases that call a pure function of spec §6."""
    return [case for case in load_cases() if case["input"]["fn"] in PURE_FUNCTIONS]


def api_cases() -> list[dict[str, Any]]:
    """Cases that need the HTTP API (``input.scenario``); run by the service's tests."""
    return [case for case in load_cases() if case["input"]["fn"] in API_FUNCTIONS]


def test_every_case_is_pure_or_api() -> None:
    assert {case["input"]["fn"] for case in load_cases()} <= PURE_FUNCTIONS | API_FUNCTIONS
    assert len(pure_cases()) + len(api_cases()) == len(load_cases())


def _run_update_config(case_input: dict[str, Any], expect: dict[str, Any]) -> None:
    config = copy.deepcopy(case_input["config_before"])
    values = copy.deepcopy(case_input["values"])
    if "raises" in expect:
        assert expect["raises"] == "ValueError"
        with pytest.raises(ConfigValueError):
            apply_layer(config, values, case_input["class_list"])
        return
    apply_layer(config, values, case_input["class_list"])
    assert config == expect["config_after"]
    assert values == case_input["values"], "the layer's values must not change"


def _run_merge_values(case_input: dict[str, Any], expect: dict[str, Any]) -> None:
    values = copy.deepcopy(case_input["values"])
    if "raises" in expect:
        assert expect["raises"] == "ConfigRenderError"
        with pytest.raises(ConfigRenderError):
            render(values)
    else:
        assert render(values) == expect["result"]
    assert values == case_input["values"], "render must leave its input unchanged"


@pytest.mark.parametrize("case", pure_cases(), ids=lambda case: case["name"])
def test_pure_case(case: dict[str, Any]) -> None:
    if case["input"]["fn"] == "_updateConfig":
        _run_update_config(case["input"], case["expect"])
    else:
        _run_merge_values(case["input"], case["expect"])
