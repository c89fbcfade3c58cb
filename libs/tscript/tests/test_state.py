"""Saved states (tscript.md §13): round trips at every step, versions, golden files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jobkit import drive, make_registry, start
from tscript import state
from tscript.codec import to_state_json
from tscript.context import VirtualContext
from tscript.errors import StateError
from tscript.machine import Interpreter
from tscript.program import compile_program

GOLDEN = Path(__file__).parent / "data" / "golden"

SCRIPTS = {
    "provision": """
attempts = 0
done = false
while not done and attempts < 5 do
begin( description="power cycle", expected_time=0:30 )
  attempts = attempts + 1
  sim.power_on()
  if attempts >= 2 then done = true
  else delay( seconds=10 )
end
info = { host=config.hostname, tries=attempts, ok=done }
""",
    "lists_and_maps": """
xs = []
ii = 0
while ii < 6 do
begin()
  ii = ii + 1
  if ii % 2 == 0 then continue
  append( array=xs, value=[ii, { k=ii * 2 }] )
end
ys = xs
last = pop( array=ys )
text = "got " . xs . " and " . last
found = exists( xs[5] ) or exists( ys[0][1]['k'] )
""",
    "aliasing_mid_expression": """
aa = [1, 2, 3]
bb = len( array=aa ) . pop( array=aa ) . aa . sim.power_on()
cc = [aa, aa] . sim.power_on() . pop( array=aa )
""",
    "goto_and_blocks": """
count = 0
:top
count = count + 1
begin( description="outer" )
  begin()
    if count < 3 then goto top
  end
end
total = { n=count }
""",
    "pause_and_error": """
