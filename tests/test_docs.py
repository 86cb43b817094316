"""Every Python block of the documentation guides runs, against the sandbox, in a fresh
interpreter (as tests/test_readme.py does for the README).

A block that cannot run here (it needs real credentials, say) is marked on the line before its
fence with ``<!-- docs-test: skip, REASON -->``; a marker must give its reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .python_blocks import run_block
from .redis_server import redis_server

__all__ = ["redis_server"]

DOCS = Path(__file__).parent.parent / "docs"
FENCE = re.compile(
    r"(?:^<!-- docs-test: (?P<marker>[^\n]*?) -->\n)?^```python[^\n]*\n(?P<code>.*?)^```",
    flags=re.S | re.M,
)
SKIP = re.compile(r"skip, (?P<reason>\S.*)")


def _blocks() -> list[tuple[str, int, str, str | None]]:
    """(page, index on the page, code, marker) for every Python block of every page."""
    found = []
    for page in sorted(DOCS.rglob("*.md")):
        name = page.relative_to(DOCS).as_posix()
        for index, match in enumerate(FENCE.finditer(page.read_text(encoding="utf-8"))):
            found.append((name, index, match["code"], match["marker"]))
    return found


BLOCKS = _blocks()


def test_the_guides_have_python_examples() -> None:
    pages = {page for page, _, _, _ in BLOCKS}
    assert len(BLOCKS) >= 15
    for guide in ("quickstart.md", "configuration.md", "listings.md", "batches.md", "errors.md"):
        assert guide in pages
    assert {"fleets.md", "testing.md"} <= pages


@pytest.mark.parametrize("marker", [b[3] for b in BLOCKS if b[3] is not None])
def test_every_marker_is_a_skip_with_a_reason(marker: str) -> None:
    assert SKIP.fullmatch(marker), f"unknown docs-test marker {marker!r}"


@pytest.mark.parametrize(
    ("page", "index", "code", "marker"),
    BLOCKS,
    ids=[f"{page}-{index}" for page, index, _, _ in BLOCKS],
)
def test_docs_python_block_runs(
    page: str,
    index: int,
    code: str,
    marker: str | None,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    if marker is not None:
        skip = SKIP.fullmatch(marker)
        assert skip, f"unknown docs-test marker {marker!r}"
        pytest.skip(f"{page} block {index}: {skip['reason']}")
    run_block(code, f"{page} block {index}", tmp_path, request)
