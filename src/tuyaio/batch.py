"""Run an async function over many inputs with bounded concurrency, one outcome per input.

A failing input gives a failed :class:`Outcome`. Inputs are pulled lazily: at most ``concurrency``
calls run, and at most ``2 × concurrency`` outcomes wait in order (docs/batches.md).
"""

from __future__ import annotations

import asyncio
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sized,
)
from contextlib import aclosing
from typing import Any, Generic, TypeVar

import attrs

from ._aio import cancel_all
from .validation import check_count

__all__ = ["Outcome", "Progress", "run", "stream"]

I = TypeVar("I")  # noqa: E741
R = TypeVar("R")


@attrs.frozen
class Outcome(Generic[I, R]):
    """What happened to one input: its position, the input, and a result or an error."""

    index: int
    input: I
    result: R | None = None
    error: Exception | None = None

    @property
    def ok(self) -> bool:
        """True when the call returned."""
        return self.error is None

    def unwrap(self) -> R:
        """The result, or raise the error."""
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]


@attrs.frozen
class Progress:
    """Counts so far; ``total`` is known when the inputs have a length."""

    done: int
    failed: int
    total: int | None


async def _inputs(inputs: Iterable[I] | AsyncIterable[I]) -> AsyncGenerator[I, None]:
    if isinstance(inputs, AsyncIterable):
        async for item in inputs:
            yield item
    else:
        for item in inputs:
            yield item


def stream(
    fn: Callable[[I], Awaitable[R]],
    inputs: Iterable[I] | AsyncIterable[I],
    *,
    concurrency: int = 16,
    ordered: bool = True,
    stop_on_error: bool = False,
    progress: Callable[[Progress], object] | None = None,
) -> AsyncGenerator[Outcome[I, R], None]:
    """Yield an :class:`Outcome` per input, in input order or (``ordered=False``) as they finish.

    ``stop_on_error`` ends the batch at the first failure, cancelling calls in flight (as leaving
    the loop does once the generator is dropped). ``progress`` is called after every outcome.
    The arguments are checked at once: ``inputs`` must not be a str, bytes or mapping.
    """
    if isinstance(inputs, (str, bytes, bytearray, Mapping)) or not isinstance(
        inputs, (Iterable, AsyncIterable)
    ):
        raise TypeError(
            f"inputs must be an iterable of inputs, not a {type(inputs).__name__} "
            "(wrap a single input in a list)"
        )
    check_count("concurrency", concurrency, minimum=1)
    return _stream(fn, inputs, concurrency, ordered, stop_on_error, progress)


async def _stream(
    fn: Callable[[I], Awaitable[R]],
    inputs: Iterable[I] | AsyncIterable[I],
    concurrency: int,
    ordered: bool,
    stop_on_error: bool,
    progress: Callable[[Progress], object] | None,
) -> AsyncGenerator[Outcome[I, R], None]:
    total = len(inputs) if isinstance(inputs, Sized) else None
    window = 2 * concurrency if ordered else concurrency
    slots = asyncio.Semaphore(concurrency)
    pending: dict[asyncio.Task[R], tuple[int, I]] = {}
    done = failed = 0

    async def call(item: I) -> R:
        async with slots:
            return await fn(item)

    async with aclosing(_inputs(inputs)) as source:
        exhausted, index = False, 0
        try:
            while True:
                while not exhausted and len(pending) < window:
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    pending[asyncio.ensure_future(call(item))] = (index, item)
                    index += 1
                if not pending:
                    return
                for task in await _next_finished(pending, ordered):
                    position, item = pending.pop(task)
                    error = task.exception()
                    if error is not None and not isinstance(error, Exception):
                        raise error
                    done += 1
                    if error is not None:
                        failed += 1
                    if progress is not None:
                        progress(Progress(done, failed, total))
                    yield Outcome(position, item, None if error else task.result(), error)
                    if stop_on_error and error is not None:
                        return
        finally:
            await cancel_all(pending)


async def _next_finished(
    pending: dict[asyncio.Task[R], tuple[int, I]], ordered: bool
) -> list[asyncio.Task[R]]:
    if ordered:
        head = next(iter(pending))
        if not head.done():
            await asyncio.wait([head])
        return [head]
    finished, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
    return sorted(finished, key=lambda task: pending[task][0])


def run(
    fn: Callable[[I], Awaitable[R]],
    inputs: Iterable[I] | AsyncIterable[I],
    *,
    concurrency: int = 16,
    stop_on_error: bool = False,
    progress: Callable[[Progress], object] | None = None,
) -> Coroutine[Any, Any, list[Outcome[I, R]]]:
    """Run ``fn`` over every input; await the outcomes in input order (arguments checked now)."""
    return _collect(
        stream(fn, inputs, concurrency=concurrency, stop_on_error=stop_on_error, progress=progress)
    )


async def _collect(outcomes: AsyncGenerator[Outcome[I, R], None]) -> list[Outcome[I, R]]:
    async with aclosing(outcomes):
        return [outcome async for outcome in outcomes]
