"""The live progress line of ``generate`` fits 80 columns with retries, tokens and ETA always
shown; the less important counts are dropped first, and shown where there is room."""

from __future__ import annotations

import pytest

from contextree.cli.generate_view import ProgressState, progress_line
from contextree.cli.output import plural

STATES = [
    ProgressState(planned_done=0, total=0),
    ProgressState(planned_done=3, total=12, done=3, in_flight=2, eta_s=4.2),
    ProgressState(
        planned_done=1_234_567,
        total=9_876_543,
        done=1_200_000,
        skipped=8_000_000,
        failed=34_000,
        blocked=567,
        in_flight=512,
        retries=98_765,
        tokens_in=987_654_321_000,
        tokens_out=12_345_678_901,
        eta_s=360_000.0,
    ),
    ProgressState(
        planned_done=99_999,
        total=100_000,
        done=99_000,
        skipped=1,
        failed=999,
        blocked=0,
        in_flight=64,
        retries=12_345,
        tokens_in=45_678_901,
        tokens_out=2_345_678,
        eta_s=3_725.0,
    ),
]


@pytest.mark.parametrize("state", STATES)
def test_the_line_fits_80_columns_with_retries_tokens_and_eta(state: ProgressState) -> None:
    line = progress_line(state, width=80)
    assert len(line) <= 80
    assert line.startswith(f"generating {state.planned_done:,}/{state.total:,}")
    assert "retries " in line
    assert "tokens " in line
    if state.eta_s is not None:
        assert "ETA " in line


def test_less_important_fields_go_first_and_all_show_when_there_is_room() -> None:
    busy = STATES[2]
    wide = progress_line(busy, width=200)
    for field in ("done", "skipped", "failed", "blocked", "in flight", "retries", "ETA"):
        assert field in wide
    narrow = progress_line(busy, width=80)
    assert "skipped" not in narrow
    assert "blocked" not in narrow
    assert "tokens 988G/12.3G" in narrow
    assert "ETA 100h00m" in narrow


def test_plural() -> None:
    assert plural(1, "frame") == "1 frame"
    assert plural(2, "frame") == "2 frames"
    assert plural(0, "file") == "0 files"
    assert plural(1_204, "directory", "directories") == "1,204 directories"
