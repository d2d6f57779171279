"""Telemetry: structured events with stable names, emitted through an observer."""

from contextree.telemetry.events import (
    Event,
    EventValue,
    JsonLinesObserver,
    MultiObserver,
    NullObserver,
    Observer,
    RecordingObserver,
    safe_emit,
)

__all__ = [
    "Event",
    "EventValue",
    "JsonLinesObserver",
    "MultiObserver",
    "NullObserver",
    "Observer",
    "RecordingObserver",
    "safe_emit",
]
