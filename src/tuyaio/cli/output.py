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
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import aclosing, contextmanager
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any

import attrs
from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from ..jsondata import to_json_data
from ..pagination import AsyncPager
from .failures import one_line

__all__ = ["Column", "Format", "Output", "add_format_flags", "dumps", "printable", "show"]


class Format(StrEnum):
    """How results are written to stdout."""

    TABLE = "table"
    JSON = "json"
    JSONL = "jsonl"
    ENV = "env"


def add_format_flags(parser: Any, *, lines: bool) -> Any:
    """``--json`` (and, for listings, ``--jsonl``) on a subcommand's parser; returns the group."""
    group = parser.add_mutually_exclusive_group()
    flags = [("json", "print one JSON document")]
    if lines:
        flags.append(("jsonl", "print one JSON object per item, streamed as pages arrive"))
    for name, help_text in flags:
        group.add_argument(
            f"--{name}", dest="format", action="store_const", const=Format(name), help=help_text
        )
    parser.set_defaults(format=Format.TABLE)
    return group


def printable(text: str) -> str:
    """Control characters from the server must not reach a terminal: each becomes ``?``."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else "?" for char in text)


def show(value: object) -> str:
    """A value as a person reads it: enums by name, times in UTC (``Z``), ``-`` for nothing;
    printable."""
    if value is None or value == ():
        return "-"
    if isinstance(value, Enum):
        if getattr(value, "is_known", True):
            return value.name.lower().replace("_", " ")
        return printable(f"unknown ({value.value})")
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")
    if isinstance(value, (list, tuple)):
        return ", ".join(show(item) for item in value)
    return printable(str(value))


@attrs.frozen
class Column:
    """A table column of a model's field: fixed width, so that streamed chunks line up."""

    header: str
    field: str
    width: int
    right: bool = False

    def cell(self, item: Any) -> str:
        """The field of ``item``, fitted."""
        return self.fit(show(getattr(item, self.field)))

    def fit(self, text: str) -> str:
        """``text`` cut or padded to the width (in terminal cells)."""
        if text.isascii():
            if len(text) > self.width:
                text = text[: self.width - 1] + "…"
            return text.rjust(self.width) if self.right else text.ljust(self.width)
        if cell_len(text) > self.width:
            return set_cell_size(text, self.width - 1) + "…"
        return set_cell_size(text, self.width)


def columns(spec: str) -> tuple[Column, ...]:
    """Columns from ``"field:width header=field:>width"``: the header is the field's name unless
    given (``_`` for a space), ``>`` aligns right."""
    found = []
    for item in spec.split():
        named, _, width = item.partition(":")
        header, _, field = named.rpartition("=")
        header = (header or field).replace("_", " ")
        found.append(Column(header, field, int(width.lstrip(">")), width.startswith(">")))
    return tuple(found)


def _row(cells: Iterable[str]) -> str:
    return "  ".join(cells).rstrip() + "\n"


_JSON_UNSAFE = re.compile("[\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]")
"""What ``json.dumps`` leaves raw but a terminal may act on: DEL, C1 controls (``\\x9b`` starts an
escape sequence), bidirectional and invisible formatting characters."""


def dumps(data: Any, *, indent: int | None = None) -> str:
    """JSON text: UTF-8 kept as is, except control characters, which are escaped."""
    text = json.dumps(data, ensure_ascii=False, indent=indent)
    return _JSON_UNSAFE.sub(lambda found: f"\\u{ord(found[0]):04x}", text)


