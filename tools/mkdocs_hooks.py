"""MkDocs hooks for the documentation site (configured in mkdocs.yml).

The docstrings are written for ``help()`` and Sphinx-style readers: ``:class:`Outcome```
renders in Markdown as a stray ``:class:`` before the code. This hook drops the role, keeping
the code span.
"""

from __future__ import annotations

import re
from typing import Any

_ROLE = re.compile(r":(?:class|func|meth|data|attr|exc|mod|obj|const):(<code>)")


def on_page_content(html: str, **_kwargs: Any) -> str:
    """Drop Sphinx roles left in front of code spans by the docstrings."""
    return _ROLE.sub(r"\1", html)
