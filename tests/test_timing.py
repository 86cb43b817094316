"""The core's timing promises on virtual time (tests/virtual.py): deadlines through every queue,
close() while calls wait, reconciliation within the time left, the server clock after a step.

Each case runs a real client against a scripted server; the figures are exact, not measured.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
from typing import Any

import pytest

import tuyaio
from tuyaio import (
    ClientClosedError,
    DecodeError,
    OutcomeUnknownError,
    RequestTimeoutError,
    RetryPolicy,
    ServerError,
)
from tuyaio.clock import loop_time
from tuyaio.exchange import Answer

from .virtual import EPOCH_S, FakeServer, Request, Wall, client_for, envelope, now, run

PROJECT = "p1"
TASK = {
    "task_id": "t1",
    "worker_username": "w",
    "worker_nickname": "W",
    "construction_status": "PENDING_ACCEPTANCE",
    "gmt_create": 1_765_000_000_000,
    "room_device_relations": [],
}
MARGIN_S = 0.5
"""How far past its deadline a call may end: the issue's bound."""


def answering(after_s: float, answer: Any = TASK) -> FakeServer:
    async def handle(request: Request) -> Answer:
        await asyncio.sleep(after_s)
        return envelope(answer)

    return FakeServer(handle)


async def _timed(call: Any) -> tuple[float, Any]:
    started = now()
    try:
        result: Any = await call
    except tuyaio.TuyaError as error:
        result = error
    return now() - started, result


def test_the_deadline_holds_in_the_queue_for_a_connection() -> None:
    async def main() -> None:
        server = answering(0.9)
        client = client_for(server, connections=1, retry=RetryPolicy(deadline=3))
        await client.authenticate()
        calls = [_timed(client.maintenance.get_task(PROJECT, "t1")) for _ in range(12)]
        outcomes = await asyncio.gather(*calls)
        assert max(took for took, _ in outcomes) <= 3 + MARGIN_S
        done = [r for _, r in outcomes if not isinstance(r, tuyaio.TuyaError)]
        late = [r for _, r in outcomes if isinstance(r, RequestTimeoutError)]
        assert len(done) == 3
        assert len(late) == 9
        # The fourth was sent with the 0.3 s left and timed out; eight never left the queue.
        assert len(server.of("/tasks/")) == 4
        assert sorted(e.attempts for e in late) == [0] * 8 + [1]

    run(main)


def test_the_deadline_holds_behind_the_rate_limiter() -> None:
    async def main() -> None:
        client = client_for(answering(0.01), rate_limit=1, retry=RetryPolicy(deadline=3))
        outcomes = await asyncio.gather(
            *(_timed(client.maintenance.get_task(PROJECT, "t1")) for _ in range(12))
        )
        assert max(took for took, _ in outcomes) <= 3 + MARGIN_S
        assert sum(isinstance(r, RequestTimeoutError) for _, r in outcomes) >= 8

    run(main)


def test_a_slow_token_grant_is_bounded_by_a_views_deadline_and_goes_on_for_others() -> None:
    async def main() -> None:
        server = answering(0.01)
        server.grant_delay_s = 20
        client = client_for(server, retry=RetryPolicy(deadline=60))
        view = client.with_options(retry=RetryPolicy(deadline=3))
        took, result = await _timed(view.maintenance.get_task(PROJECT, "t1"))
        assert isinstance(result, RequestTimeoutError)
        assert took <= 3 + MARGIN_S
        took, result = await _timed(client.maintenance.get_task(PROJECT, "t1"))
        assert result.task_id == "t1"
        assert server.grants == 1  # the grant went on: the second call waited for the same one
        assert took <= 20

    run(main)


def test_close_fails_waiting_creates_as_never_sent_and_sent_ones_as_unknown() -> None:
    async def main() -> None:
        server = answering(5.0, "new-task")
        client = client_for(server, rate_limit=2)
        await client.authenticate()
        creates = [
            asyncio.ensure_future(
                client.maintenance.create_task(PROJECT, worker_id="w", rooms={"r": ["d"]})
            )
            for _ in range(6)
        ]
        await asyncio.sleep(0.9)
        await client.close()
        outcomes = await asyncio.gather(*creates, return_exceptions=True)
        received = len(server.of("/task"))
        unsent = [o for o in outcomes if isinstance(o, ClientClosedError) and not o.in_flight]
        unknown = [o for o in outcomes if isinstance(o, OutcomeUnknownError)]
        assert received == 3  # a burst of 2, then one more after half a second
        assert len(unknown) == received
        assert len(unsent) == 6 - received
        assert now() < 0.9 + MARGIN_S

    run(main)


