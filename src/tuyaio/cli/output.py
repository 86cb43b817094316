"""Where results go: a table for people, ``--json`` (one document) or ``--jsonl`` (one item a line).

Data goes to stdout, everything else to stderr: table headers and titles, the "N of M" count,
progress and errors. When stdout is not a terminal, a table is plain tab-separated values (one row
a line, no padding, no decoration), so ``| cut -f1`` and ``> file`` get only data; on a terminal
the columns are fitted to its width. Listings are written page by page as they arrive, whatever
the format, so memory stays bounded and ``| head`` stops the walk at once (the next write raises
``BrokenPipeError``). A ``--json`` command always writes one valid document, with an ``error`` key
when it failed (even before its first item). Progress is shown only when stderr is a terminal.
Text from the server is written without control characters: escaped in JSON, replaced by ``?``
in text.
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

__all__ = [
    "Column",
    "Format",
    "Output",
    "add_format_flags",
    "dumps",
    "error_document",
    "fit_columns",
    "printable",
    "show",
]


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


def _tsv(cells: Iterable[str]) -> str:
    return "\t".join(cells) + "\n"


_UNCUT = ("_id", "_at", "_time")
"""Fields whose column is never narrowed: an ID or a time cut short is no use."""


def fit_columns(columns: Sequence[Column], width: int) -> tuple[Column, ...]:
    """``columns`` narrowed, widest first, until a row fits in ``width`` terminal cells (or
    every column is as narrow as it may be: IDs and times are never cut, text down to its
    header's width)."""
    widths = [column.width for column in columns]
    floors = [
        column.width if column.field.endswith(_UNCUT) else max(len(column.header), 6)
        for column in columns
    ]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    while excess > 0:
        shrinkable = [
            n for n, (w, floor) in enumerate(zip(widths, floors, strict=True)) if w > floor
        ]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda n: widths[n])
        widths[widest] -= 1
        excess -= 1
    return tuple(attrs.evolve(column, width=w) for column, w in zip(columns, widths, strict=True))


def error_document(error: BaseException) -> dict[str, Any]:
    """What a failed ``--json`` command writes: ``ok`` false and the ``error`` line."""
    reason = one_line(error) if isinstance(error, Exception) else "interrupted"
    return {"ok": False, "error": printable(reason)}


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
        self._fitted: tuple[Column, ...] = ()
        self.written: bool = False
        """Whether anything was written to stdout (a failed ``--json`` run writes its error
        document only if nothing was)."""

    @property
    def terminal(self) -> bool:
        """Whether stdout is a terminal (tables for people) rather than a pipe or a file (TSV)."""
        return sys.stdout.isatty()

    @property
    def console(self) -> Console:
        """A rich console on the current ``sys.stdout``, as wide as the terminal."""
        return Console(highlight=False, soft_wrap=False)

    def say(self, text: str) -> None:
        """Text for people around the data: to stdout on a terminal, to stderr otherwise."""
        text = "\n".join(printable(line) for line in text.split("\n"))
        if self.terminal:
            self.write(text)
        else:
            sys.stderr.write(text)

    def progress(self, text: str) -> None:
        """A line of progress for a person watching: to stderr, only when it is a terminal."""
        if sys.stderr.isatty():
            self.note(text)

    def note(self, text: str, *, style: str = "dim") -> None:
        """A line for people, not data: to stderr (dimmed on a terminal); tabs are kept."""
        shown = "\t".join(printable(part) for part in text.split("\t"))
        if style and sys.stderr.isatty():
            Console(stderr=True, highlight=False, soft_wrap=True).print(Text(shown), style=style)
        else:
            sys.stderr.write(shown + "\n")

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
        self.written = True
        sys.stdout.write(text)
        sys.stdout.flush()

    def document(self, data: Any, *, indent: int | None = 2) -> None:
        """One JSON document."""
        self.write(dumps(data, indent=indent) + "\n")

    def table(self, headers: Sequence[str], rows: Iterable[Sequence[object]], title: str) -> None:
        """A small table: for people on a terminal (a header row only if ``headers`` has text),
        tab-separated rows otherwise (the title and headers then go to stderr)."""
        if not self.terminal:
            self.note(title, style="")
            if any(headers):
                self.note(_tsv(headers).rstrip("\n"), style="")
            self.write("".join(_tsv(show(cell) for cell in row) for row in rows))
            return
        table = Table(*headers, title=Text(printable(title)), box=box.SIMPLE_HEAD)
        table.title_justify = "left"
        table.show_header = any(headers)
        for row in rows:
            table.add_row(*(Text(show(cell)) for cell in row))
        self.written = True
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
            if self.format is Format.JSON and not isinstance(error, BrokenPipeError):
                # Close the document (or write a whole one), so that what was written parses.
                reason = json.dumps(error_document(error)["error"])
                head = '{"total": null, "items": [' if first else "\n"
                self.write(f'{head}], "count": {count}, "ok": false, "error": {reason}}}\n')
            raise
        if self.format is Format.JSON:
            head = f'{{"total": {total}, "items": [' if first else "\n"
            self.write(f'{head}], "count": {count}}}\n')
        elif self.format is Format.TABLE:
            one = noun[:-1] if count == total == 1 else noun
            shown = f"{count} {one}" if count == total else f"{count} of {total} {noun}"
            self.note(shown if count else f"no {noun}")

    def _items(
        self, items: Sequence[Any], columns: Sequence[Column], *, first: bool, total: int
    ) -> None:
        if self.format is Format.JSONL:
            self.write("".join(dumps(to_json_data(item)) + "\n" for item in items))
        elif self.format is Format.JSON:
            head = f'{{"total": {total}, "items": [\n' if first else ",\n"
            self.write(head + ",\n".join(dumps(to_json_data(item)) for item in items))
        elif not self.terminal:
            if first:
                self.note(_tsv(column.header for column in columns).rstrip("\n"), style="")
            fields = [column.field for column in columns]
            self.write("".join(_tsv(show(getattr(item, f)) for f in fields) for item in items))
        else:
            if first:
                self._fitted = fit_columns(columns, self.console.width)
                header = _row(column.fit(column.header) for column in self._fitted)
                self.console.print(header, style="bold", end="", markup=False, soft_wrap=True)
                self.written = True
            # Fixed-width text: fast enough for 100,000 rows, and streamed chunks line up.
            self.write(
                "".join(_row(column.cell(item) for column in self._fitted) for item in items)
            )
