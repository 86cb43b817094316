"""Load every page of the built documentation site in headless Chromium, and fail on a broken one.

    python tools/check_site.py [SITE_DIR] [--chromium PATH]

Serves SITE_DIR (default ``build/site``, what ``mkdocs build`` writes) on 127.0.0.1, starts the
machine's Chromium headless (Debian's ``chromium``; nothing is downloaded) and drives it over the
Chrome DevTools Protocol with aiohttp's websocket client. Every HTML file of the site is loaded,
and the check fails on:

- a page or any resource of it answered with an HTTP error (or not loaded at all);
- a console error or an uncaught JavaScript exception;
- a dead internal link: an ``<a href>`` to this site whose page does not exist, or whose
  ``#fragment`` names no element of that page.

Links to other sites are not followed (CI has no network), and the browser is told not to reach
out on its own. The site is served under the path of mkdocs.yml's ``site_url`` (``--base-path``),
as it will be published.

Before the browser, the built HTML is read for what a reader would see as broken or missing
(:func:`content_problems`): Sphinx roles, ``~`` targets, ``::`` or ``>>>`` shown literally,
internals (``attrs.field(…)``, ``MappingProxyType(…)``); a reference of fewer than four pages or a
page over 250 KB; no page for ``tuyaio.otel``, ``tuyaio.events``, ``tuyaio.quota`` or the
changelog; no version on the home page; a public error class or a mapped Tuya code missing from
the errors and protocol pages; a command or option of the command line missing from its page.

Exit status 0 when every page is clean, 1 otherwise (each problem on one line).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import re
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urldefrag, urlsplit

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
PAGE_TIMEOUT_S = 30.0
MAX_PAGE_BYTES = 250_000
REQUIRED_PAGES = ("reference/otel", "reference/events", "reference/quota", "changelog")
SETTLE_S = 0.3  # after the load event: late scripts (search worker, clipboard) report errors
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
]
LINKS_JS = """JSON.stringify({
  links: Array.from(document.querySelectorAll('a[href]'), a => a.href),
  ids: Array.from(document.querySelectorAll('[id], a[name]'), e => e.id || e.getAttribute('name')),
  title: document.title,
})"""


class Problems:
    """Every problem found, one line each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(self, page: str, what: str) -> None:
        self.lines.append(f"{page}: {what}")


# --- what the pages say ---------------------------------------------------------------------

_PRE = re.compile(r"<pre\b.*?</pre>", re.S)
_TAG = re.compile(r"<[^>]+>")
_SHOWN_BROKEN = {
    "a Sphinx role": re.compile(r":(?:class|func|meth|data|attr|exc|mod|obj|const):"),
    "a ~ target": re.compile(r"~tuyaio\."),
    "a literal-block marker (::)": re.compile(r"\w::(?:\s|$)"),
    "a doctest outside a code block (>>>)": re.compile(r">>>"),
    "an internal default (attrs.field)": re.compile(r"attrs\.field\("),
    "an internal value (MappingProxyType)": re.compile(r"MappingProxyType\("),
}


def page_text(html: str) -> str:
    """What a reader sees of a page outside its code blocks (tags dropped, entities decoded)."""
    from html import unescape

    main = html.split('<div class="md-content"', 1)[-1]
    return unescape(_TAG.sub(" ", _PRE.sub(" ", main)))


def _read(site: Path, page: str) -> str:
    path = site / page / "index.html"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def content_problems(site: Path) -> list[str]:
    """What the built pages show wrongly or leave out (see the module's docstring)."""
    problems = Problems()
    for path in sorted(site.rglob("*.html")):
        page = "/" + path.relative_to(site).as_posix()
        html = path.read_text(encoding="utf-8")
        text = page_text(html)
        for what, pattern in _SHOWN_BROKEN.items():
            found = pattern.search(text)
            if found:
                context = " ".join(text[max(0, found.start() - 40) : found.end() + 40].split())
                problems.add(page, f"shows {what}: …{context}…")
        if "<blockquote>\n<blockquote>" in html:
            problems.add(page, "nested block quotes (a squashed >>> example?)")
    reference = list((site / "reference").glob("*/index.html"))
    if len(reference) < 4:
        problems.add("/reference/", f"the reference has {len(reference)} pages, fewer than 4")
    for path in reference:
        if path.stat().st_size > MAX_PAGE_BYTES:
            size = path.stat().st_size // 1000
            problems.add("/" + path.relative_to(site).as_posix(), f"{size} KB, over 250 KB")
    for page in REQUIRED_PAGES:
        if not _read(site, page):
            problems.add(f"/{page}/", "missing")
    _coverage(site, problems)
    return problems.lines


