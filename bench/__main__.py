"""``python -m bench``: run B1..B10, C1, C1s, C2 and A1, print the table, write docs/performance.md.

``--quick`` runs every benchmark with tiny counts, only to prove the suite
still works (CI); its figures mean nothing, so its report goes to a temporary
file unless ``--output`` says otherwise. ``--only B3,B4`` runs a subset and
keeps the other rows of an existing report.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.cases import CASES, Ctx
from bench.harness import REPO, Upstream, compile_sources, tempdir
from bench.report import Row, text_table, write_markdown

NOTES = Path(__file__).resolve().parent / "notes.md"
DOCS = REPO / "docs" / "performance.md"


async def run(names: list[str], quick: bool) -> tuple[list[Row], dict[str, str], bool]:
    """Run the cases in order; a case that crashes yields a failed row, the rest still run."""
    rows: list[Row] = []
    sections: dict[str, str] = {}
    crashed = False
    compile_sources()
    with tempdir() as tmp:
        upstream = await Upstream().start()
        try:
            import openai  # noqa: F401 - B2's baseline is "the SDK, already imported"

            ctx = Ctx(root=Path(tmp), upstream=upstream, quick=quick, sections=sections)
            for name in names:
                started = time.monotonic()
                print(f"running {name} ...", file=sys.stderr, flush=True)
                try:
                    rows.extend(await CASES[name](ctx))
                except Exception as exc:  # noqa: BLE001 - report and go on with the next case
                    traceback.print_exc()
                    crashed = True
                    rows.append(Row(name, "crashed", f"{type(exc).__name__}: {exc}"[:120], "-", "-", "-", False))
                print(f"  {name} took {time.monotonic() - started:.1f} s", file=sys.stderr, flush=True)
        finally:
            await upstream.stop()
    return rows, sections, crashed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: prove it works, measure nothing")
    parser.add_argument("--only", help="comma-separated case ids, e.g. B3,B4")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the Markdown report (default docs/performance.md; "
                             "with --quick, a temporary file, so the real report is never overwritten)")
    args = parser.parse_args(argv)
    by_upper = {name.upper(): name for name in CASES}  # C1s
    names = [by_upper.get(n.strip().upper(), n.strip()) for n in args.only.split(",")] if args.only else list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown case(s): {', '.join(unknown)}; known: {', '.join(CASES)}")
    output = args.output
    if output is None:
        output = Path(tempfile.mkdtemp(prefix="hermesd-bench-")) / "performance.md" if args.quick else DOCS
    started = time.monotonic()
    rows, sections, crashed = asyncio.run(run(names, args.quick))
    seconds = time.monotonic() - started
    print(text_table(rows))
    notes = NOTES.read_text(encoding="utf-8") if NOTES.is_file() else ""
    write_markdown(output, rows, quick=args.quick, seconds=seconds, notes=notes, sections=sections,
                   only=names if args.only else None, order=list(CASES))
    print(f"\nwrote {output} ({seconds:.0f} s)", file=sys.stderr)
    return 1 if crashed else 0


if __name__ == "__main__":
    sys.exit(main())
