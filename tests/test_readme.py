"""Every Python block of README.md runs, against the sandbox, in a fresh interpreter."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .python_blocks import run_block
from .redis_server import redis_server

__all__ = ["redis_server"]

README = Path(__file__).parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_has_python_examples() -> None:
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_python_block_runs(
    index: int, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    run_block(BLOCKS[index], f"block {index}", tmp_path, request)


def test_every_readme_table_renders_as_a_table() -> None:
    """A paragraph between table rows ends the table: the rows after it render as raw text."""
    from markdown_it import MarkdownIt

    text = README.read_text()
    html = MarkdownIt("commonmark").enable("table").render(text)
    rows = [line for line in text.splitlines() if line.startswith("|")]
    assert rows
    assert "<p>|" not in html
    assert "\n|" not in html.replace("<td>|", "")
    assert html.count("<tr>") == len(rows) - html.count("<table>")  # the |---| lines are no rows


def test_the_readmes_exit_codes_are_the_command_lines() -> None:
    from tuyaio.cli.failures import EXIT_MEANINGS

    table = re.search(
        r"^\| exit code \| meaning \|\n\|---\|---\|\n((?:\|.*\n)+)", README.read_text(), re.M
    )
    assert table is not None
    codes = [int(row.split("|")[1]) for row in table[1].splitlines()]
    assert codes == [int(code) for code in EXIT_MEANINGS]
