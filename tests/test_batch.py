"""The batch runner: bounded concurrency, one outcome per input, order, progress, stopping."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Any

import pytest

from tuyaio import OutcomeUnknownError, batch

from .virtual import run


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


def test_stop_on_error_starts_nothing_more_and_reports_every_started_call() -> None:
    async def main() -> None:
        probe = Probe(delay=0.01)
        before = asyncio.all_tasks()
        outcomes = await batch.run(probe, range(1, 100), concurrency=4, stop_on_error=True)
        assert [o.input for o in outcomes] == list(range(1, probe.calls + 1))
        # On virtual time the schedule is exact: 7 fails before 14 starts (on the wall clock a
        # loaded machine could start 14 first, and it would then be reported, failed, as well).
        assert [o.input for o in outcomes if not o.ok] == [7]
        assert asyncio.all_tasks() - before == set()
        assert probe.calls < 99

    run(main)


@pytest.mark.parametrize("ordered", [True, False])
async def test_stream_stop_on_error_yields_the_results_that_finished_after_the_failure(
    ordered: bool,
) -> None:
    release = asyncio.Event()
    started: list[int] = []

    async def first_fails_late(n: int) -> int:
        started.append(n)
        if n == 0:
            await asyncio.sleep(0)
            raise ValueError("bad 0")
        await release.wait()
        return n

    async def run_it() -> list[batch.Outcome[int, int]]:
        stream = batch.stream(
            first_fails_late, range(10), concurrency=4, ordered=ordered, stop_on_error=True
        )
        async with aclosing(stream):
            return [outcome async for outcome in stream]

    runner = asyncio.ensure_future(run_it())
    for _ in range(5):
        await asyncio.sleep(0)
    release.set()
    outcomes = await runner
    assert sorted(o.input for o in outcomes) == sorted(started)  # every started call, none dropped
    assert 4 <= len(started) <= 5  # the failure frees a slot before it is seen
    assert [o.input for o in outcomes if not o.ok] == [0]


async def test_leaving_early_lets_the_started_calls_finish_and_reports_them() -> None:
    started: list[int] = []
    reported: list[batch.Outcome[int, int]] = []

    async def slow_after_first(n: int) -> int:
        started.append(n)
        await asyncio.sleep(0 if n == 0 else 0.01)
        return n

    def progress(p: batch.Progress) -> None:
        assert p.outcome is not None
        reported.append(p.outcome)

    before = asyncio.all_tasks()
    async with (
        asyncio.timeout(5),
        aclosing(
            batch.stream(slow_after_first, range(100), concurrency=4, progress=progress)
        ) as outcomes,
    ):
        async for outcome in outcomes:
            assert outcome.result == 0
            break
    assert asyncio.all_tasks() - before == set()
    assert sorted(o.input for o in reported) == sorted(started)
    assert all(o.ok for o in reported)
    assert 4 <= len(started) <= 5  # the first finished at once and freed its slot


async def test_a_cancelled_batch_reports_the_started_calls_before_it_stops() -> None:
    release = asyncio.Event()
    reported: list[batch.Outcome[int, int]] = []

    async def held(n: int) -> int:
        await release.wait()
        return n

    runner = asyncio.ensure_future(
        batch.run(held, range(10), concurrency=2, progress=lambda p: reported.append(p.outcome))
    )
    await asyncio.sleep(0.01)
    runner.cancel()
    for _ in range(5):
        await asyncio.sleep(0)
    assert not runner.done()  # the two started calls are let finish
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert sorted((o.input, o.result) for o in reported) == [(0, 0), (1, 1)]


async def test_a_second_cancellation_reports_each_started_call_as_outcome_unknown() -> None:
    reported: list[batch.Outcome[int, int]] = []

    async def forever(n: int) -> int:
        await asyncio.sleep(30)
        return n

    runner = asyncio.ensure_future(
        batch.run(forever, range(10), concurrency=2, progress=lambda p: reported.append(p.outcome))
    )
    await asyncio.sleep(0.01)
    runner.cancel()
    await asyncio.sleep(0.01)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(runner, 5)
    assert [o.input for o in reported] == [0, 1]
    assert all(isinstance(o.error, OutcomeUnknownError) for o in reported)


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
