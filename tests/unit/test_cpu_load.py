from pathlib import Path

from turnout.adapters.cpu_load import CpuLoad


def test_busy_is_the_share_of_non_idle_time_since_the_last_reading(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 100 700 100 0 0 0 0 0\ncpu0 1 2 3 4\n")
    load = CpuLoad(stat)
    stat.write_text("cpu  400 0 200 900 100 0 0 0 0 0\n")  # +400 busy, +200 idle
    assert abs(load.busy() - 400 / 600) < 1e-9
    assert load.busy() == 0.0  # no time passed since


def test_busy_is_zero_where_the_machine_does_not_say(tmp_path: Path) -> None:
    assert CpuLoad(tmp_path / "missing").busy() == 0.0