aa = 1
bb = pause( msg="check cabling" )
cc = error( msg="firmware" )
dd = aa + 1
""",
}


def run_reference(source: str) -> tuple[Interpreter, Any]:
    return drive_with_actions(start(source, make_registry()), slice_size=1_000_000)


def drive_with_actions(job: Interpreter, **kwargs: Any) -> tuple[Interpreter, Any]:
    """Drive, resuming pauses and resetting errors, until done or aborted."""
    for _ in range(20):
        job, result = drive(job, **kwargs)
        if result.status == "paused":
            job.resume()
        elif result.status == "error":
            job.reset()
        else:
            return job, result
    raise AssertionError("too many stops")


@pytest.mark.parametrize("name", sorted(SCRIPTS))
def test_save_and_load_at_every_step_gives_the_same_result(name: str) -> None:
    source = SCRIPTS[name]
    reference, ref_result = run_reference(source)
    job = start(source, make_registry())
    job, result = drive_with_actions(job, slice_size=1, reload_each_slice=True)
    assert (result.status, result.message, result.line) == (
        ref_result.status,
        ref_result.message,
        ref_result.line,
    )
    assert job.vars == reference.vars
    assert job.steps == reference.steps


@pytest.mark.parametrize("name", sorted(SCRIPTS))
@pytest.mark.parametrize("size", [2, 3, 7, 50])
def test_outcome_does_not_depend_on_slice_size(name: str, size: int) -> None:
    reference, ref_result = run_reference(SCRIPTS[name])
    job, result = drive_with_actions(start(SCRIPTS[name], make_registry()), slice_size=size)
    assert (result.status, job.vars, job.steps) == (
        ref_result.status,
        reference.vars,
        reference.steps,
    )


def test_in_place_builtins_keep_acting_on_the_variable_after_a_load() -> None:
    job = start("aa = [1, 2, 3]\nbb = len( array=aa ) . pop( array=aa ) . aa", make_registry())
    # Stop right after `aa` was read as the third operand... then reload and finish.
    for _ in range(200):
        job.run(1)
        job = state.load(job.save(), job.registry, job.ctx)
    assert job.vars["bb"] == "33[1, 2]"


def test_canonical_text_round_trips_byte_for_byte() -> None:
    job = start(SCRIPTS["lists_and_maps"], make_registry())
    for _ in range(40):
        job.run(3)
        text = job.save()
        assert state.load(text, job.registry, job.ctx).save() == text
        assert (
            json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            == text
        )


class TestRefusals:
    def _text(self) -> str:
        job = start("aa = 1\nsim.power_on()", make_registry())
        job.run()
        return job.save()

    def test_newer_version_is_refused(self) -> None:
        doc = json.loads(self._text())
        doc["version"] = 99
        with pytest.raises(StateError, match="newer"):
            state.load(json.dumps(doc))

    def test_source_that_does_not_match_sha256_is_refused(self) -> None:
        doc = json.loads(self._text())
        doc["program"]["source"] = "aa = 2\nsim.power_on()"
        with pytest.raises(StateError, match="sha256"):
            state.load(json.dumps(doc))

    def test_state_without_source_needs_the_program(self) -> None:
        job = start("aa = 1\nsim.power_on()", make_registry())
        job.run()
        text = job.save(include_source=False)
        assert "source" not in json.loads(text)["program"]
        with pytest.raises(StateError, match="no source"):
            state.load(text)
        with pytest.raises(StateError, match="another program"):
            state.load(text, program=compile_program("bb = 2"))
        loaded = state.load(text, make_registry(), VirtualContext(), program=job.program)
        assert loaded.save(include_source=False) == text

    @pytest.mark.parametrize(
        "mutate",
        [
            lambda d: d.update(frames=[[9999, 0, [], None]]),
            lambda d: d.update(status="sleeping"),
            lambda d: d.update(vars={"aa": {"$bogus": 1}}),
            lambda d: d.pop("steps"),
            lambda d: d.update(format="other"),
        ],
    )
    def test_malformed_states_are_refused(self, mutate: Any) -> None:
        doc = json.loads(self._text())
        mutate(doc)
        with pytest.raises(StateError):
            state.load(json.dumps(doc))

    def test_not_json_is_refused(self) -> None:
        with pytest.raises(StateError):
            state.load("{nope")


def _golden_cases() -> list[Path]:
    return sorted(GOLDEN.glob("*.json"))


GOLDEN_SCRIPTS = {
    "mid_loop_block_entry": (SCRIPTS["provision"], 12),
    "paused_in_nested_expression": (SCRIPTS["pause_and_error"], 5),
    "lists_mid_slice": (SCRIPTS["lists_and_maps"], 23),
}


def make_golden(name: str) -> dict[str, Any]:
    """Run a script to a fixed step count and record the state plus the expected end."""
    source, steps = GOLDEN_SCRIPTS[name]
    job = start(source, make_registry())
    job.run(steps)
    saved = job.save()
    final, result = drive_with_actions(state.load(saved, make_registry(), VirtualContext()))
    return {
        "name": name,
        "state": saved,
        "expect": {"status": result.status, "variables": to_state_json(final.vars)},
    }


def test_golden_states_still_load_and_resume(update_golden: bool) -> None:
    if update_golden:
        GOLDEN.mkdir(parents=True, exist_ok=True)
        for name in GOLDEN_SCRIPTS:
            (GOLDEN / f"{name}.json").write_text(json.dumps(make_golden(name), indent=1) + "\n")
    cases = _golden_cases()
    assert {p.stem for p in cases} == set(GOLDEN_SCRIPTS)
    for path in cases:
        data = json.loads(path.read_text())
        job = state.load(data["state"], make_registry(), VirtualContext())
        assert job.save() == data["state"], f"{path.name}: the format changed"
        final, result = drive_with_actions(job)
        assert result.status == data["expect"]["status"]
        assert to_state_json(final.vars) == data["expect"]["variables"]


def test_a_pending_delay_is_not_taken_for_a_block_deadline_after_a_load() -> None:
    job = start("begin( max_time=1:00 )\n  delay( seconds=5 )\nend\ndelay( seconds=3 )\naa = 1")
    assert job.run().status == "waiting"
    job = state.load(job.save(), job.registry, job.ctx)
    job.ctx.advance(7)  # past the delay's own deadline, inside the block's max_time
    assert job.run().status == "waiting"
    job = state.load(job.save(), job.registry, job.ctx)
    assert job.n_deadlines == 0
    job.ctx.advance(10)
    result = job.run()
    assert (result.status, job.vars) == ("done", {"aa": 1})
