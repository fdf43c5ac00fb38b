from __future__ import annotations

import asyncio
import logging

from moodshuffle.runtime import ModelError
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


def test_a_model_error_is_logged_once_and_retried_only_after_the_long_pause(caplog):
    calls: list[float] = []
    seen: list[tuple[str, str]] = []

    async def no_model() -> None:
        calls.append(asyncio.get_running_loop().time())
        if len(calls) < 4:
            raise ModelError("/models/face_detector.tflite: cannot load model: not a valid Flatbuffer")

    async def go() -> None:
        await asyncio.wait_for(supervise("camera", no_model, delay=lambda n: 0.0, permanent_retry_s=0.2,
                                         on_error=lambda name, exc: seen.append((name, str(exc)))), 5)

    with caplog.at_level(logging.ERROR, logger="moodshuffle.supervise"):
        asyncio.run(go())
    assert len(calls) == 4
    assert all(b - a >= 0.2 for a, b in zip(calls, calls[1:], strict=False))  # not the back-off of 0 s
    (record,) = caplog.records
    assert "/models/face_detector.tflite: cannot load model" in record.getMessage()
    assert record.exc_info is None  # one line, no traceback
    assert seen == [("camera", "/models/face_detector.tflite: cannot load model: not a valid Flatbuffer")] * 3


def test_a_crash_reaches_the_error_listener_and_a_broken_listener_stops_nothing():
    seen: list[str] = []
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RuntimeError(f"boom {calls}")

    def listener(name: str, exc: Exception) -> None:
        seen.append(f"{name}: {exc}")
        raise ValueError("listener bug")

    asyncio.run(asyncio.wait_for(supervise("mood", flaky, delay=lambda n: 0.01, on_error=listener), 5))
    assert calls == 3 and seen == ["mood: boom 1", "mood: boom 2"]