class Output:
    """Writes results to stdout in one :class:`Format`."""

    def __init__(self, fmt: Format = Format.TABLE) -> None:
        self.format = fmt

    @property
    def console(self) -> Console:
        """A rich console on the current ``sys.stdout`` (200 wide when it is not a terminal)."""
        width = None if sys.stdout.isatty() else 200
        return Console(highlight=False, width=width, soft_wrap=False)

    @contextmanager
    def meter(self, label: str) -> Iterator[Callable[[int, int | None], None]]:
        """``update(done, total)`` for a progress bar on stderr, shown only when stderr is a
        terminal, once there is more to come than is done; it disappears when finished."""
        progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=Console(stderr=True),
            transient=True,
            redirect_stdout=sys.stdout.isatty(),
            redirect_stderr=False,
            disable=not sys.stderr.isatty(),
        )
        task = progress.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            if total is not None and done < total:
                progress.start()
            progress.update(task, completed=done, total=total)

        try:
            yield update
        finally:
            progress.stop()

    def write(self, text: str) -> None:
        """Raw text to stdout, flushed (a closed pipe shows here as ``BrokenPipeError``)."""
        sys.stdout.write(text)
        sys.stdout.flush()

    def document(self, data: Any, *, indent: int | None = 2) -> None:
        """One JSON document."""
        self.write(dumps(data, indent=indent) + "\n")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]], title: str) -> None:
        """A small table for people (a header row only if ``headers`` has text)."""
        table = Table(*headers, title=Text(printable(title)), box=box.SIMPLE_HEAD)
        table.title_justify = "left"
        table.show_header = any(headers)
        for row in rows:
            table.add_row(*(Text(show(cell)) for cell in row))
        self.console.print(table)

    def detail(self, obj: Any, *, title: str) -> None:
        """One model: its fields as a two-column table for people (a list of models, one row
        each), its data as JSON otherwise."""
        if self.format is not Format.TABLE:
            self.document(to_json_data(obj))
            return
        rows: list[tuple[str, object]] = []
        for name, value in attrs.asdict(obj, recurse=False).items():
            label = name.replace("_", " ")
            if value and isinstance(value, tuple) and attrs.has(type(value[0])):
                parts = [attrs.astuple(item, recurse=False) for item in value]
                rows += [(f"{label} {show(key)}", [v for v in rest if v]) for key, *rest in parts]
            else:
                rows.append((label, value))
        self.table(("", ""), rows, title)

    def result(self, data: dict[str, Any], text: str) -> None:
        """The outcome of an action: ``text`` for people, ``data`` as JSON otherwise."""
        if self.format is Format.TABLE:
            self.write(printable(text) + "\n")
        else:
            self.document(data, indent=None)

    async def listing(
        self, pager: AsyncPager[Any], columns: Sequence[Column], *, noun: str, limit: int | None
    ) -> None:
        """Stream every item of ``pager`` (made with ``limit``)."""
        count = total = 0
        first = True
        try:
            with self.meter(noun) as update:
                async with aclosing(pager.pages()) as pages:
                    async for page in pages:
                        self._items(page.items, columns, first=first, total=page.total)
                        first, count, total = False, count + len(page.items), page.total
                        update(count, total if limit is None else min(total, limit))
        except (Exception, KeyboardInterrupt, asyncio.CancelledError) as error:
            if self.format is Format.JSON and not first and not isinstance(error, BrokenPipeError):
                # Close the started document, so that what was written parses.
                reason = one_line(error) if isinstance(error, Exception) else "interrupted"
                self.write(f'\n], "count": {count}, "error": {json.dumps(printable(reason))}}}\n')
            raise
        if self.format is Format.JSON:
            head = f'{{"total": {total}, "items": [' if first else "\n"
            self.write(f'{head}], "count": {count}}}\n')
        elif self.format is Format.TABLE:
            one = noun[:-1] if count == total == 1 else noun
            shown = f"{count} {one}" if count == total else f"{count} of {total} {noun}"
            self.console.print(shown if count else f"no {noun}", style="dim")

    def _items(
        self, items: Sequence[Any], columns: Sequence[Column], *, first: bool, total: int
    ) -> None:
        if self.format is Format.JSONL:
            self.write("".join(dumps(to_json_data(item)) + "\n" for item in items))
        elif self.format is Format.JSON:
            head = f'{{"total": {total}, "items": [\n' if first else ",\n"
            self.write(head + ",\n".join(dumps(to_json_data(item)) for item in items))
        else:
            if first:
                header = _row(column.fit(column.header) for column in columns)
                self.console.print(header, style="bold", end="", markup=False)
            # Fixed-width text: fast enough for 100,000 rows, and streamed chunks line up.
            self.write("".join(_row(column.cell(item) for column in columns) for item in items))
