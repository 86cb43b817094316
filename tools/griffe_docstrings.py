"""A Griffe extension (configured in mkdocs.yml): the docstrings, written for ``help()`` and Sphinx
readers, become Markdown the documentation site renders and links.

- a Sphinx role (``:class:`Outcome```, ``:meth:`~tuyaio.TuyaClient.from_env```) becomes an autorefs
  link to the object's reference entry, its target resolved from the docstring's scope;
- a literal block introduced by ``::`` becomes a fenced ``python`` block;
- a doctest (``>>>`` lines and their output) becomes a fenced ``pycon`` block instead of nested
  block quotes;
- ``**fields: Unpack[RecordFields]`` in a signature becomes the TypedDict's keyword parameters
  (``= ...`` for the optional ones), so the page shows what the call takes.

The docstrings themselves stay as they are: ``help()`` shows them unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(
    r":(?:py:)?(?:class|func|meth|data|attr|exc|mod|obj|const):`(?P<tilde>~?)(?P<target>[\w.]+)"
    r"(?P<call>\(\))?`"
)
_FENCE = re.compile(r"^\s*(```|~~~)")


def resolve(obj: griffe.Object | griffe.Alias, target: str) -> str | None:
    """The full path ``target`` names in the scope of ``obj`` (``None`` if it names nothing)."""
    head, _, rest = target.partition(".")
    scopes: list[Any] = [obj]
    while scopes[-1].parent is not None:
        scopes.append(scopes[-1].parent)
    for scope in scopes:
        try:
            found = scope.resolve(head)
        except (griffe.NameResolutionError, AttributeError, KeyError):
            continue
        return f"{found}.{rest}" if rest else str(found)
    if target.startswith("tuyaio."):
        return target
    return None


def _roles(obj: griffe.Object | griffe.Alias, text: str) -> str:
    def link(match: re.Match[str]) -> str:
        target = match["target"]
        title = target.rsplit(".", 1)[-1] if match["tilde"] else target
        title += match["call"] or ""
        path = resolve(obj, target)
        return f"[`{title}`][{path}]" if path else f"`{title}`"

    return _ROLE.sub(link, text)


def _blocks(text: str) -> str:
    """``::`` literal blocks and doctests as fenced blocks."""
    lines = text.split("\n")
    out: list[str] = []
    fenced = False
    n = 0
    while n < len(lines):
        line = lines[n]
        if _FENCE.match(line):
            fenced = not fenced
        if not fenced and line.rstrip().endswith("::") and n + 1 < len(lines):
            body_start = n + 1
            while body_start < len(lines) and not lines[body_start].strip():
                body_start += 1
            indent = (
                len(lines[body_start]) - len(lines[body_start].lstrip())
                if body_start < len(lines)
                else 0
            )
            if indent > len(line) - len(line.lstrip()):
                stripped = line.rstrip()[:-2].rstrip()
                out.append(stripped + (":" if stripped and not stripped.endswith(":") else ""))
                end = body_start
                body: list[str] = []
                while end < len(lines) and (
                    not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) >= indent
                ):
                    body.append(lines[end][indent:])
                    end += 1
                while body and not body[-1].strip():
                    body.pop()
                language = "pycon" if body and body[0].startswith(">>>") else "python"
                out += ["", f"```{language}", *body, "```", ""]
                n = end
                continue
        if not fenced and line.lstrip().startswith(">>>"):
            indent = len(line) - len(line.lstrip())
            body = []
            while n < len(lines) and lines[n].strip():
                body.append(lines[n][indent:])
                n += 1
            out += ["```pycon", *body, "```"]
            continue
        out.append(line)
        n += 1
    return "\n".join(out)


def markdown(obj: griffe.Object | griffe.Alias, text: str) -> str:
    """A docstring's text as the site's Markdown."""
    return _blocks(_roles(obj, text))


def _unpacked(function: griffe.Function, pkg: griffe.Module) -> None:
    """Replace ``**kwargs: Unpack[TD]`` by the keyword parameters of the TypedDict ``TD``."""
    params = list(function.parameters)
    last = params[-1] if params else None
    annotation = getattr(last, "annotation", None)
    if last is None or last.kind is not griffe.ParameterKind.var_keyword:
        return
    if not isinstance(annotation, griffe.ExprSubscript) or str(annotation.left) != "Unpack":
        return
    path = resolve(function, str(annotation.slice))
    if path is None or not path.startswith(pkg.path + "."):
        return
    typed = pkg[path.removeprefix(pkg.path + ".")]
    optional_all = typed.keywords.get("total") == "False" if hasattr(typed, "keywords") else False
    keywords = []
    for name, member in typed.members.items():
        if not member.is_attribute or name.startswith("_"):
            continue
        hint = member.annotation
        optional = optional_all
        if isinstance(hint, griffe.ExprSubscript) and str(hint.left) == "NotRequired":
            hint, optional = hint.slice, True
        keywords.append(
            griffe.Parameter(
                name,
                annotation=hint,
                kind=griffe.ParameterKind.keyword_only,
                default="..." if optional else None,
            )
        )
    function.parameters = griffe.Parameters(*params[:-1], *keywords)


class SiteDocstrings(griffe.Extension):
    """Rewrites every docstring of a loaded package once, before mkdocstrings renders it."""

    def on_package(self, *, pkg: griffe.Module, **_kwargs: Any) -> None:
        """Rewrite the docstrings of ``pkg`` and of everything in it."""
        seen: set[int] = set()
        stack: list[Any] = [pkg]
        while stack:
            obj = stack.pop()
            if id(obj) in seen or obj.is_alias:
                continue
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = markdown(obj, obj.docstring.value)
            if obj.is_function:
                _unpacked(obj, pkg)
            stack.extend(member for member in obj.members.values() if not member.is_alias)
