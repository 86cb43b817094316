"""The batch runner: bounded concurrency, one outcome per input, order, progress, stopping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from tuyaio import batch


class Probe:
    """An async function that records how many calls run at once; fails on multiples of 7."""

    def __init__(self, delay: float = 0.0) -> None:
        self.running = 0
        self.max_running = 0
        self.calls = 0
        self.delay = delay

    async def __call__(self, n: int) -> int:
        self.calls += 1
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            await asyncio.sleep(self.delay * ((n * 7919) % 5) / 4)
            if n % 7 == 0:
                raise ValueError(f"bad {n}")
            return n * n
        finally:
            self.running -= 1


async def test_outcomes_in_input_order_with_errors_kept_per_item() -> None:
    probe = Probe(delay=0.002)
    seen: list[batch.Progress] = []
    outcomes = await batch.run(probe, range(200), concurrency=8, progress=seen.append)
    assert [o.index for o in outcomes] == list(range(200))
    assert [o.input for o in outcomes] == list(range(200))
    assert all(o.result == o.input**2 for o in outcomes if o.ok)
    failures = [o for o in outcomes if not o.ok]
    assert [o.input for o in failures] == list(range(0, 200, 7))
    assert all(isinstance(o.error, ValueError) for o in failures)
    assert probe.max_running <= 8
    assert probe.calls == 200
    assert seen[-1] == batch.Progress(done=200, failed=len(failures), total=200)
    with pytest.raises(ValueError, match="bad 0"):
        outcomes[0].unwrap()
    assert outcomes[1].unwrap() == 1


async def test_completion_order_streams_from_an_async_iterable_lazily() -> None:
    produced = 0

    async def numbers() -> AsyncIterator[int]:
        nonlocal produced
        for n in range(1, 10_000):
            produced += 1
            yield n

    probe = Probe()
    got = []
    async for outcome in batch.stream(probe, numbers(), concurrency=4, ordered=False):
        got.append(outcome.input)
        if len(got) == 20:
            break
    assert len(got) == 20
    assert produced <= 20 + 4
    assert probe.max_running <= 4


async def test_a_million_inputs_do_not_make_a_million_tasks() -> None:
    probe = Probe()
    tasks_seen = 0
    async for outcome in batch.stream(probe, range(1_000_000), concurrency=16):
        tasks_seen = max(tasks_seen, len(asyncio.all_tasks()))
        if outcome.index == 2_000:
            break
    assert tasks_seen <= 2 * 16 + 2


async def test_stop_on_error_cancels_the_rest() -> None:
    probe = Probe(delay=0.01)
    before = asyncio.all_tasks()
    outcomes = await batch.run(probe, range(1, 100), concurrency=4, stop_on_error=True)
    assert not outcomes[-1].ok
    assert outcomes[-1].input == 7
    assert all(o.ok for o in outcomes[:-1])
    assert asyncio.all_tasks() - before == set()
    assert probe.calls < 99


async def test_leaving_early_cancels_calls_in_flight() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    async def slow_after_first(n: int) -> int:
        started.append(n)
        try:
            await asyncio.sleep(0 if n == 0 else 30)
        except asyncio.CancelledError:
            cancelled.append(n)
            raise
        return n

    before = asyncio.all_tasks()
    async with (
        asyncio.timeout(5),
        aclosing(batch.stream(slow_after_first, range(100), concurrency=4)) as outcomes,
    ):
        async for outcome in outcomes:
            assert outcome.result == 0
            break
    assert asyncio.all_tasks() - before == set()
    assert sorted(cancelled) == sorted(n for n in started if n != 0)
    assert 1 <= len(cancelled) <= 4


async def test_cancelling_the_batch_is_not_an_outcome() -> None:
    async def forever(n: int) -> int:
        await asyncio.sleep(30)
        return n

    runner = asyncio.ensure_future(batch.run(forever, range(10), concurrency=2))
    await asyncio.sleep(0.01)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(runner, 5)


def test_concurrency_must_be_positive() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        asyncio.run(batch.run(Probe(), [1], concurrency=0))


async def _echo(n: object) -> object:
    return n


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "match"),
    [
        ((_echo, "abc"), {}, TypeError, "inputs"),
        ((_echo, b"abc"), {}, TypeError, "inputs"),
        ((_echo, {"a": 1}), {}, TypeError, "inputs"),
        ((_echo, 5), {}, TypeError, "inputs"),
        ((_echo, [1]), {"concurrency": True}, TypeError, "concurrency"),
        ((_echo, [1]), {"concurrency": 2.0}, TypeError, "concurrency"),
        ((_echo, [1]), {"concurrency": -1}, ValueError, "concurrency"),
    ],
)
def test_bad_arguments_are_refused_when_called(
    args: tuple[Any, ...], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        batch.stream(*args, **kwargs)  # no iteration, no event loop: refused at the call
    with pytest.raises(error, match=match):
        batch.run(*args, **kwargs)  # refused before anything is awaited


async def test_stream_is_still_an_async_generator() -> None:
    outcomes = batch.stream(_echo, [1, 2])
    assert inspect.isasyncgen(outcomes)
    async with aclosing(outcomes):
        assert [outcome.result async for outcome in outcomes] == [1, 2]
    assert [outcome.result for outcome in await batch.run(_echo, iter([3]))] == [3]
