"""Run an async function over many inputs with bounded concurrency, one outcome per input.

A failing input gives a failed :class:`Outcome`. Inputs are pulled lazily: at most ``concurrency``
calls run, and at most ``2 × concurrency`` outcomes wait in order (docs/batches.md). Every call
that started gets an outcome, however the batch ends: a call is never abandoned half-way.
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
from .errors import OutcomeUnknownError
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
    """Counts so far; ``total`` is known when the inputs have a length; ``outcome`` is the one
    just counted (also those that finish after the batch was stopped, left or cancelled)."""

    done: int
    failed: int
    total: int | None
    outcome: Outcome[Any, Any] | None = attrs.field(default=None, eq=False, repr=False)


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

    ``stop_on_error`` starts no more calls after the first failure; the calls already started
    finish (each within its own deadline) and their outcomes are yielded, then the batch ends.
    When the batch ends any other way (the loop is left, or the task is cancelled), the calls not
    started are dropped and the started ones finish too; those outcomes can no longer be yielded
    and go to ``progress`` only. A second cancellation during that wait cancels them: each is then
    reported as an :class:`~tuyaio.errors.OutcomeUnknownError`. ``progress`` is called after every
    outcome. The arguments are checked at once: ``inputs`` must not be a str, bytes or mapping.
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


class _Calls(Generic[I, R]):
    """The calls of one batch: at most ``concurrency`` running, which have started, and the
    outcome of each as it is taken."""

    def __init__(
        self,
        fn: Callable[[I], Awaitable[R]],
        concurrency: int,
        total: int | None,
        progress: Callable[[Progress], object] | None,
    ) -> None:
        self._fn = fn
        self._slots = asyncio.Semaphore(concurrency)
        self._total = total
        self._progress = progress
        self.pending: dict[asyncio.Task[R], tuple[int, I]] = {}
        self._started: set[int] = set()
        self._done = self._failed = 0

    def start(self, index: int, item: I) -> None:
        """Queue the call for ``item`` (it starts once a slot is free)."""
        self.pending[asyncio.ensure_future(self._call(index, item))] = (index, item)

    async def _call(self, index: int, item: I) -> R:
        async with self._slots:
            self._started.add(index)
            return await self._fn(item)

    def drop_unstarted(self) -> None:
        """Cancel the calls still waiting for a slot: they never run and get no outcome."""
        for task, (index, _) in self.pending.items():
            if index not in self._started:
                task.cancel()

    def take(self, task: asyncio.Task[R]) -> Outcome[I, R] | None:
        """The outcome of a finished call (counted and reported), ``None`` for one never started."""
        index, item = self.pending.pop(task)
        if index not in self._started:
            return None
        self._started.discard(index)
        error: BaseException | None
        if task.cancelled():
            error = OutcomeUnknownError(reason="the call was cancelled while it ran")
        else:
            error = task.exception()
        if error is not None and not isinstance(error, Exception):
            raise error
        self._done += 1
        self._failed += error is not None
        outcome = Outcome(index, item, None if error else task.result(), error)
        if self._progress is not None:
            self._progress(Progress(self._done, self._failed, self._total, outcome))
        return outcome

    async def finish(self) -> None:
        """Let the started calls finish and report them; cancelled again, cancel them."""
        self.drop_unstarted()
        try:
            if self.pending:
                await asyncio.wait(self.pending)
        except asyncio.CancelledError:
            await cancel_all(self.pending)
            raise
        finally:
            for task in sorted(self.pending, key=lambda task: self.pending[task][0]):
                self.take(task)


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
    calls = _Calls(fn, concurrency, total, progress)
    async with aclosing(_inputs(inputs)) as source:
        exhausted, stopped, index = False, False, 0
        try:
            while True:
                while not exhausted and not stopped and len(calls.pending) < window:
                    try:
                        item = await anext(source)
                    except StopAsyncIteration:
                        exhausted = True
                        break
                    calls.start(index, item)
                    index += 1
                if not calls.pending:
                    return
                for task in await _next_finished(calls.pending, ordered):
                    outcome = calls.take(task)
                    if outcome is None:
                        continue
                    yield outcome
                    if stop_on_error and not outcome.ok and not stopped:
                        stopped = True
                        calls.drop_unstarted()
        finally:
            await calls.finish()


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
