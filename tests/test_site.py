"""The documentation site builds strictly and its pages pass tools/check_site.py's reading of
them (no browser: CI loads the pages in headless Chromium). Skipped without the ``docs`` extra."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

pytestmark = [
    pytest.mark.skipif(
        any(importlib.util.find_spec(n) is None for n in ("mkdocs", "material", "mkdocstrings")),
        reason="needs the docs extra: pip install 'tuyaio[docs]'",
    ),
    pytest.mark.slow,  # a whole site build: .ci/run builds and checks the site in its own step
]


def test_the_site_builds_strictly_and_reads_clean(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1", "PYTHONPATH": str(ROOT / "src")}
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    check = subprocess.run(
        [sys.executable, "tools/check_site.py", str(site), "--no-browser"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