def _coverage(site: Path, problems: Problems) -> None:
    """The facts the code holds appear on their pages: version, errors and codes, the CLI."""
    import tuyaio
    from tuyaio import errors
    from tuyaio.cli.app import build_parser

    sys.path.insert(0, str(ROOT / "tools"))
    from mkdocs_hooks import error_classes

    from tuyaio.cli.completion import commands

    if tuyaio.__version__ not in page_text((site / "index.html").read_text(encoding="utf-8")):
        problems.add("/", f"the version ({tuyaio.__version__}) is not on the home page")
    pages = "".join(page_text(_read(site, p)) for p in ("errors", "protocol", "reference/errors"))
    for cls in error_classes():
        if cls.__name__ not in pages:
            problems.add(
                "/errors/", f"{cls.__name__} is on neither the errors nor the protocol page"
            )
    for code in sorted(set(errors._CODE_TABLE) | set(errors._HINTS)):
        if str(code) not in pages:
            problems.add(
                "/errors/", f"Tuya code {code} is on neither the errors nor the protocol page"
            )
    cli = page_text(_read(site, "cli"))
    for path, parser in commands(build_parser()):
        if " ".join(path) not in cli:
            problems.add("/cli/", f"the command {' '.join(path)!r} is not on the page")
        for action in parser._actions:
            for flag in action.option_strings:
                if flag not in cli:
                    problems.add("/cli/", f"{' '.join(path)} {flag} is not on the page")


def site_prefix() -> str:
    """The path of mkdocs.yml's ``site_url`` (``/`` without one): where the site is published."""
    config = ROOT / "mkdocs.yml"
    found = re.search(r"^site_url:\s*(\S+)", config.read_text(encoding="utf-8"), re.M)
    path = urlsplit(found[1]).path if found else "/"
    return "/" + path.strip("/") + "/" if path.strip("/") else "/"


# --- the site on 127.0.0.1 -----------------------------------------------------------------


def resolve(site: Path, url_path: str, prefix: str = "/") -> Path | None:
    """The file a static server would answer for ``url_path`` (the site published under
    ``prefix``), or None (a 404)."""
    if not url_path.startswith(prefix):
        return None
    relative = unquote(url_path[len(prefix) :]).lstrip("/")
    target = (site / relative).resolve()
    if site.resolve() not in (target, *target.parents):
        return None
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_file() else None


@contextlib.asynccontextmanager
async def serve(site: Path, statuses: dict[str, int], prefix: str = "/") -> AsyncIterator[str]:
    """Serve ``site`` under ``prefix`` on a free loopback port; every request's status lands in
    ``statuses``."""

    async def handle(request: web.Request) -> web.StreamResponse:
        path = resolve(site, request.path, prefix)
        if path is None:
            statuses[request.path] = 404
            return web.Response(status=404, text="not found")
        relative = unquote(request.path[len(prefix) :]).lstrip("/")
        if not request.path.endswith("/") and relative and (site / relative).is_dir():
            statuses[request.path] = 301
            raise web.HTTPMovedPermanently(request.path + "/")
        statuses[request.path] = 200
        return web.FileResponse(path)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()


# --- Chromium over the DevTools Protocol ---------------------------------------------------


class Browser:
    """One headless Chromium and one tab, spoken to over CDP (flattened sessions)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read())
        self.session: str | None = None

    async def _read(self) -> None:
        async for message in self._ws:
            if message.type is not aiohttp.WSMsgType.TEXT:
                break
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif "method" in data:
                await self.events.put(data)
        for future in self._waiting.values():
            future.set_exception(ConnectionError("the browser closed the DevTools connection"))

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send one command (to the tab once attached) and return its result."""
        ident = next(self._ids)
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith("Target."):
            message["sessionId"] = self.session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[ident] = future
        await self._ws.send_str(json.dumps(message))
        answer = await asyncio.wait_for(future, PAGE_TIMEOUT_S)
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        result: dict[str, Any] = answer.get("result", {})
        return result

    async def open_tab(self) -> None:
        target = await self.send("Target.createTarget", {"url": "about:blank"})
        attached = await self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}
        )
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.send(f"{domain}.enable")

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.send("Browser.close")
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def chromium(executable: str) -> AsyncIterator[Browser]:
    """Start headless Chromium with a fresh profile; yield a Browser with one tab open."""
    with tempfile.TemporaryDirectory(prefix="check-site-chromium-") as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={profile}",
            "about:blank",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            endpoint = await asyncio.wait_for(_devtools_url(process.stderr), PAGE_TIMEOUT_S)
            async with (
                aiohttp.ClientSession() as http,
                http.ws_connect(endpoint, max_msg_size=0) as ws,
            ):
                browser = Browser(ws)
                try:
                    await browser.open_tab()
                    yield browser
                finally:
                    await browser.close()
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 10)
                except TimeoutError:
                    process.kill()
                    await process.wait()


async def _devtools_url(stderr: asyncio.StreamReader) -> str:
    seen: list[str] = []
    while line := await stderr.readline():
        text = line.decode(errors="replace").strip()
        seen.append(text)
        match = re.search(r"DevTools listening on (ws://\S+)", text)
        if match:
            return match.group(1)
    raise RuntimeError("Chromium exited before it listened:\n" + "\n".join(seen[-20:]))


