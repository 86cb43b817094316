"""Where results go: a table for people, ``--json`` (one document) or ``--jsonl`` (one item a line).

Listings are written page by page as they arrive, whatever the format, so memory stays bounded
and ``| head`` stops the walk at once (the next write raises ``BrokenPipeError``). A ``--json``
listing that stops early (an error, Ctrl-C) is still closed as one valid document, with an
``error`` key. Progress goes to stderr, and only when stderr is a terminal. Text from the server is
written without control characters: escaped in JSON, replaced by ``?`` in text.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
from collections.abc import Iterable, Sequence
from contextlib import aclosing
from enum import StrEnum
from types import TracebackType
from typing import Any, TypeVar

from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ..jsondata import to_json_data
from ..pagination import AsyncPager
from .argtypes import positive_int, prefetch
from .failures import one_line
from .render import Column, printable, show

__all__ = ["Format", "Meter", "Output", "add_format_flags", "add_listing_flags", "dumps", "paging"]

T = TypeVar("T")

_PIPE_WIDTH = 200


class Format(StrEnum):
    """How results are written to stdout."""

    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    ENV = "env"


def add_format_flags(parser: Any, *, lines: bool) -> Any:
    """``--json`` (and, for listings, ``--jsonl``) on a subcommand's parser; returns the group."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const=Format.JSON,
        help="print one JSON document",
    )
    if lines:
        group.add_argument(
            "--jsonl",
            dest="format",
            action="store_const",
            const=Format.JSONL,
            help="print one JSON object per item, streamed as pages arrive",
        )
    parser.set_defaults(format=Format.TABLE)
    return group


def add_listing_flags(parser: Any, *, max_page_size: int, default_page_size: int) -> None:
    """``--page-size``, ``--limit`` and ``--prefetch`` on a listing subcommand's parser."""
    group = parser.add_argument_group("paging")
    group.add_argument(
        "--page-size",
        type=positive_int,
        metavar="N",
        default=default_page_size,
        help=f"items per request, 1-{max_page_size} (default {default_page_size})",
    )
    group.add_argument(
        "--limit", type=positive_int, metavar="N", help="stop after N items (default: all)"
    )
    group.add_argument(
        "--prefetch",
        type=prefetch,
        metavar="N",
        default=8,
        help="pages requested ahead of the output, 0-64 (default 8; 0: one at a time)",
    )


def paging(args: Any) -> dict[str, Any]:
    """The paging keyword arguments of an ``iter_*`` call, from the parsed flags."""
    return {"page_size": args.page_size, "limit": args.limit, "prefetch": args.prefetch}


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
"""What ``json.dumps`` leaves raw but a terminal may act on: DEL, C1 controls (``\\x9b`` starts an
escape sequence), bidirectional and invisible formatting characters."""


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON text: UTF-8 kept as is, except control characters, which are escaped."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


