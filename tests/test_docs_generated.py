"""The documentation's generated parts (tools/mkdocs_hooks.py) hold every fact the code holds:
every public error class and mapped Tuya code, every command and option of the command line. These
run without MkDocs; tools/check_site.py checks the same on the built site."""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from tuyaio import errors
from tuyaio.cli.app import build_parser
from tuyaio.cli.completion import commands

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"


def _tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


hooks = _tool("mkdocs_hooks")


def _page(name: str) -> str:
    return str(hooks.expand((DOCS / name).read_text(encoding="utf-8")))


def test_every_marker_of_every_page_expands() -> None:
    for page in DOCS.rglob("*.md"):
        assert "<!-- generated:" not in _page(str(page.relative_to(DOCS)))


def test_every_error_class_and_mapped_code_is_on_the_errors_or_protocol_page() -> None:
    pages = _page("errors.md") + _page("protocol.md") + _page("reference/errors.md")
    classes = hooks.error_classes()
    assert {"CrossRegionError", "WaitTimeoutError", "RedisUnavailableError"} <= {
        cls.__name__ for cls in classes
    }
    for cls in classes:
        assert re.search(rf"\b{cls.__name__}\b", pages), cls
    for code in set(errors._CODE_TABLE) | set(errors._HINTS):
        assert re.search(rf"\b{code}\b", pages), code
    for code in (28841101, 28841105, 28841107):
        assert str(code) in hooks.codes_table()
    assert "cross-region" in hooks.codes_table()


def test_the_codes_table_holds_each_hint() -> None:
    table = hooks.codes_table()
    for code, hint in errors._HINTS.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| {code} |"))
        assert " ".join(hint.meaning.split()) in row
        assert " ".join(hint.fix.split()) in row


def test_every_command_and_option_is_on_the_cli_page() -> None:
    page = _page("cli.md")
    found = list(commands(build_parser()))
    assert len(found) > 15
    for path, parser in found:
        assert f"`{' '.join(path)}`" in page, path
        for action in parser._actions:
            if action.help == "==SUPPRESS==":
                continue
            for flag in action.option_strings:
                assert flag in page, (path, flag)
            assert action.help or action.option_strings == ["-h", "--help"] or action.choices, (
                f"{' '.join(path)} {action.dest} has no help"
            )


def test_every_region_is_in_the_region_tables() -> None:
    from tuyaio.regions import DATA_CENTERS

    for page in ("configuration.md", "protocol.md", "cli.md"):
        text = _page(page)
        for center in DATA_CENTERS:
            assert f"| `{center.code}` | {center.name} | `{center.base_url}` |" in text


def test_the_version_and_the_changelog_are_pages() -> None:
    import tuyaio

    assert tuyaio.__version__ in _page("index.md")
    assert tuyaio.__version__ in _page("reference/index.md")
    assert "## [Unreleased]" in _page("changelog.md")


def test_the_site_and_the_repository_are_named_once_each_way() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    mkdocs = (ROOT / "mkdocs.yml").read_text()
    site = re.search(r"^site_url: (\S+)", mkdocs, re.M)
    repo = re.search(r"^repo_url: (\S+)", mkdocs, re.M)
    assert site is not None
    assert repo is not None
    assert project["urls"]["Documentation"] == site[1]
    assert project["urls"]["Source"] == repo[1]
    assert site[1] in (ROOT / "README.md").read_text()


def test_docstrings_become_linked_markdown() -> None:
    griffe = pytest.importorskip("griffe")
    docstrings = _tool("griffe_docstrings")
    package = griffe.load("tuyaio", search_paths=[str(ROOT / "src")])
    client = package["client.TuyaClient"]
    text = docstrings.markdown(
        client,
        "See :class:`RetryPolicy` and :meth:`~tuyaio.TuyaClient.from_env`, typed::\n\n"
        "    client = TuyaClient(...)\n\nThen:\n\n>>> 1 + 1\n2\n",
    )
    assert "[`RetryPolicy`][tuyaio.retry.RetryPolicy]" in text
    assert "[`from_env`][tuyaio.TuyaClient.from_env]" in text
    assert "typed:\n\n```python\nclient = TuyaClient(...)\n```" in text
    assert "```pycon\n>>> 1 + 1\n2\n```" in text
    assert ":class:" not in text


def test_code_spans_in_the_guides_name_their_reference_entries() -> None:
    index = hooks.reference_index()
    cases = {
        "TuyaClient.from_env": "tuyaio.TuyaClient.from_env",
        "tuyaio.NotFoundError": "tuyaio.errors.NotFoundError",
        "MaintenanceStatus": "tuyaio.models.MaintenanceStatus",
        "client.maintenance.get_task": (
            "tuyaio.resources.maintenance.MaintenanceResource.get_task"
        ),
        "batch.run": "tuyaio.batch.run",
        "tuyaio.batch.run": "tuyaio.batch.run",
        "page_size": None,
        "run": None,
    }
    for text, expected in cases.items():
        assert hooks.identifier_of(text, index) == expected, text
    html = (
        "<p><code>RetryPolicy</code> and <a href='#'><code>RetryPolicy</code></a></p>"
        "<pre><code>RetryPolicy</code></pre>"
    )
    linked = hooks.link_code(html, index)
    assert linked.count("<autoref") == 1
    assert '<autoref identifier="tuyaio.RetryPolicy" optional><code>RetryPolicy</code>' in linked


def test_unpacked_keywords_are_shown_as_parameters() -> None:
    griffe = pytest.importorskip("griffe")
    docstrings = _tool("griffe_docstrings")
    package = griffe.load("tuyaio", search_paths=[str(ROOT / "src")])
    docstrings.SiteDocstrings().on_package(pkg=package, loader=None)
    create = package["resources.construction.ConstructionResource.create_record"]
    shown = {p.name: p for p in create.parameters}
    assert "fields" not in shown
    assert shown["start_time"].default is None  # required
    assert shown["remark"].default == "..."
    rooms = package["resources.construction.ConstructionResource.list_rooms"]
    assert {"authorization_status", "room_name"} <= {p.name for p in rooms.parameters}


def test_check_site_reports_what_a_reader_would_see_broken(tmp_path: Path) -> None:
    check_site = _tool("check_site")
    page = tmp_path / "reference" / "client" / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text(
        '<div class="md-content"><p>See :class:<code>Outcome</code> and '
        "<code>~tuyaio.quota.CallQuota</code>, typed::</p>"
        "<blockquote>\n<blockquote>\n<p>&gt;&gt;&gt; x</p></blockquote></blockquote>"
        "<p>= attrs.field(default=3)</p><pre><code>&gt;&gt;&gt; fine</code></pre></div>"
    )
    (tmp_path / "index.html").write_text('<div class="md-content"><p>home</p></div>')
    problems = "\n".join(check_site.content_problems(tmp_path))
    for expected in (
        "a Sphinx role",
        "a ~ target",
        "a literal-block marker",
        "a doctest outside a code block",
        "nested block quotes",
        "an internal default",
        "the reference has 1 pages, fewer than 4",
        "/reference/otel/: missing",
        "/changelog/: missing",
        "is not on the home page",
        "CrossRegionError is on neither",
        "tuyaio construction update --end is not on the page",
    ):
        assert expected in problems, expected


def test_every_model_has_a_reference_entry() -> None:
    from tuyaio import models

    pages = "".join(_page(f"reference/{name}") for name in
                    ("models.md", "models-construction.md", "models-directory.md"))  # fmt: skip
    for name in models.__all__:
        assert f"::: tuyaio.models.{name}\n" in pages + "\n", name
