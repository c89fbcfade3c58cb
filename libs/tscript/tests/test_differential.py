"""Generated programs give the same result straight through and with a save/load between
every step (and with any slice size): the fast path, the step-by-step path and the saved
state all agree."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobkit import drive, make_registry, start
from tscript.machine import Interpreter

NAMES = ["aa", "bb", "cc", "xs"]


def leaf() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers(-3, 12).map(str),
        st.sampled_from(NAMES),
        st.sampled_from(['"s"', "1.5", "true", "none", "[1, 2]", "{ kk=1 }", "0:01"]),
    )


def expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.tuples(
            inner,
            st.sampled_from(["+", "-", "*", "%", "/", ".", "==", "<", ">=", "and", "or", "&"]),
            inner,
        ).map(lambda t: f"( {t[0]} {t[1]} {t[2]} )")
        return st.one_of(
            binary,
            inner.map(lambda e: f"not {e}"),
            inner.map(lambda e: f"[ {e}, 1 ]"),
            inner.map(lambda e: f"{{ kk={e} }}"),
            st.sampled_from(NAMES).map(lambda n: f"exists( {n} )"),
            st.sampled_from(NAMES).map(lambda n: f"exists( {n}[0] )"),
            st.sampled_from(NAMES).map(lambda n: f"len( array={n} )"),
            st.sampled_from(NAMES).map(lambda n: f"{n}[0]"),
            st.just("pop( array=xs )"),
            st.just("sim.power_on()"),
            inner.map(lambda e: f"sim.wipe( disk={e} )"),
        )

    return st.recursive(leaf(), extend, max_leaves=6)


def statements(depth: int = 0) -> st.SearchStrategy[str]:
    simple = st.one_of(
        st.tuples(st.sampled_from(NAMES), expressions()).map(lambda t: f"{t[0]} = {t[1]}"),
        expressions().map(lambda e: f"append( array=xs, value={e} )"),
        st.sampled_from(["pass", "xs = []", "aa = 0", "delay( seconds=3 )", "pause( msg=aa )"]),
        st.just("error( msg='e' . bb )"),
        st.just("xs[0] = aa"),
    )
    if depth >= 2:
        return simple
    inner = statements(depth + 1)
    block = st.lists(inner, min_size=0, max_size=4).map(
        lambda body: "begin()\n" + "".join(f"{s}\n" for s in body) + "end"
    )
    return st.one_of(
        simple,
        st.tuples(expressions(), inner, inner).map(
            lambda t: f"if {t[0]} then\n{t[1]}\nelse\n{t[2]}"
        ),
        st.tuples(
            st.integers(0, 4),
            st.lists(inner, max_size=3),
            st.sampled_from(["", "break", "continue"]),
        ).map(
            lambda t: (
                "begin()\nii = 0\nwhile ii < "
                + str(t[0])
                + " do\nbegin()\n  ii = ii + 1\n"
                + "".join(f"{s}\n" for s in t[1])
                + (f"  if ii == 2 then {t[2]}\n" if t[2] else "")
                + "end\nend"
            )
        ),
        block,
    )


programs = st.lists(statements(), min_size=1, max_size=6).map(
    lambda body: "xs = [1]\n" + "\n".join(body) + "\n"
)


def outcome(source: str, **kwargs: Any) -> tuple[Any, ...]:
    job: Interpreter = start(source, make_registry(), step_limit=3000)
    for _ in range(12):
        job, result = drive(job, **kwargs)
        if result.status == "paused":
            job.resume()
        elif result.status == "error" and not (result.message or "").startswith("step limit"):
            job.reset()
        else:
            break
    # The step count of an aborted job is not part of its outcome: the fast path stops counting
    # at the failing statement's start while the step-by-step path counts up to the failure.
    steps = None if result.status == "aborted" else job.steps
    return (result.status, result.message, result.line, result.column, steps, job.vars)


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(source=programs, size=st.integers(1, 9))
def test_save_load_between_every_step_changes_nothing(source: str, size: int) -> None:
    reference = outcome(source, slice_size=1_000_000)
    assert outcome(source, slice_size=1, reload_each_slice=True) == reference
    assert outcome(source, slice_size=size) == reference
