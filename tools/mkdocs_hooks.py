"""MkDocs hooks for the documentation site (configured in mkdocs.yml): facts written once, in the
code, and generated into the pages.

A page holds a marker, ``<!-- generated: NAME -->``, on a line of its own (or inline, for the
version); the hook replaces it with the Markdown that ``GENERATORS[NAME]`` builds from the code:

- ``errors``: the exception classes, their base, their Tuya codes and when each is raised;
- ``codes``: every Tuya code tuyaio maps or explains, its class, what it means and what to do;
- ``regions``: the data centers (``tuyaio.regions.DATA_CENTERS``);
- ``cli``: every command and option of ``tuyaio``, from its argparse parser;
- ``exit-codes``: the command line's exit codes;
- ``version``: ``tuyaio.__version__``;
- ``changelog``: CHANGELOG.md;
- ``models SUBMODULE``: a reference entry for each model ``tuyaio.models`` exports from
  ``tuyaio.models.SUBMODULE``.

The functions work without MkDocs (tests/test_docs_generated.py calls :func:`expand`).
"""

from __future__ import annotations

import argparse
import io
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"<!-- generated: (?P<name>[\w-]+)(?: (?P<arg>[\w.]+))? -->")


def _cell(text: object) -> str:
    """Text for a Markdown table cell: one line, ``|`` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _table(headers: tuple[str, ...], rows: list[tuple[object, ...]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_cell(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


_ROLE = re.compile(r":[a-z]+:`(?P<tilde>~?)(?P<target>[\w.]+)(?P<call>\(\))?`")


def _roles(text: str) -> str:
    """Sphinx roles as Markdown: a link for a full ``tuyaio.…`` target, code otherwise."""

    def link(match: re.Match[str]) -> str:
        target = match["target"]
        title = (target.rsplit(".", 1)[-1] if match["tilde"] else target) + (match["call"] or "")
        return f"[`{title}`][{target}]" if target.startswith("tuyaio.") else f"`{title}`"

    return _ROLE.sub(link, text)


def _first_paragraph(doc: str | None) -> str:
    return _roles(" ".join((doc or "").strip().split("\n\n")[0].split()))


def _link(cls: type) -> str:
    if cls.__module__ == "builtins":
        return cls.__name__
    return f"[{cls.__name__}][{cls.__module__}.{cls.__qualname__}]"


# --- errors -----------------------------------------------------------------------------------


def error_classes() -> list[type[BaseException]]:
    """Every public exception class: ``tuyaio.errors``, then ``tuyaio.fleet``'s if importable."""
    from tuyaio import errors

    found = [getattr(errors, name) for name in errors.__all__]
    try:
        from tuyaio import fleet
    except ImportError:  # pragma: no cover - the redis extra is missing
        pass
    else:
        found += [getattr(fleet, name) for name in fleet.__all__]
    public = [cls for cls in found if isinstance(cls, type) and issubclass(cls, BaseException)]

    def tree(cls: type[BaseException]) -> list[type[BaseException]]:
        below = [sub for sub in cls.__subclasses__() if sub in public]
        return [cls, *(item for sub in below for item in tree(sub))]

    roots = [cls for cls in public if not any(base in public for base in cls.__mro__[1:])]
    return [cls for root in roots for cls in tree(root)]


def answers_of(cls: type[BaseException]) -> list[str]:
    """The Tuya answers that raise exactly ``cls``: envelope codes, HTTP statuses, a message."""
    from tuyaio import errors

    codes = [str(code) for code, mapped in sorted(errors._CODE_TABLE.items()) if mapped is cls]
    statuses = [status for status in range(400, 600) if errors.error_for_status(status) is cls]
    if set(range(500, 600)) <= set(statuses):
        codes.append("HTTP 5xx without an envelope")
        statuses = [status for status in statuses if status < 500]
    codes += [f"HTTP {status}" for status in statuses]
    if errors.error_for_code(None, "cross-region") is cls:
        codes.append('a message with "cross-region"')
    return codes


