"""The test suite on every Python version the package claims: ``nox`` (or ``nox -s tests-3.12``).

The claimed versions are read from pyproject.toml's classifiers, so a version cannot be claimed
without a session that tests it; ``requires-python`` must start at the lowest of them. Each
session uses an interpreter found on this machine (``NOX_PYTHON_3_12=/path/to/python3.12``, then
pyenv's versions, then ``python3.12`` on PATH) and fails, loudly, when a claimed one is missing:
a claimed version that nobody tests is a bug, not a skip.

The sessions run ``pytest -m "not slow"``: the fleet and redis-figure tests marked ``slow`` run
once, on the default interpreter, in ``.ci/run``. Extra arguments go to pytest:
``nox -s tests-3.13 -- -k batch``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
CLASSIFIER = re.compile(r"Programming Language :: Python :: (3\.\d+)$")
PYTHONS = [
    match.group(1)
    for classifier in PYPROJECT["project"]["classifiers"]
    if (match := CLASSIFIER.match(classifier))
]

NOT_SLOW = ["-m", "not slow"]  # as the default run: measurements stay in `pytest -m slow`

nox.options.error_on_missing_interpreters = True
nox.options.default_venv_backend = "venv"
nox.options.envdir = str(ROOT / "build" / "nox")  # build/ is git-ignored
nox.options.sessions = [f"tests-{version}" for version in PYTHONS]


def _claims_are_consistent() -> None:
    if not PYTHONS:
        raise SystemExit(
            "noxfile: pyproject.toml claims no 'Programming Language :: Python :: 3.X'"
        )
    requires = PYPROJECT["project"]["requires-python"]
    lowest = min(PYTHONS, key=lambda v: tuple(map(int, v.split("."))))
    if requires != f">={lowest}":
        raise SystemExit(
            f"noxfile: requires-python is {requires!r} but the lowest tested Python is {lowest}: "
            f"make it '>={lowest}' or test what it claims"
        )


def _version_of(executable: str) -> str | None:
    try:
        done = subprocess.run(
            [executable, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except OSError:
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def find_python(version: str) -> tuple[str | None, list[str]]:
    """The path of a working ``python{version}`` on this machine, and every place looked at."""
    candidates: list[str] = []
    override = os.environ.get(f"NOX_PYTHON_{version.replace('.', '_')}")
    if override:
        candidates.append(override)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += sorted(
        (str(p) for p in (pyenv_root / "versions").glob(f"{version}.*/bin/python{version}")),
        key=lambda p: [int(n) for n in re.findall(r"\d+", Path(p).parents[1].name)],
        reverse=True,
    )
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    for candidate in candidates:
        if _version_of(candidate) == version:
            return candidate, candidates
    return None, candidates


def _tests(version: str, interpreter: str | None, looked_at: list[str]) -> None:
    def tests(session: nox.Session) -> None:
        if interpreter is None:
            session.error(
                f"Python {version} is claimed in pyproject.toml (classifiers) but no working "
                f"interpreter was found (looked at: {', '.join(looked_at) or 'nothing'}). "
                f"Install it, or set NOX_PYTHON_{version.replace('.', '_')}"
                f"=/path/to/python{version}"
            )
        session.run(
            "python",
            "-c",
            f"import sys; assert sys.version_info[:2] == {tuple(map(int, version.split('.')))}, "
            "sys.version",
        )
        session.install(".[dev]")
        session.run("python", "-m", "pytest", *NOT_SLOW, "-p", "no:cacheprovider", *session.posargs)

    tests.__doc__ = f"The test suite (not slow) on Python {version}."
    nox.session(
        name=f"tests-{version}",
        python=interpreter,
        venv_backend=None if interpreter is not None else "none",
    )(tests)


_claims_are_consistent()
for _version in PYTHONS:
    _tests(_version, *find_python(_version))
