"""The ``tscript`` command contract (tscript.md §14), run as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 20
KEYS = ["status", "line", "column", "message", "variables"]


def tscript(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tscript", *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=TIMEOUT,
        check=False,
    )


def write(tmp_path: Path, name: str, source: str) -> str:
    path = tmp_path / name
    path.write_bytes(source.encode("utf-8"))
    return str(path)


def run_output(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """Check the one-line JSON shape of ``run`` and return the parsed object."""
    assert proc.stdout.endswith("\n"), proc.stdout
    assert proc.stdout.count("\n") == 1, proc.stdout
    document = json.loads(proc.stdout)
    assert isinstance(document, dict)
    assert list(document) == KEYS
    # `, ` and `: ` separators: the line is exactly what json.dumps writes by default.
    assert proc.stdout == json.dumps(document) + "\n"
    return document


def run_script(tmp_path: Path, source: str, *options: str) -> tuple[dict[str, Any], int]:
    path = write(tmp_path, "script.ts", source)
    proc = tscript("run", path, "--clock", "virtual", *options)
    return run_output(proc), proc.returncode


# ------------------------------------------------------------------------------ lint


def test_lint_valid_files_print_nothing(tmp_path: Path) -> None:
    one = write(tmp_path, "one.ts", "aa = 1\nif aa == 1 then bb = 2\n")
    two = write(tmp_path, "two.ts", 'begin( description="x" )\n  delay( seconds=1 )\nend\n')
    empty = write(tmp_path, "empty.ts", "")
    proc = tscript("lint", one, two, empty)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.parametrize(
    ("source", "line", "column"),
    [
        ("aa = bb = 5", 1, 9),
        ("begin()", 1, 1),
        ("aa = 1\r\rbb = 2 +", 3, 9),
        ("aa = 1\nbb = 'open\n", 2, 6),
        ("aa = 1\nif = 5\n", 2, 4),  # `if` may start a statement; `=` may not
        ("begin()\n:there\nend", 2, 1),
        ("if True then continue", 1, 14),
        ("begin( max_time=5 )\nend", 1, 17),
    ],
)
def test_lint_invalid_file_reports_one_line(
    tmp_path: Path, source: str, line: int, column: int
) -> None:
    path = write(tmp_path, "bad.ts", source)
    proc = tscript("lint", path)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{path}:{line}:{column}: "), lines[0]
    assert len(lines[0]) > len(f"{path}:{line}:{column}: ")


def test_lint_several_files_one_line_per_invalid_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good.ts", "aa = 1\n")
    bad1 = write(tmp_path, "bad1.ts", "aa = (1\nbb = 2\ncc = ]\n")  # several problems
    bad2 = write(tmp_path, "bad2.ts", "x = 1\nhello( 10 )\n")
    proc = tscript("lint", good, bad1, bad2)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith(f"{bad1}:")
    assert lines[1].startswith(f"{bad2}:2:")


def test_lint_file_name_as_given(tmp_path: Path) -> None:
    write(tmp_path, "rel.ts", "aa = \n")
    proc = subprocess.run(
        [sys.executable, "-m", "tscript", "lint", "./rel.ts"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=TIMEOUT,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith("./rel.ts:1:")


def test_lint_unreadable_file(tmp_path: Path) -> None:
    good = write(tmp_path, "good.ts", "aa = 1\n")
    missing = str(tmp_path / "missing.ts")
    proc = tscript("lint", missing, good)
    assert proc.returncode == 1
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"{missing}:0:0: ")


def test_lint_directory_is_unreadable(tmp_path: Path) -> None:
    proc = tscript("lint", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"{tmp_path}:0:0: ")


def test_lint_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.ts"
    path.write_bytes(b"aa = 'caf\xe9'\n")
    proc = tscript("lint", str(path))
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.startswith(f"{path}:")
    assert not proc.stderr.startswith(f"{path}:0:0:")


# ------------------------------------------------------------------------------ run


def test_run_done(tmp_path: Path) -> None:
    output, code = run_script(tmp_path, "aa = [ 1, 2 ]\nbb = aa[0] + 1\n")
    assert code == 0
    assert output == {
        "status": "done",
        "line": None,
        "column": None,
        "message": None,
        "variables": {"aa": [1, 2], "bb": 2},
    }


def test_run_spec_example_aborted(tmp_path: Path) -> None:
    path = write(tmp_path, "ex.ts", "aa = [ 1, 2 ]\nbb = aa[0] + 1\ncc = missing")
    proc = tscript("run", path)
    assert proc.returncode == 1
    assert proc.stderr == ""
    output = run_output(proc)
    assert output["status"] == "aborted"
    assert (output["line"], output["column"]) == (3, 6)
    assert isinstance(output["message"], str) and output["message"]
    assert output["variables"] == {"aa": [1, 2], "bb": 2}


@pytest.mark.parametrize(
    ("source", "status", "line", "column"),
    [
        ('aa = 1\npause( msg="wait here" )\nbb = 2', "paused", 2, 1),
        ('aa = 1\n  error( msg="broken" )', "error", 2, 3),
        ('aa = 1\nfatal_error( msg="x" )', "aborted", 2, 1),
        ("aa = 1\nbb = (", "invalid", 2, 6),  # unclosed bracket reports itself
    ],
)
def test_run_stops_exit_1(tmp_path: Path, source: str, status: str, line: int, column: int) -> None:
    output, code = run_script(tmp_path, source)
    assert code == 1
    assert output["status"] == status
    assert (output["line"], output["column"]) == (line, column)
    assert isinstance(output["message"], str)
    expected_vars = {} if status == "invalid" else {"aa": 1}
    assert output["variables"] == expected_vars


def test_run_pause_message(tmp_path: Path) -> None:
    output, _ = run_script(tmp_path, 'pause( msg="check the cabling" )')
    assert output["message"] == "check the cabling"


def test_run_invalid_ignores_vars(tmp_path: Path) -> None:
    output, code = run_script(tmp_path, "aa = = 1", "--vars", '{"xx": 1}')
    assert code == 1
    assert output["status"] == "invalid"
    assert output["variables"] == {}


@pytest.mark.parametrize(
    "order",
    [
        ["run", "FILE", "--clock", "virtual", "--max-steps", "1000", "--vars", '{"n": 4}'],
        ["run", "--clock", "virtual", "--max-steps", "1000", "--vars", '{"n": 4}', "FILE"],
        ["run", "--vars", '{"n": 4}', "FILE", "--clock", "virtual", "--max-steps", "1000"],
    ],
)
def test_run_options_before_or_after_file(tmp_path: Path, order: list[str]) -> None:
    path = write(
        tmp_path, "s.ts", "total = 0\nwhile n > 0 do\nbegin()\n total = total + n\n n = n - 1\nend"
    )
    proc = tscript(*[path if arg == "FILE" else arg for arg in order])
    assert proc.returncode == 0, proc.stderr
    assert run_output(proc)["variables"] == {"n": 0, "total": 10}


def test_run_vars_decoding(tmp_path: Path) -> None:
    variables = {
        "dur": {"$duration": 90},
        "frac": {"$duration": 1.5},
        "pairs": {"$map": [[1, "one"], ["b", 2]]},
        "box": {"$handle": {"type": "foundation", "ref": {"id": 7}}},
        "plain": {"k": [1, 2.0, None, True]},
        "big": 123456789012345678901234567890,
    }
    source = (
        'dtext = "" . dur\n'
        "isdur = dur == 1:30\n"
        "notint = dur == 90\n"
        "one = pairs[1]\n"
        'bee = pairs["b"]\n'
        "same = box == box\n"
        "copy = box\n"
        'kk = plain["k"][1]\n'
        "bigger = big + 1\n"
    )
    output, code = run_script(tmp_path, source, "--vars", json.dumps(variables))
    assert code == 0, output
    got = output["variables"]
    assert got["dtext"] == "0:01:30"
    assert got["isdur"] is True
    assert got["notint"] is False
    assert got["one"] == "one"
    assert got["bee"] == 2
    assert got["same"] is True
    assert got["copy"] == {"$handle": {"type": "foundation", "ref": {"id": 7}}}
    assert got["kk"] == 2.0 and isinstance(got["kk"], float)
    assert got["bigger"] == 123456789012345678901234567891
    # pre-seeded variables are reported too, encoded as §14.3
    assert got["dur"] == {"$duration": 90} and isinstance(got["dur"]["$duration"], int)
    assert got["frac"] == {"$duration": 1.5}
    assert got["pairs"] == {"$map": [[1, "one"], ["b", 2]]}
    assert got["box"] == {"$handle": {"type": "foundation", "ref": {"id": 7}}}
    assert got["plain"] == {"k": [1, 2.0, None, True]}


def test_run_values_encoding(tmp_path: Path) -> None:
    source = (
        "ff = 4 / 2\n"
        "big = 10.0 ^ 17\n"
        "small = 1 / 100000\n"
        "ii = 2 ^ 100\n"
        "dd = 1:30\n"
        "dl = 1:0:0:0\n"
        "nn = none\n"
        "bb = true\n"
        "mm = {}\n"
        'mm[1] = "a"\n'
        'mm["b"] = 2\n'
        "dollar = {}\n"
        'dollar["$x"] = 1\n'
        "plain = { zz = 1, aa = [ 1.5, 'x' ] }\n"
        "keyed = {}\n"
        "keyed[true] = 1\n"
    )
    path = write(tmp_path, "enc.ts", source)
    proc = tscript("run", path, "--clock", "virtual")
    output = run_output(proc)
    assert output["status"] == "done"
    assert '"ff": 2.0' in proc.stdout
    assert '"big": 1e+17' in proc.stdout
    assert '"small": 1e-05' in proc.stdout
    got = output["variables"]
    assert isinstance(got["ff"], float)
    assert isinstance(got["big"], float)
    assert got["ii"] == 2**100 and isinstance(got["ii"], int)
    assert f'"ii": {2**100}' in proc.stdout
    assert got["dd"] == {"$duration": 90}
    assert '"dd": {"$duration": 90}' in proc.stdout
    assert got["dl"] == {"$duration": 86400}
    assert got["nn"] is None
    assert got["bb"] is True
    assert got["mm"] == {"$map": [[1, "a"], ["b", 2]]}
    assert got["dollar"] == {"$map": [["$x", 1]]}
    assert got["plain"] == {"zz": 1, "aa": [1.5, "x"]}
    assert list(got["plain"]) == ["zz", "aa"]
    assert got["keyed"] == {"$map": [[True, 1]]}


@pytest.mark.parametrize(
    "options",
    [
        ["--clock", "sometimes"],
        ["--max-steps", "lots"],
        ["--bogus"],
        ["--vars", "[1, 2]"],
        ["--vars", "17"],
        ["--vars", "{not json"],
        ["--vars", '{"1abc": 1}'],
        ["--vars", '{"if": 1}'],
        ["--vars", '{"none": 1}'],
        ["--vars", '{"with space": 1}'],
        ["--vars", '{"_x": 1}'],
        ["--vars", '{"a.b": 1}'],
        ["--vars", '{"ok": {"$bad": 1}}'],
        ["--vars", '{"ok": {"$duration": "soon"}}'],
    ],
)
def test_run_usage_errors(tmp_path: Path, options: list[str]) -> None:
    path = write(tmp_path, "ok.ts", "aa = 1\n")
    proc = tscript("run", path, *options)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() != ""


def test_run_unreadable_file(tmp_path: Path) -> None:
    for target in (str(tmp_path / "nope.ts"), str(tmp_path)):
        proc = tscript("run", target, "--clock", "virtual")
        assert proc.returncode == 2
        assert proc.stdout == ""
        assert proc.stderr.strip() != ""


def test_run_missing_file_argument() -> None:
    proc = tscript("run", "--clock", "virtual")
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.strip() != ""


def test_run_without_plugins_module_not_defined(tmp_path: Path) -> None:
    output, code = run_script(tmp_path, "aa = 1\nfoundation.power_on()")
    assert code == 1
    assert output["status"] == "aborted"
    assert (output["line"], output["column"]) == (2, 1)


def test_run_virtual_clock_makes_delays_instant(tmp_path: Path) -> None:
    # Ten hours of delays must finish well within the subprocess timeout.
    source = "aa = 1\ndelay( hours=5 )\ndelay( minutes=300 )\nbb = 2"
    output, code = run_script(tmp_path, source)
    assert code == 0
    assert output["variables"] == {"aa": 1, "bb": 2}


def test_run_virtual_clock_max_time(tmp_path: Path) -> None:
    source = "begin( max_time=0:05 )\n aa = 1\n delay( seconds=10 )\n bb = 2\nend"
    output, code = run_script(tmp_path, source)
    assert code == 1
    assert output["status"] == "paused"
    assert (output["line"], output["column"]) == (1, 1)
    assert output["message"] == "max_time of block at line 1 exceeded"
    assert output["variables"] == {"aa": 1}


@pytest.mark.parametrize("clock", [["--clock", "real"], []])
def test_run_real_clock_really_waits(tmp_path: Path, clock: list[str]) -> None:
    # The delay takes one real second, so the one-second max_time has run out afterwards.
    source = "begin( max_time=0:01 )\n delay( seconds=1 )\n aa = 1\nend\nbb = 2"
    path = write(tmp_path, "real.ts", source)
    proc = tscript("run", path, *clock)
    output = run_output(proc)
    assert proc.returncode == 1
    assert output["status"] == "paused"
    assert output["message"] == "max_time of block at line 1 exceeded"
    assert output["variables"] == {}


def test_run_virtual_clock_same_script_done(tmp_path: Path) -> None:
    source = "begin( max_time=0:02 )\n delay( seconds=1 )\n aa = 1\nend\nbb = 2"
    output, code = run_script(tmp_path, source)
    assert code == 0
    assert output["variables"] == {"aa": 1, "bb": 2}


def test_run_max_steps(tmp_path: Path) -> None:
    output, code = run_script(tmp_path, "while True do 10", "--max-steps", "50")
    assert code == 1
    assert output["status"] == "error"
    assert output["message"] == "step limit of 50 exceeded"
    assert output["line"] == 1


def test_run_max_steps_goto(tmp_path: Path) -> None:
    output, code = run_script(
        tmp_path, "cnt = 0\n:top\ncnt = cnt + 1\ngoto top", "--max-steps", "100"
    )
    assert code == 1
    assert output["status"] == "error"
    assert output["message"] == "step limit of 100 exceeded"
    assert 0 < output["variables"]["cnt"] < 100


def test_run_max_steps_large_enough(tmp_path: Path) -> None:
    source = "cnt = 0\nwhile cnt < 100 do cnt = cnt + 1"
    output, code = run_script(tmp_path, source, "--max-steps", "100000")
    assert code == 0
    assert output["variables"] == {"cnt": 100}
    output, code = run_script(tmp_path, source, "--max-steps", "60")
    assert code == 1
    assert output["status"] == "error"
    assert 0 < output["variables"]["cnt"] < 100


def test_run_message_builtin_passes_through(tmp_path: Path) -> None:
    output, code = run_script(tmp_path, 'message( msg="hello" )\naa = 1')
    assert code == 0
    assert output["status"] == "done"
    assert output["message"] is None
    assert output["variables"] == {"aa": 1}


def test_run_crlf_and_bom(tmp_path: Path) -> None:
    path = tmp_path / "crlf.ts"
    path.write_bytes("\ufeffaa = 1\r\nbb = 'x\r\ny'\r\ncc = missing\r\n".encode())
    proc = tscript("run", str(path), "--clock", "virtual")
    output = run_output(proc)
    assert output["status"] == "aborted"
    assert (output["line"], output["column"]) == (4, 6)
    assert output["variables"] == {"aa": 1, "bb": "x\r\ny"}