def test_accept_under_a_503_storm_ends_within_its_deadline_without_reconciling() -> None:
    async def main() -> None:
        async def storm(request: Request) -> Answer:
            await asyncio.sleep(0.05)
            return Answer(503, {}, b"<html>busy</html>")

        server = FakeServer(storm)
        client = client_for(server, retry=RetryPolicy(deadline=6, max_retries=50))
        took, result = await _timed(client.maintenance.accept_task(PROJECT, "t1"))
        assert isinstance(result, ServerError)
        assert took <= 6 + MARGIN_S
        assert server.of("/tasks/t1") == server.of("/acceptance")  # no reconcile reads
        assert client.stats.reconciled == 0

    run(main)


def test_a_refused_repeat_after_a_lost_answer_is_reconciled_within_the_time_left() -> None:
    async def main() -> None:
        state = {"accepted": False}

        async def handle(request: Request) -> Answer:
            if request.path.endswith("/acceptance"):
                if not state["accepted"]:
                    state["accepted"] = True
                    await asyncio.sleep(10)  # done, but the answer is lost to the timeout
                return envelope(success=False, code=1109, msg="task status not allowed")
            return envelope({**TASK, "construction_status": "ACCEPTANCE_COMPLETE"})

        server = FakeServer(handle)
        client = client_for(server, timeout=1, retry=RetryPolicy(deadline=5, base_delay=0.1))
        assert await client.maintenance.accept_task(PROJECT, "t1") is True
        assert client.stats.reconciled == 1
        assert len(server.of("/acceptance")) == 2
        assert len(server.of("/tasks/t1")) == 3

    run(main)


def test_a_create_whose_success_cannot_be_read_is_outcome_unknown_with_the_calls_metadata() -> None:
    async def main() -> None:
        client = client_for(answering(0.01, None))
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.maintenance.create_task(PROJECT, worker_id="w", rooms={"r": ["d"]})
        assert isinstance(caught.value.__cause__, DecodeError)
        assert caught.value.attempts == 1
        assert caught.value.first_sent_ms is not None
        with pytest.raises(DecodeError) as read:
            await client.with_options().maintenance.get_task(PROJECT, "t1")  # a read: plain
        assert read.value.attempts == 1
        assert read.value.path_args == {"project_id": PROJECT, "task_id": "t1"}

    run(main)


@pytest.mark.parametrize("step_s", [-180.0, 180.0])
def test_after_a_clock_step_an_unknown_creates_window_holds_the_servers_time(step_s: float) -> None:
    async def main() -> None:
        wall = Wall()
        server = answering(30.0, "new-task")
        client = client_for(server, wall=wall, timeout=2, retry=RetryPolicy(deadline=5))
        await client.authenticate()
        wall.step_s = step_s  # inside Tuya's 5-minute window: no 1013 would correct it
        await asyncio.sleep(60)
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.maintenance.create_task(PROJECT, worker_id="w", rooms={"r": ["d"]})
        received_ms = int((EPOCH_S + server.of("/task")[0].at) * 1000)
        error = caught.value
        assert error.first_sent_ms is not None
        assert error.last_sent_ms is not None
        assert error.first_sent_ms <= received_ms <= error.last_sent_ms

    run(main)


def test_a_retry_after_date_without_a_date_header_is_read_on_the_servers_clock() -> None:
    async def main() -> None:
        calls = {"n": 0}

        async def handle(request: Request) -> Answer:
            calls["n"] += 1
            if calls["n"] == 1:
                at = email.utils.formatdate(EPOCH_S + now() + 4, usegmt=True)
                return Answer(429, {"Retry-After": at}, b"")
            return envelope(TASK)

        client = client_for(FakeServer(handle))
        await client.authenticate()
        started = now()
        await client.maintenance.get_task(PROJECT, "t1")
        assert 3 <= now() - started <= 4 + MARGIN_S  # waited for the date, not the back-off

    run(main)