def errors_table() -> str:
    """The exception classes: base, the answers that raise each, and when."""
    rows = []
    for cls in error_classes():
        base = next((b for b in cls.__mro__[1:] if b in error_classes()), Exception)
        when = re.sub(r"^[\d/, –-]+:\s*", "", _first_paragraph(cls.__doc__)).strip(' "')
        rows.append((_link(cls), _link(base), ", ".join(answers_of(cls)) or "—", when))
    return _table(("error", "is a", "Tuya answers", "when"), rows)


def codes_table() -> str:
    """Every Tuya code tuyaio maps to a class or explains with a hint."""
    from tuyaio import errors

    codes = sorted(set(errors._CODE_TABLE) | set(errors._HINTS))
    rows: list[tuple[object, ...]] = []
    for code in codes:
        hint = errors.hint_for(code)
        cls = errors.error_for_code(code)
        rows.append((code, _link(cls), hint.meaning if hint else "—", hint.fix if hint else "—"))
    cross = errors.hint_for(None, "cross-region")
    if cross is not None:
        cls = errors.error_for_code(None, "cross-region")
        rows.append(('any, with "cross-region" in `msg`', _link(cls), cross.meaning, cross.fix))
    return _table(("code", "error", "what it usually means", "what to do"), rows)


# --- regions ----------------------------------------------------------------------------------


def regions_table() -> str:
    """The data centers: region code, name, base URL."""
    from tuyaio.regions import DATA_CENTERS

    rows = [(f"`{dc.code}`", dc.name, f"`{dc.base_url}`") for dc in DATA_CENTERS]
    return _table(("region", "data center", "base URL"), rows)


# --- the command line -------------------------------------------------------------------------


