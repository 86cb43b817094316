"""Build the sdist and the wheel, check them, and try the wheel in a fresh virtual environment.

    python tools/check_release.py [--keep DIR]

1. ``python -m build`` makes the sdist and the wheel (hatchling, in an isolated environment);
2. ``twine check --strict`` checks their metadata and that the README renders on PyPI;
3. the wheel must hold ``py.typed`` and the licence, and no tests; both must carry the version of
   ``src/tuyaio/__init__.py`` (the one source of truth);
4. the wheel, with its ``cli`` extra, goes into a fresh venv, and from a directory outside the
   source tree ``tuyaio demo`` runs and an import smoke test checks the installed package.

Needs ``build`` and ``twine`` (``pip install build twine``). Exit status 0 when all is well.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import textwrap
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SMOKE = textwrap.dedent(
    """
    import asyncio
    import importlib.metadata as metadata
    import sys
    from pathlib import Path

    import tuyaio
    import tuyaio.batch
    import tuyaio.cli
    import tuyaio.sandbox

    expected = sys.argv[1]
    assert tuyaio.__version__ == expected, (tuyaio.__version__, expected)
    assert metadata.version("tuyaio") == expected, metadata.version("tuyaio")
    package = Path(tuyaio.__file__).parent
    assert "site-packages" in package.parts, f"imported from the source tree: {package}"
    assert (package / "py.typed").is_file(), "py.typed is missing"
    plugins = {ep.name: ep.value for ep in metadata.entry_points(group="pytest11")}
    assert plugins.get("tuyaio") == "tuyaio.sandbox.pytest_plugin", plugins
    scripts = {ep.name: ep.value for ep in metadata.entry_points(group="console_scripts")}
    assert scripts.get("tuyaio") == "tuyaio.cli:main", scripts


    async def main() -> None:
        async with tuyaio.sandbox.Sandbox() as sandbox:
            async with tuyaio.TuyaClient(
                sandbox.client_id, sandbox.secret, base_url=sandbox.base_url
            ) as client:
                page = await client.maintenance.list_tasks(sandbox.project_id)
        assert page.total > 0


    asyncio.run(main())
    print(f"import smoke test passed: tuyaio {tuyaio.__version__} from {package}")
    """
)


def run(*command: str | Path, cwd: Path = ROOT) -> None:
    print("+", " ".join(map(str, command)), flush=True)
    subprocess.run([str(part) for part in command], cwd=cwd, check=True)


def source_version() -> str:
    text = (ROOT / "src" / "tuyaio" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__ = "([^"]+)"$', text, flags=re.M)
    if not match:
        raise SystemExit('no __version__ = "…" line in src/tuyaio/__init__.py')
    return match.group(1)


def check_wheel(wheel: Path, version: str) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    problems = []
    if "tuyaio/py.typed" not in names:
        problems.append("no tuyaio/py.typed")
    if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
        problems.append("no LICENSE in the dist-info")
    if any(n.startswith(("tests/", "benchmarks/", "docs/")) for n in names):
        problems.append("tests, benchmarks or docs are packaged")
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    if f"\nVersion: {version}\n" not in text:
        problems.append(f"METADATA does not say Version: {version}")
    if problems:
        raise SystemExit(f"{wheel.name}: " + "; ".join(problems))
    print(f"{wheel.name}: {len(names)} files, version {version}, py.typed and LICENSE present")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--keep", type=Path, help="build into DIR and keep it (default: a temp dir)"
    )
    args = parser.parse_args()
    version = source_version()
    with tempfile.TemporaryDirectory(prefix="tuyaio-release-") as temp:
        out = args.keep or Path(temp) / "dist"
        run(sys.executable, "-m", "build", "--outdir", out, ROOT)
        sdists = sorted(out.glob(f"tuyaio-{version}.tar.gz"))
        wheels = sorted(out.glob(f"tuyaio-{version}-py3-none-any.whl"))
        if len(sdists) != 1 or len(wheels) != 1:
            found = sorted(p.name for p in out.iterdir())
            raise SystemExit(f"expected one sdist and one wheel of {version}, found {found}")
        run(sys.executable, "-m", "twine", "check", "--strict", sdists[0], wheels[0])
        check_wheel(wheels[0], version)

        venv = Path(temp) / "venv"
        run(sys.executable, "-m", "venv", venv)
        python = venv / "bin" / "python"
        run(python, "-m", "pip", "install", "-q", f"{wheels[0]}[cli]")
        elsewhere = Path(temp) / "elsewhere"
        elsewhere.mkdir()
        run(venv / "bin" / "tuyaio", "demo", cwd=elsewhere)
        (elsewhere / "smoke.py").write_text(SMOKE, encoding="utf-8")
        run(python, "-I", "smoke.py", version, cwd=elsewhere)
    print(f"release check passed: tuyaio {version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