def test_rate_limited_calls_are_retried_and_counted() -> None:
    async def main() -> None:
        answers = iter([envelope(success=False, code=1199, msg="too frequent")] * 2)

        async def handle(request: Request) -> Answer:
            return next(answers, envelope(TASK))

        client = client_for(FakeServer(handle), retry=RetryPolicy(base_delay=0.5, jitter=0))
        started = now()
        await client.maintenance.get_task(PROJECT, "t1")
        assert now() - started == pytest.approx(1.5)
        assert client.stats.rate_limited == 2
        assert client.stats.retries == 2

    run(main)


def test_an_async_hook_is_refused_when_registered() -> None:
    async def hook(event: object) -> None:
        pass

    class AsyncCallable:
        async def __call__(self, event: object) -> None:
            pass

    for bad in (hook, AsyncCallable()):
        with pytest.raises(TypeError, match="async"):
            tuyaio.TuyaClient("id", "secret", region="eu", hooks=[bad])
        with pytest.raises(TypeError, match="async"):
            tuyaio.TuyaClient("id", "secret", region="eu").with_options(hooks=[bad])


def test_a_hung_server_fails_a_read_at_its_deadline_after_several_attempts() -> None:
    async def main() -> None:
        client = client_for(
            answering(3600),
            timeout=0.4,
            retry=RetryPolicy(base_delay=0.01, max_delay=0.05, deadline=1.5),
        )
        await client.authenticate()
        took, error = await _timed(client.maintenance.get_task(PROJECT, "t1"))
        assert isinstance(error, RequestTimeoutError)
        assert took <= 1.5
        assert error.attempts >= 3
        assert f"after {error.attempts} attempts" in str(error)

    run(main)


def test_closing_fails_every_call_waiting_for_a_token_at_once() -> None:
    async def main() -> None:
        server = answering(0.01)
        server.grant_delay_s = 5.0
        client = client_for(server)
        calls = [
            asyncio.ensure_future(client.maintenance.get_task(PROJECT, "t1")) for _ in range(500)
        ]
        calls.append(asyncio.ensure_future(client.authenticate()))
        await asyncio.sleep(0.2)
        await client.close()
        outcomes = await asyncio.gather(*calls, return_exceptions=True)
        assert [type(outcome) for outcome in outcomes] == [ClientClosedError] * 501
        assert all(not o.in_flight for o in outcomes if isinstance(o, ClientClosedError))
        assert now() == pytest.approx(0.2)

    run(main)


def test_an_http_429_retry_after_is_waited_for_in_full() -> None:
    async def main() -> None:
        answers = [Answer(429, {"Retry-After": "1"}, b"")]

        async def handle(request: Request) -> Answer:
            return answers.pop() if answers else envelope(TASK)

        client = client_for(FakeServer(handle), retry=RetryPolicy(base_delay=0.01))
        await client.authenticate()
        took, task = await _timed(client.maintenance.get_task(PROJECT, "t1"))
        assert task.task_id == "t1"
        assert took == pytest.approx(1.0)
        assert client.stats.rate_limited == 1

    run(main)


def test_cancelled_waiters_leave_the_token_bucket_as_it_was() -> None:
    async def main() -> None:
        bucket = tuyaio.TokenBucket(20, burst=1, clock=loop_time)
        await bucket.acquire()
        waiters = [asyncio.ensure_future(bucket.acquire()) for _ in range(50)]
        await asyncio.sleep(0.01)
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
        started = now()
        await bucket.acquire()
        assert now() - started == pytest.approx(0.04)  # the rest of one 50 ms interval

    run(main)


def test_the_pace_holds_when_the_calls_leave_also_right_after_a_token_renewal() -> None:
    async def main() -> None:
        server = answering(0.01)
        server.expire_time_s = 20  # due for renewal at 18 s, while calls wait for their turn
        server.grant_delay_s = 3  # the turns of three calls come while it is renewed
        client = client_for(server, rate_limit=1, retry=RetryPolicy(deadline=None))
        await asyncio.gather(*(client.maintenance.get_task(PROJECT, "t1") for _ in range(30)))
        sent = sorted(r.at for r in server.of("/tasks/"))
        assert server.grants + client.stats.token_refreshes >= 2
        busiest = max(sum(1 for t in sent if start <= t < start + 1) for start in sent)
        assert busiest <= 2  # a burst of one, plus the one whose turn ends the second

    run(main)


