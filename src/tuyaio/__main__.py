"""``python -m tuyaio``: the command line (needs the ``cli`` extra)."""

from tuyaio.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