# --- the check ------------------------------------------------------------------------------


async def load(browser: Browser, url: str, page: str, problems: Problems) -> dict[str, Any]:
    """Navigate to ``url``, wait for its load event, and report what went wrong meanwhile."""
    while not browser.events.empty():
        browser.events.get_nowait()
    navigated = await browser.send("Page.navigate", {"url": url})
    if navigated.get("errorText"):
        problems.add(page, f"could not load: {navigated['errorText']}")
        return {"links": [], "ids": []}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PAGE_TIMEOUT_S
    loaded_at: float | None = None
    while True:
        now = loop.time()
        if loaded_at is not None and now >= loaded_at + SETTLE_S:
            break
        if now >= deadline:
            problems.add(page, f"no load event within {PAGE_TIMEOUT_S:.0f} s")
            break
        wait = (loaded_at + SETTLE_S if loaded_at is not None else deadline) - now
        try:
            event = await asyncio.wait_for(browser.events.get(), wait)
        except TimeoutError:
            continue
        method, params = event["method"], event.get("params", {})
        if method == "Page.loadEventFired":
            loaded_at = loop.time()
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            text = " ".join(
                str(arg.get("value", arg.get("description", ""))) for arg in params["args"]
            )
            problems.add(page, f"console error: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            problems.add(page, f"uncaught exception: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            problems.add(page, f"console error: {entry['text']} {entry.get('url', '')}".strip())
        elif method == "Network.responseReceived":
            response = params["response"]
            if response["status"] >= 400:
                problems.add(page, f"HTTP {response['status']} for {response['url']}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            problems.add(page, f"failed to load a resource: {params.get('errorText')}")
    found = await browser.send("Runtime.evaluate", {"expression": LINKS_JS, "returnByValue": True})
    value: dict[str, Any] = json.loads(found["result"]["value"])
    return value


def site_pages(site: Path) -> list[str]:
    """The URL path of every HTML page of the site (``/`` for ``index.html``)."""
    return sorted(
        "/" + path.relative_to(site).as_posix().removesuffix("index.html")
        for path in site.rglob("*.html")
    )


async def check(site: Path, pages: list[str], executable: str, prefix: str = "/") -> list[str]:
    """Every problem of the site at ``site`` published under ``prefix``, one line each (none:
    the site is fine)."""
    problems = Problems()
    statuses: dict[str, int] = {}
    if not pages:
        return [f"{site}: no HTML page (build the site first: mkdocs build --strict)"]
    ids: dict[str, set[str]] = {}
    links: list[tuple[str, str]] = []  # (page, internal link)
    async with serve(site, statuses, prefix) as base, chromium(executable) as browser:
        origin = urlsplit(base).netloc
        for page in pages:
            found = await load(browser, base + prefix.rstrip("/") + page, page, problems)
            if not found.get("title"):
                problems.add(page, "the page has no title (an empty or broken page)")
            ids[page] = set(found["ids"])
            for link in found["links"]:
                parts = urlsplit(link)
                if parts.scheme in ("http", "https") and parts.netloc == origin:
                    links.append((page, link))
        print(f"loaded {len(pages)} pages from {base}", file=sys.stderr)
    for page, link in sorted(set(links)):
        target, fragment = urldefrag(link)
        path = urlsplit(target).path or "/"
        if resolve(site, path, prefix) is None:
            problems.add(page, f"dead link: {path}")
            continue
        page_path = "/" + path[len(prefix) :]
        if fragment and page_path in ids and unquote(fragment) not in ids[page_path]:
            problems.add(page, f"dead link: {path}#{fragment} (no such anchor)")
    for path, status in sorted(statuses.items()):
        if status >= 400:
            problems.add(path, f"the server answered HTTP {status}")
    print(f"checked {len(set(links))} internal links", file=sys.stderr)
    return problems.lines


def main() -> int:
    """Command line: check the site, print every problem, exit 1 if there was one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default="build/site", type=Path)
    parser.add_argument(
        "--chromium",
        default=os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium",
        help="the Chromium executable (default: chromium on PATH)",
    )
    parser.add_argument(
        "--base-path",
        default=site_prefix(),
        help="the URL path the site is published under (default: site_url's in mkdocs.yml)",
    )
    parser.add_argument(
        "--no-browser", action="store_true", help="only read the built pages (no Chromium)"
    )
    args = parser.parse_args()
    prefix = "/" + args.base_path.strip("/") + "/" if args.base_path.strip("/") else "/"
    lines = content_problems(args.site)
    if not args.no_browser:
        lines += asyncio.run(check(args.site, site_pages(args.site), args.chromium, prefix))
    for line in lines:
        print(line)
    if lines:
        print(f"site check FAILED: {len(lines)} problem(s)")
        return 1
    print("site check passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