async def _reads(client: tuyaio.TuyaClient, count: int, concurrency: int) -> float:
    """Seconds (virtual) for ``count`` reads at ``concurrency``."""
    started = now()
    await tuyaio.batch.run(
        lambda _: client.maintenance.get_task(PROJECT, "t1"), range(count), concurrency=concurrency
    )
    return now() - started


def _limited_server(
    rate: float, answer_s: float, burst: float = 1.0
) -> tuple[FakeServer, dict[str, int]]:
    """A server that truly serves ``rate`` requests per second (a token bucket holding ``burst``,
    like the sandbox's limiter) and answers 1199 above it."""
    counts = {"ok": 0, "refused": 0}
    bucket = {"tokens": burst, "at": 0.0}

    async def handle(request: Request) -> Answer:
        bucket["tokens"] = min(burst, bucket["tokens"] + (now() - bucket["at"]) * rate)
        bucket["at"] = now()
        await asyncio.sleep(answer_s)
        if bucket["tokens"] < 1:
            counts["refused"] += 1
            return envelope(success=False, code=1199, msg="request too frequent")
        bucket["tokens"] -= 1
        counts["ok"] += 1
        return envelope(TASK)

    return FakeServer(handle), counts


def test_against_a_true_limit_the_throttle_keeps_goodput_with_few_refusals() -> None:
    # Measured against the sandbox's limiter (benchmarks/throttle.py): 42/s, 10.7-13.5 % 1199.
    # On virtual time every answer lands on the same instant, which the throttle cannot spread:
    # the share of 1199s is higher here (19 % with this seed), the goodput the same.
    random.seed(1)

    async def main() -> None:
        server, counts = _limited_server(40, 0.04, burst=40)
        client = client_for(server, retry=RetryPolicy(base_delay=0.02, max_retries=50))
        took = await _reads(client, 600, 32)
        assert 600 / took >= 32
        assert counts["refused"] <= 0.25 * (counts["ok"] + counts["refused"])

    run(main)


def test_a_server_counting_per_second_never_collapses_the_pace_to_its_floor() -> None:
    # Late in a second such a server accepts nothing: a cut to "what it accepted" was a cut to
    # 0, from which the pace never grew (1.07 reads/s over 600 reads).
    random.seed(1)

    async def main() -> None:
        window = {"second": -1, "served": 0}

        async def handle(request: Request) -> Answer:
            await asyncio.sleep(0.04)
            if int(now()) != window["second"]:
                window["second"], window["served"] = int(now()), 0
            if window["served"] >= 40:
                return envelope(success=False, code=1199, msg="request too frequent")
            window["served"] += 1
            return envelope(TASK)

        client = client_for(FakeServer(handle), retry=RetryPolicy(base_delay=0.02, max_retries=50))
        # Not good yet (about 10/s; switched off, 35-40/s), but never the floor's 1/s.
        assert 600 / await _reads(client, 600, 32) >= 5

    run(main)


@pytest.mark.parametrize("seed", range(6))
def test_sporadic_1199s_never_collapse_the_pace(seed: int) -> None:
    async def main(adaptive: bool, share: float) -> float:
        draws = random.Random(seed)
        first = iter([True] * 4)  # several refusals among the very first answers

        async def handle(request: Request) -> Answer:
            await asyncio.sleep(0.04)
            if next(first, False) or draws.random() < share:
                return envelope(success=False, code=1199, msg="request too frequent")
            return envelope(TASK)

        options: dict[str, Any] = {} if adaptive else {"throttle": None}
        client = client_for(
            FakeServer(handle), retry=RetryPolicy(base_delay=0.02, max_retries=50), **options
        )
        await client.authenticate()
        return await _reads(client, 1000, 32)

    random.seed(seed)
    clean = run(lambda: main(True, 0.0))
    assert run(lambda: main(True, 0.03)) <= clean / 0.35
    assert run(lambda: main(False, 0.03)) <= clean / 0.80
