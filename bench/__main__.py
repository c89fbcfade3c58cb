"""``python -m bench [SUITE ...]``: run every registered suite, or the named ones."""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

from bench import RESULTS_DIR, discover, summary, table


def main(argv: Sequence[str] | None = None) -> int:
    suites = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "suites",
        nargs="*",
        metavar="SUITE",
        help=f"suites to run (default: all of {sorted(suites)})",
    )
    parser.add_argument("--list", action="store_true", help="list the suites and exit")
    parser.add_argument(
        "--no-write", action="store_true", help="do not write bench/results/<suite>.md"
    )
    args = parser.parse_args(argv)
    if args.list:
        for name, suite in suites.items():
            print(f"{name}\t{suite.title}")
        return 0
    unknown = [name for name in args.suites if name not in suites]
    if unknown:
        parser.error(f"unknown suite(s) {', '.join(unknown)}; known: {', '.join(sorted(suites))}")
    chosen = args.suites or list(suites)
    for name in chosen:
        suite = suites[name]
        print(f"\n=== {suite.title} ===", flush=True)
        started = time.perf_counter()
        results = suite.run()
        elapsed = time.perf_counter() - started
        text = table(results)
        verdict = summary(results)
        print()
        print(text)
        print()
        print(verdict)
        print(f"(suite took {elapsed:.1f} s)")
        if not args.no_write:
            RESULTS_DIR.mkdir(exist_ok=True)
            path = RESULTS_DIR / f"{name}.md"
            notes = getattr(suite.module, "NOTES", "")
            path.write_text(
                f"## {suite.title}\n\n{text}\n\n{verdict}\n\n{notes}".rstrip() + "\n",
                encoding="utf-8",
            )
            print(f"written to {path.relative_to(RESULTS_DIR.parent.parent)}")
    # Missed targets are reported in the table, not through the exit code.
    return 0


if __name__ == "__main__":
    sys.exit(main())
