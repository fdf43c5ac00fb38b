from __future__ import annotations

import asyncio

from moodshuffle.supervise import backoff_delays, supervise


def test_failing_stage_is_restarted_with_growing_back_off():
    calls: list[float] = []

    async def flaky() -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 4:
            raise RuntimeError("boom")

    async def go() -> None:
        await asyncio.wait_for(supervise("flaky", flaky, delay=lambda n: 0.05 * 2**n), 5)

    asyncio.run(go())
    assert len(calls) == 4
    gaps = [b - a for a, b in zip(calls, calls[1:], strict=False)]
    assert gaps[0] >= 0.05 and gaps[1] >= 0.1 and gaps[2] >= 0.2


def test_cancellation_is_not_swallowed():
    async def forever() -> None:
        await asyncio.sleep(3600)

    async def go() -> bool:
        task = asyncio.create_task(supervise("forever", forever))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(go())


def test_back_off_is_capped_and_jittered():
    delay = backoff_delays(first_s=1, max_s=60, jitter=0.1)
    assert 0.9 <= delay(0) <= 1.1
    assert 54 <= delay(10) <= 66
