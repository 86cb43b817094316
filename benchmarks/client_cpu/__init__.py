"""Client CPU: what tuyaio costs its user per call and per streamed room, next to raw aiohttp.

The page server (:mod:`.page_server`) runs on one core and answers from bytes built once, so it
is never the bottleneck; every client worker (:mod:`.worker`) runs on the other core and measures
its own CPU around the measured loop only. Run ``python -m benchmarks.client_cpu --quick``.
"""