class Meter:
    """A progress bar on stderr (``done / total``), shown only when stderr is a terminal.

    It appears once there is more to come than what is done, so short runs print nothing; it is
    transient (it disappears when finished).
    """

    def __init__(self, label: str, *, enabled: bool | None = None) -> None:
        self._label = label
        self._enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Meter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def update(self, done: int, total: int | None) -> None:
        """Report progress; starts the bar the first time there is more to come."""
        if not self._enabled:
            return
        if self._progress is None:
            if total is None or done >= total:
                return
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
                redirect_stdout=sys.stdout.isatty(),
                redirect_stderr=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._label, total=total)
        assert self._task is not None
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        """Remove the bar."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None


class Output:
    """Writes results to stdout in one :class:`Format`."""

    def __init__(self, fmt: Format = Format.TABLE, *, progress: bool | None = None) -> None:
        self.format = fmt
        self._progress = progress

    @property
    def console(self) -> Console:
        """A rich console on the current ``sys.stdout`` (wide when stdout is not a terminal)."""
        width = None if sys.stdout.isatty() else _PIPE_WIDTH
        return Console(highlight=False, width=width, soft_wrap=False)

    def meter(self, label: str) -> Meter:
        """A progress bar for ``label`` (only on a terminal stderr)."""
        return Meter(label, enabled=self._progress)

    def write(self, text: str) -> None:
        """Raw text to stdout (no markup)."""
        sys.stdout.write(text)

    def flush(self) -> None:
        """Flush stdout (a closed pipe shows here as ``BrokenPipeError``)."""
        sys.stdout.flush()

    def document(self, data: Any) -> None:
        """One JSON document."""
        self.write(dumps(data, indent=2) + "\n")
        self.flush()

    def detail(self, obj: Any, rows: Sequence[tuple[str, str]], *, title: str) -> None:
        """One object: a two-column table for people, its data as JSON otherwise."""
        if self.format is not Format.TABLE:
            self.document(to_json_data(obj))
            return
        table = Table(title=title, box=box.SIMPLE, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column(overflow="fold")
        for label, value in rows:
            table.add_row(label, Text(printable(value)))
        self.console.print(table)

    def result(self, data: dict[str, Any], text: str) -> None:
        """The outcome of an action: ``text`` for people, ``data`` as JSON otherwise."""
        if self.format is Format.TABLE:
            self.console.print(printable(text), markup=False)
        else:
            self.write(dumps(data) + "\n")
            self.flush()

    async def listing(
        self,
        pager: AsyncPager[T],
        columns: Sequence[Column],
        *,
        noun: str,
        limit: int | None = None,
    ) -> tuple[int, int]:
        """Stream every item of ``pager`` (made with ``limit``); return (written, total)."""
        count = total = 0
        first = True
        try:
            with self.meter(f"{noun}") as meter:
                async with aclosing(pager.pages()) as pages:
                    async for page in pages:
                        total = page.total
                        self._items(page.items, columns, first=first, total=total)
                        first = False
                        count += len(page.items)
                        meter.update(count, total if limit is None else min(total, limit))
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as error:
            if self.format is Format.JSON and not first:
                self._close_document(count, error)
            raise
        self._end(count, total, noun, empty=first)
        return count, total

    def _close_document(self, count: int, error: BaseException) -> None:
        """End a started ``--json`` listing that stopped early, so what was written parses."""
        if isinstance(error, BrokenPipeError):
            return
        reason = "interrupted" if not isinstance(error, Exception) else one_line(error)
        self.write(f'\n], "count": {count}, "error": {json.dumps(printable(reason))}}}\n')
        self.flush()

    def _items(
        self, items: Iterable[Any], columns: Sequence[Column], *, first: bool, total: int
    ) -> None:
        if self.format is Format.JSONL:
            self.write("".join(dumps(to_json_data(item)) + "\n" for item in items))
        elif self.format is Format.JSON:
            head = f'{{"total": {total}, "items": [\n' if first else ",\n"
            self.write(head + ",\n".join(dumps(to_json_data(item)) for item in items))
        else:
            if first:
                header = _row((column.header for column in columns), columns)
                self.console.print(header, style="bold", end="", markup=False, highlight=False)
            self.write(_rows(items, columns))
        self.flush()

    def _end(self, count: int, total: int, noun: str, *, empty: bool) -> None:
        if self.format is Format.JSON:
            head = f'{{"total": {total}, "items": [' if empty else "\n"
            self.write(f'{head}], "count": {count}}}\n')
            self.flush()
        elif self.format is Format.TABLE:
            one = noun[:-1] if count == total == 1 else noun
            shown = f"{count} {one}" if count == total else f"{count} of {total} {noun}"
            self.console.print(shown if count else f"no {noun}", style="dim")


def _cell(text: str, width: int, justify: str) -> str:
    if text.isascii():
        if len(text) > width:
            text = text[: width - 1] + "…"
        return text.rjust(width) if justify == "right" else text.ljust(width)
    fitted = set_cell_size(text, width)
    if cell_len(text) > width:
        fitted = set_cell_size(text, width - 1) + "…"
    return fitted


def _row(cells: Iterable[str], columns: Sequence[Column]) -> str:
    line = "  ".join(
        _cell(cell, column.width, column.justify)
        for cell, column in zip(cells, columns, strict=True)
    )
    return line.rstrip() + "\n"


def _rows(items: Iterable[Any], columns: Sequence[Column]) -> str:
    """Rows as fixed-width text: fast enough for 100,000 rows, and streamed chunks line up."""
    return "".join(_row((show(column.get(item)) for column in columns), columns) for item in items)