def _helps(parser: argparse.ArgumentParser) -> dict[str, str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return {choice.dest: choice.help or "" for choice in action._choices_actions}
    return {}


def _argument(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    metavar = "" if action.nargs == 0 else f" {action.metavar or action.dest.upper()}"
    return ", ".join(f"`{flag}{metavar}`" for flag in action.option_strings)


def _help_text(action: argparse.Action) -> str:
    text = action.help or ""
    if action.choices and not isinstance(action, argparse._SubParsersAction) and "{" not in text:
        text = text or "one of " + ", ".join(map(str, action.choices))
    return text


def cli_reference() -> str:
    """Every command of ``tuyaio``: its usage, what it does, and each argument's help."""
    from tuyaio.cli.app import build_parser
    from tuyaio.cli.completion import commands

    parts: list[str] = []
    root = build_parser()
    for path, parser in commands(root):
        subcommands = _helps(parser)
        level = "#" * min(len(path) + 1, 4)
        parts.append(f"{level} `{' '.join(path)}`\n")
        if parser.description:
            parts.append(_first_paragraph(parser.description) + "\n")
        usage = " ".join(parser.format_usage().split())
        parts.append(f"```text\n{usage}\n```\n")
        rows = [
            (_argument(action), _help_text(action))
            for action in parser._actions
            if not isinstance(action, argparse._SubParsersAction | argparse._HelpAction)
            and action.help != argparse.SUPPRESS
        ]
        if rows:
            parts.append(_table(("argument", "what it does"), rows) + "\n")
        if subcommands:
            rows = [(f"`{name}`", text) for name, text in subcommands.items()]
            parts.append(_table(("command", "what it does"), rows) + "\n")
    return "\n".join(parts)


def exit_codes_table() -> str:
    """The command line's exit codes and what each means."""
    from tuyaio.cli.failures import EXIT_MEANINGS

    return _table(("exit code", "meaning"), [(int(c), m) for c, m in EXIT_MEANINGS.items()])


SAMPLES = (
    ("maintenance list {project} --limit 3", True),
    ("maintenance list {project} --limit 3", False),
    ("maintenance list {project} --limit 1 --json", False),
    (
        "construction rooms {lighting} --authorization-status not-authorized --limit 2 --jsonl",
        False,
    ),
    ("doctor --project-id {project}", True),
)
"""Commands run against a sandbox for the command line's page: (arguments, on a terminal?)."""

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class _Stream(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def _in_thread(run: Callable[[Any], list[str]]) -> list[str]:
    """``run(sandbox)`` while a small sandbox serves from a thread of its own."""
    import asyncio
    import threading

    from tuyaio.sandbox import Sandbox, SandboxConfig

    ready, box = threading.Event(), {}

    async def serve() -> None:
        stop = box["stop"] = asyncio.Event()
        box["loop"] = asyncio.get_running_loop()
        async with Sandbox(SandboxConfig(tasks=30, rooms=20, records=3, latency_ms=0)) as sandbox:
            box["sandbox"] = sandbox
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=asyncio.run, args=(serve(),), daemon=True)
    thread.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the sandbox for the command line's samples did not start")
        return run(box["sandbox"])
    finally:
        box["loop"].call_soon_threadsafe(box["stop"].set)
        thread.join(30)


def cli_samples() -> str:
    """What the commands of :data:`SAMPLES` print, run against a sandbox."""
    import os
    from contextlib import redirect_stderr, redirect_stdout

    from tuyaio.cli import main

    def run(sandbox: Any) -> list[str]:
        env = {
            "TUYA_BASE_URL": sandbox.base_url,
            "TUYA_CLIENT_ID": sandbox.client_id,
            "TUYA_CLIENT_SECRET": sandbox.secret,
        }
        ids = {"project": sandbox.project_id, "lighting": sandbox.lighting_project_id}
        blocks = []
        columns = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = "80"
        try:
            for args, tty in SAMPLES:
                argv = args.format(**ids).split()
                out, err = _Stream(tty), _Stream(False)
                with redirect_stdout(out), redirect_stderr(err):
                    main(argv, environ=env)
                shown = "$ tuyaio " + " ".join(argv) + ("" if tty else " | cat")
                text = _ANSI.sub("", out.getvalue() + err.getvalue())
                text = "\n".join(line.rstrip() for line in text.strip("\n").splitlines())
                where = "on a terminal" if tty else "into a pipe (stderr still on the terminal)"
                blocks.append(f"{where}:\n\n```text\n{shown}\n{text}\n```\n")
        finally:
            if columns is None:
                os.environ.pop("COLUMNS", None)
            else:
                os.environ["COLUMNS"] = columns
        return blocks

    return "\n".join(_in_thread(run))


# --- version, changelog -----------------------------------------------------------------------


def version() -> str:
    """The version of the documented package."""
    import tuyaio

    return tuyaio.__version__


def changelog() -> str:
    """CHANGELOG.md, its title left to the page."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    return re.sub(r"\A# [^\n]*\n", "", text).strip()


def models(submodule: str) -> str:
    """``:::`` entries (mkdocstrings) for the models of one submodule, by their public path."""
    from tuyaio import models as package

    names = [
        name
        for name in package.__all__
        if getattr(package, name).__module__ == f"tuyaio.models.{submodule}"
    ]
    if not names:
        raise ValueError(f"tuyaio.models exports nothing from tuyaio.models.{submodule}")
    return "\n\n".join(f"::: tuyaio.models.{name}" for name in names)


GENERATORS: dict[str, Callable[..., str]] = {
    "errors": errors_table,
    "codes": codes_table,
    "regions": regions_table,
    "cli": cli_reference,
    "cli-samples": cli_samples,
    "exit-codes": exit_codes_table,
    "version": version,
    "changelog": changelog,
    "models": models,
}


def expand(markdown: str) -> str:
    """``markdown`` with every marker replaced by what its generator builds."""
    cache: dict[str, str] = {}

    def generated(match: re.Match[str]) -> str:
        name, arg = match["name"], match["arg"]
        if name not in GENERATORS:
            raise ValueError(f"unknown marker <!-- generated: {name} -->")
        if match[0] not in cache:
            cache[match[0]] = GENERATORS[name](*([arg] if arg else []))
        return cache[match[0]]

    return MARKER.sub(generated, markdown)


def on_page_markdown(markdown: str, **_kwargs: Any) -> str:
    """MkDocs: expand the markers of a page."""
    return expand(markdown)


def on_config(config: Any, **_kwargs: Any) -> Any:
    """MkDocs: the version in the site's name (shown in the header of every page)."""
    config["site_name"] = f"tuyaio {version()}"
    return config


# --- links from the guides to the reference ---------------------------------------------------

DOCUMENTED_MODULES = (
    "tuyaio.models",
    "tuyaio.errors",
    "tuyaio.batch",
    "tuyaio.events",
    "tuyaio.otel",
    "tuyaio.quota",
    "tuyaio.fleet",
    "tuyaio.sandbox",
    "tuyaio.client_options",
    "tuyaio.resources.maintenance",
    "tuyaio.resources.construction",
    "tuyaio.resources.directory",
)
"""Modules whose public names the reference documents under the module's path."""

RESOURCES = {
    "maintenance": "tuyaio.resources.maintenance.MaintenanceResource",
    "construction": "tuyaio.resources.construction.ConstructionResource",
    "directory": "tuyaio.resources.directory.DirectoryResource",
}

_SKIPPED = re.compile(r"<pre\b.*?</pre>|<a\b.*?</a>|<h[1-6]\b.*?</h[1-6]>", re.S)
_CODE = re.compile(r"<code>(?P<name>[A-Za-z_][\w.]*)(?P<call>\(\))?</code>")


def reference_index() -> dict[str, str]:
    """Public name → the identifier of its reference entry (classes and constants by bare name,
    functions by ``module.name``)."""
    import importlib

    import tuyaio

    index: dict[str, str] = {}
    for name in tuyaio.__all__:
        if name[0].isupper():
            index[name] = f"tuyaio.{name}"
    for module_name in DOCUMENTED_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:  # pragma: no cover - an extra is missing
            continue
        short = module_name.rsplit(".", 1)[-1]
        for name in getattr(module, "__all__", ()):
            identifier = f"{module_name}.{name}"
            index[f"{short}.{name}"] = identifier
            if name[0].isupper():
                index[name] = identifier
    for name in tuyaio.__all__:  # what the reference documents at the package's path
        if name in {"TuyaClient", "Timeout", "RetryPolicy", "Stats", "REGIONS", "AsyncPager"}:
            index[name] = f"tuyaio.{name}"
    index["to_json_data"] = "tuyaio.to_json_data"
    return index


def identifier_of(text: str, index: dict[str, str]) -> str | None:
    """The reference entry a code span such as ``client.maintenance.get_task`` names, if any."""
    name = text.removeprefix("tuyaio.")
    parts = name.split(".")
    if parts[0] == "client" and len(parts) == 3 and parts[1] in RESOURCES:
        return f"{RESOURCES[parts[1]]}.{parts[2]}"
    for size in (2, 1):
        head = ".".join(parts[:size])
        if len(parts) >= size and head in index:
            return ".".join([index[head], *parts[size:]])
    return None


def link_code(html: str, index: dict[str, str]) -> str:
    """Code spans in prose that name a public object become (optional) autorefs links."""

    def link(match: re.Match[str]) -> str:
        identifier = identifier_of(match["name"], index)
        if identifier is None:
            return match[0]
        return f'<autoref identifier="{identifier}" optional>{match[0]}</autoref>'

    parts, last = [], 0
    for skipped in _SKIPPED.finditer(html):
        parts += [_CODE.sub(link, html[last : skipped.start()]), skipped[0]]
        last = skipped.end()
    parts.append(_CODE.sub(link, html[last:]))
    return "".join(parts)


def on_page_content(html: str, **_kwargs: Any) -> str:
    """MkDocs: link the code spans of the pages' prose to the reference."""
    return link_code(html, reference_index())
