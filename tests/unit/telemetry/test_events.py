"""Telemetry events and the stock observers."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest

from contextree.telemetry import (
    Event,
    JsonLinesObserver,
    MultiObserver,
    NullObserver,
    Observer,
    RecordingObserver,
    events,
    safe_emit,
)


def ev(name: str = "request_enqueued", **data: str | int | float | bool | None) -> Event:
    return Event(name=name, data=data)


@pytest.mark.parametrize("name", ["", "RequestEnqueued", "request-enqueued", "_x", "x__y", "a b"])
def test_event_names_must_be_snake_case(name: str) -> None:
    with pytest.raises(ValueError, match="snake_case"):
        Event(name=name, data={})


def test_event_data_is_a_read_only_copy() -> None:
    source: dict[str, str | int | float | bool | None] = {"attempt": 1}
    event = Event(name="request_processing", data=source)
    source["attempt"] = 2
    assert event.data["attempt"] == 1
    with pytest.raises(TypeError):
        event.data["attempt"] = 3  # type: ignore[index]


def test_recording_observer_keeps_events_in_order() -> None:
    observer = RecordingObserver()
    for name in ("request_enqueued", "queue_stats", "request_completed", "queue_stats"):
        observer.emit(ev(name))
    assert observer.names() == [
        "request_enqueued",
        "queue_stats",
        "request_completed",
        "queue_stats",
    ]
    assert len(observer.named("queue_stats")) == 2
    observer.clear()
    assert observer.events == []


def test_null_observer_accepts_anything() -> None:
    observer: Observer = NullObserver()
    observer.emit(ev())  # the protocol is satisfied and nothing is kept
    assert not hasattr(observer, "events")


def test_json_lines_to_a_stream_numbers_each_line() -> None:
    stream = io.StringIO()
    observer = JsonLinesObserver(stream)
    observer.emit(ev("request_enqueued", path="caf\xe9", attempt=1, ok=True, gone=None))
    observer.emit(ev("queue_stats", pending=0, ratio=0.5))
    observer.close()  # a caller's stream stays open
    lines = stream.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "seq": 1,
            "name": "request_enqueued",
            "data": {"path": "caf\xe9", "attempt": 1, "ok": True, "gone": None},
        },
        {"seq": 2, "name": "queue_stats", "data": {"pending": 0, "ratio": 0.5}},
    ]
    assert not stream.closed


def test_json_lines_to_a_path_appends_and_closes(tmp_path: Path) -> None:
    target = tmp_path / "events.jsonl"
    with JsonLinesObserver(target) as observer:
        assert not target.exists()  # nothing is opened until there is something to write
        observer.emit(ev("request_failed", message="bad key"))
    with JsonLinesObserver(target) as observer:
        observer.emit(ev("request_cancelled"))
    records = [json.loads(line) for line in target.read_text(encoding="utf-8").splitlines()]
    assert [(r["seq"], r["name"]) for r in records] == [
        (1, "request_failed"),
        (1, "request_cancelled"),
    ]


def test_json_lines_drops_values_json_cannot_hold(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    observer = JsonLinesObserver(stream)
    with caplog.at_level(logging.WARNING):
        observer.emit(ev("queue_stats", ratio=float("nan")))
    observer.emit(ev("queue_stats", ratio=1.0))
    assert [json.loads(line)["seq"] for line in stream.getvalue().splitlines()] == [1]
    assert "not JSON" in caplog.text


def test_json_lines_logs_and_drops_on_write_failure(caplog: pytest.LogCaptureFixture) -> None:
    stream = io.StringIO()
    observer = JsonLinesObserver(stream)
    stream.close()
    with caplog.at_level(logging.WARNING):
        observer.emit(ev())  # writing to a closed stream raises ValueError
    assert "dropped" in caplog.text


def test_json_lines_to_an_unwritable_path_does_not_raise(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    observer = JsonLinesObserver(tmp_path / "missing-dir" / "events.jsonl")
    with caplog.at_level(logging.WARNING):
        observer.emit(ev())
    assert "dropped" in caplog.text


class _Broken:
    def emit(self, event: Event) -> None:
        raise RuntimeError("sink down")


def test_multi_observer_reaches_every_observer_even_after_a_failure(
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, last = RecordingObserver(), RecordingObserver()
    multi = MultiObserver([first, _Broken(), last])
    with caplog.at_level(logging.ERROR):
        multi.emit(ev("request_completed"))
    assert first.names() == last.names() == ["request_completed"]
    assert "sink down" in caplog.text


def test_safe_emit_swallows_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        safe_emit(_Broken(), ev("request_failed"))
    assert "request_failed" in caplog.text


def test_a_name_once_accepted_stays_accepted_and_bad_names_stay_refused() -> None:
    for _ in range(3):
        assert Event(name="request_processing", data={}).name == "request_processing"
        with pytest.raises(ValueError, match="snake_case"):
            Event(name="Request_Processing", data={})


def test_the_memory_of_checked_names_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(events, "_CHECKED_NAMES", set())
    monkeypatch.setattr(events, "_MAX_CHECKED_NAMES", 2)
    for i in range(5):
        Event(name=f"made_up_{i}", data={})
    assert {"made_up_0", "made_up_1"} == events._CHECKED_NAMES
    assert Event(name="made_up_4", data={}).name == "made_up_4"  # still checked, not kept
