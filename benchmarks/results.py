"""Writing one section of ``benchmarks/RESULTS.md``: each benchmark owns a ``## …``
section and regenerates only that one, leaving the others as they are."""

from __future__ import annotations

import re
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

FILE_HEADER = """\
# opfilter benchmark results

Each section is produced by one script under `benchmarks/` and regenerated only by it.
The machine these runs happen on is shared and noisy: absolute times move from run to run,
so what matters are the **ratios measured interleaved within one run** (each section says
how it measures them).  Re-run a script before drawing conclusions from its section.
"""


def write_section(heading: str, section: str) -> Path:
    """Replace the section that starts with ``heading`` (a ``## …`` line) by ``section``
    (which starts with that heading), or append it; create the file if needed."""
    text = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else FILE_HEADER
    start = text.find(heading + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        nxt = re.search(r"^## ", text[start + len(heading) :], re.MULTILINE)
        end = len(text) if nxt is None else start + len(heading) + nxt.start()
        text = text[:start] + section.rstrip("\n") + "\n" + ("\n" if nxt else "") + text[end:]
    RESULTS.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
    return RESULTS
