import os
import time
from pathlib import Path

from turnout.adapters.cpu_load import CpuLoad


def _self_stat(path: Path, utime: int, stime: int) -> None:
    # the command name may hold spaces and parentheses; utime and stime are fields 14 and 15
    fields = ["S"] + ["0"] * 10 + [str(utime), str(stime)] + ["0"] * 30
    path.write_text(f"4242 (python (worker) x) {' '.join(fields)}\n")


def test_busy_is_the_share_of_non_idle_time_since_the_last_reading(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
    load = CpuLoad(stat, own=None)
    stat.write_text("cpu  400 0 200 900 100 0 0 0 0 0\n")  # +400 busy, +200 idle
    assert abs(load.busy() - 400 / 600) < 1e-9
    assert load.busy() == 0.0  # no time passed since


def test_this_process_own_cpu_time_does_not_count(tmp_path: Path) -> None:
    stat, own = tmp_path / "stat", tmp_path / "self-stat"
    stat.write_text("cpu  100 0 100 700 100 0 0 0 0 0\n")
    _self_stat(own, 10, 5)
    load = CpuLoad(stat, own=own)
    stat.write_text("cpu  400 0 200 900 100 0 0 0 0 0\n")  # +400 busy, +200 idle
    _self_stat(own, 160, 55)  # of the 400, this process used 150 + 50
    assert abs(load.busy() - 200 / 600) < 1e-9


def test_a_busy_loop_in_this_process_is_not_the_machine_being_busy() -> None:
    if not Path("/proc/self/stat").exists():
        return  # not Linux: busy() answers 0.0 (below)
    others, whole = CpuLoad(), CpuLoad(own=None)  # over the same moment
    deadline = time.process_time() + 0.5
    while time.process_time() < deadline:  # one CPU busy in this process
        pass
    whole_busy, others_busy = whole.busy(), others.busy()
    # this process kept about one CPU of os.cpu_count() busy: counted in the whole, not in others
    assert whole_busy - others_busy >= 0.5 / (os.cpu_count() or 1)


def test_busy_is_zero_where_the_machine_does_not_say(tmp_path: Path) -> None:
    assert CpuLoad(tmp_path / "missing").busy() == 0.0
