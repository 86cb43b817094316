"""A tiny TCP proxy on 127.0.0.1 that holds back every answer of the server by ``delay`` seconds.

It makes a real Redis slow without stopping it: each chunk the server sends reaches the client
``delay`` seconds later (in order), while what the client sends goes through at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType


class DelayProxy:
    """``async with DelayProxy(port, delay) as proxy``: ``proxy.url`` reaches the server slowly."""

    def __init__(self, target_port: int, delay: float) -> None:
        self._target_port = target_port
        self._delay = delay
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    @property
    def url(self) -> str:
        """A redis:// URL of database 0 through the proxy."""
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> DelayProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
            try:
                await asyncio.gather(
                    self._pipe(reader, up_writer, 0.0), self._pipe(up_reader, writer, self._delay)
                )
            finally:
                up_writer.close()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            self._tasks.discard(task)

    @staticmethod
    async def _pipe(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float
    ) -> None:
        """Copy until end of stream; each chunk waits ``delay`` s after it arrived."""
        loop = asyncio.get_running_loop()
        chunks: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def send() -> None:
            while True:  # ends with an empty chunk (end of stream) or the proxy's cancellation
                due, chunk = await chunks.get()
                await asyncio.sleep(max(0.0, due - loop.time()))
                if not chunk:
                    writer.write_eof()
                    return
                writer.write(chunk)
                await writer.drain()

        sender = asyncio.create_task(send())
        try:
            while True:  # ends at end of stream
                chunk = await reader.read(65536)
                chunks.put_nowait((loop.time() + delay, chunk))
                if not chunk:
                    break
            await sender
        finally:
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await sender
