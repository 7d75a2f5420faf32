"""``GroupCommit`` (``ports.Batcher``): what arrives together runs as one group, and every caller is
answered whatever becomes of the others."""

from __future__ import annotations

import asyncio
import threading

from turnout.adapters.group_commit import GroupCommit


def test_a_caller_whose_event_loop_closed_does_not_stop_the_answers_to_later_callers() -> None:
    """A request's event loop closes while its group runs (the request went away with it): its
    answer has nowhere to go, and the drain goes on; later callers are answered."""
    release = threading.Event()

    def run(_key: str, items: list[int]) -> list[str]:
        release.wait(10)
        return [f"answer {item}" for item in items]

    batcher: GroupCommit[int, str] = GroupCommit(run)
    gone = asyncio.new_event_loop()
    request = gone.create_task(batcher.submit("event", 1))
    gone.run_until_complete(asyncio.sleep(0.05))  # its group is running (on the drain thread)
    request.cancel()
    gone.run_until_complete(asyncio.sleep(0))
    gone.close()
    release.set()

    async def later() -> str:
        return await asyncio.wait_for(batcher.submit("event", 2), 5)

    assert asyncio.run(later()) == "answer 2"
