"""``turnout worker --only/--skip``: the background loops can be split between processes (say, the
sagas in a process of their own); a name that is not a loop's is refused before anything starts."""

from __future__ import annotations

import threading
import time

import pytest
from typer.testing import CliRunner

from turnout.bootstrap import Turnout
from turnout.entrypoints.cli import app
from turnout.entrypoints.workers import LOOPS, run_forever, select_loops

NAMES = [name for name, _loop in LOOPS]


def test_loops_are_chosen_by_name_in_their_own_order() -> None:
    assert [name for name, _ in select_loops()] == NAMES
    assert [name for name, _ in select_loops(only=["sagas", "deliveries"])] == ["deliveries", "sagas"]
    assert [name for name, _ in select_loops(skip=["sagas"])] == [n for n in NAMES if n != "sagas"]
    assert [name for name, _ in select_loops(only=["sagas", "imports"], skip=["imports"])] == ["sagas"]


@pytest.mark.parametrize(
    ("only", "skip", "message"),
    [
        (["saga"], [], "no such worker loop: saga"),
        ([], ["sagas", "mailer"], "no such worker loop: mailer"),
        (["sagas"], ["sagas"], "no worker loop is left to run"),
    ],
)
def test_an_unknown_or_empty_choice_is_refused(only: list[str], skip: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        select_loops(only=only, skip=skip)


def test_the_cli_lists_the_loops_and_refuses_an_unknown_one_with_exit_2() -> None:
    runner = CliRunner()
    listed = runner.invoke(app, ["worker", "--list-loops"])
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.split() == NAMES
    refused = runner.invoke(app, ["worker", "--only", "nope"])
    assert refused.exit_code == 2
    assert "no such worker loop: nope" in refused.stderr


def test_a_worker_runs_only_the_chosen_loops(turnout: Turnout) -> None:
    stop = threading.Event()
    chosen = select_loops(only=["sagas", "outbox-relay"])
    worker = threading.Thread(target=run_forever, args=(turnout, stop), kwargs={"loops": chosen})
    worker.start()
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            running = {thread.name for thread in threading.enumerate()} & set(NAMES)
            if running == {"sagas", "outbox-relay"}:
                break
            time.sleep(0.05)
        assert running == {"sagas", "outbox-relay"}
    finally:
        stop.set()
        worker.join(30)
    assert not worker.is_alive()
