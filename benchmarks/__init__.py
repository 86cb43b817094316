"""tuyaio's benchmark suite: tuyaio, a raw aiohttp baseline and tuya-connector-python, side by side.

Run ``python -m benchmarks.run --quick`` (or ``python benchmarks/run.py``) from the repository
root. Each scenario lives in :mod:`benchmarks.scenarios`; the contenders in :mod:`benchmarks.raw`
(the baseline) and :mod:`benchmarks.peer` (tuya-connector-python).
"""
