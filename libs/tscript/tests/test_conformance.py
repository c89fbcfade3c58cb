"""The public conformance examples (tscript.md §15), run through the ``tscript`` command.

Each case's script is written byte for byte to a file and run as
``python -m tscript run FILE --clock virtual --max-steps 100000 [--vars JSON]`` in a
subprocess with a 10 s timeout. Status must match; variables and line too when the case gives
them (maps without regard to key order, lists in order, exact JSON types, ``$map`` pairs as a
set). Messages and columns are not compared.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data" / "tscript-examples.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
TIMEOUT = 10


def same_json(left: Any, right: Any) -> bool:
    """JSON equality with exact types: ``2 != 2.0``, ``1 != true``; ``$map`` pairs as a set."""
    if isinstance(left, dict) and isinstance(right, dict):
        if set(left) == {"$map"} and set(right) == {"$map"}:
            return same_pairs(left["$map"], right["$map"])
        if set(left) != set(right):
            return False
        return all(same_json(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            same_json(a, b) for a, b in zip(left, right, strict=True)
        )
    return type(left) is type(right) and left == right


def same_pairs(left: Any, right: Any) -> bool:
    """Two ``$map`` pair lists hold the same pairs, in any order."""
    if not isinstance(left, list) or not isinstance(right, list) or len(left) != len(right):
        return False
    unmatched = list(right)
    for pair in left:
        for index, other in enumerate(unmatched):
            if same_json(pair, other):
                del unmatched[index]
                break
        else:
            return False
    return not unmatched


def run_case(case: dict[str, Any], directory: Path) -> dict[str, Any]:
    """Run one case through the CLI; the parsed stdout plus exit code and stderr."""
    path = directory / f"{case['name']}.ts"
    path.write_bytes(case["script"].encode("utf-8"))
    command = [
        sys.executable,
        "-m",
        "tscript",
        "run",
        str(path),
        "--clock",
        "virtual",
        "--max-steps",
        "100000",
    ]
    if "vars" in case:
        command += ["--vars", json.dumps(case["vars"])]
    try:
        proc = subprocess.run(command, capture_output=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {TIMEOUT} s"}
    try:
        output = json.loads(proc.stdout.decode("utf-8"))
    except ValueError:
        return {
            "error": "stdout is not one JSON object",
            "stdout": proc.stdout,
            "stderr": proc.stderr,
            "returncode": proc.returncode,
        }
    return {"output": output, "returncode": proc.returncode, "stderr": proc.stderr}


@pytest.fixture(scope="session")
def conformance_results() -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(max_workers=2) as pool:
        futures = {case["name"]: pool.submit(run_case, case, Path(tmp)) for case in CASES}
        return {name: future.result() for name, future in futures.items()}


def test_case_names_are_unique() -> None:
    names = [case["name"] for case in CASES]
    assert len(names) == len(set(names))
    assert len(names) > 100


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_conformance(case: dict[str, Any], conformance_results: dict[str, dict[str, Any]]) -> None:
    result = conformance_results[case["name"]]
    assert "error" not in result, result
    output = result["output"]
    expect = case["expect"]
    assert output["status"] == expect["status"], output
    assert result["returncode"] == (0 if expect["status"] == "done" else 1)
    if "variables" in expect:
        assert same_json(output["variables"], expect["variables"]), (
            f"variables {output['variables']!r} != expected {expect['variables']!r}"
        )
    if "line" in expect:
        assert output["line"] == expect["line"], output


@pytest.mark.parametrize(
    ("left", "right", "equal"),
    [
        (2, 2, True),
        (2, 2.0, False),
        (1, True, False),
        ({"a": 1, "b": [1, 2]}, {"b": [1, 2], "a": 1}, True),
        ([1, 2], [2, 1], False),
        ({"$map": [[1, "a"], [2, "b"]]}, {"$map": [[2, "b"], [1, "a"]]}, True),
        ({"$map": [[1, "a"], [2, "b"]]}, {"$map": [[1, "a"], [2, "c"]]}, False),
        ({"$map": [[1, "a"], [1, "a"]]}, {"$map": [[1, "a"], [2, "b"]]}, False),
        ({"a": 1}, {"a": 1, "b": 2}, False),
        (None, None, True),
        ("x", "x", True),
    ],
)
def test_same_json_comparison(left: Any, right: Any, equal: bool) -> None:
    assert same_json(left, right) is equal
