"""Structured telemetry: events, the observer protocol and the stock observers.

Owns the ``Event`` type (a stable snake_case name and flat scalar data), the ``Observer``
protocol and the observers every part of contextree may use: one that drops everything, one
that records (tests and parity gates), one that writes JSON lines, and one that fans out.
Observers never raise into the code that emits: a failing sink is logged and the event dropped.
This module must not import anything from contextree except this package.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import IO, Protocol

log = logging.getLogger(__name__)

#: A value an event may carry: flat scalars only, so every sink can store it.
EventValue = str | int | float | bool | None

_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
#: Names already found to be snake_case. Names are a small, stable set, so each is checked
#: once; the bound only keeps a caller that makes up names from growing this for ever.
_CHECKED_NAMES: set[str] = set()
_MAX_CHECKED_NAMES = 4096


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Something that happened, named in snake_case (e.g. ``request_completed``)."""

    name: str
    data: Mapping[str, EventValue]

    def __post_init__(self) -> None:
        name = self.name
        if name not in _CHECKED_NAMES:
            if not _NAME_RE.fullmatch(name):
                raise ValueError(f"event name must be snake_case (got {name!r})")
            if len(_CHECKED_NAMES) < _MAX_CHECKED_NAMES:
                _CHECKED_NAMES.add(name)
        # A private copy, read-only: an event cannot change after it was emitted.
        object.__setattr__(self, "data", MappingProxyType(dict(self.data)))


class Observer(Protocol):
    """Receives events. ``emit`` must not raise and should return quickly."""

    def emit(self, event: Event) -> None: ...


class NullObserver:
    """Drops every event."""

    def emit(self, event: Event) -> None:
        return None


class RecordingObserver:
    """Keeps every event in order, for tests and the parity gates."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def names(self) -> list[str]:
        return [event.name for event in self.events]

    def named(self, name: str) -> list[Event]:
        """The events called ``name``, in order."""
        return [event for event in self.events if event.name == name]

    def clear(self) -> None:
        self.events.clear()


class JsonLinesObserver:
    """Writes one JSON object per event and line: ``{"seq": n, "name": ..., "data": {...}}``.

    ``seq`` counts from 1 per observer. Given a path, the file is opened for appending on the
    first event and closed by ``close()``; given a text stream, the stream is the caller's and is
    flushed, never closed. Write failures (and values JSON cannot hold, such as NaN) are logged
    and the event dropped.
    """

    def __init__(self, target: str | Path | IO[str]) -> None:
        self._path: Path | None
        self._stream: IO[str] | None
        if isinstance(target, str | Path):
            self._path, self._stream = Path(target), None
        else:
            self._path, self._stream = None, target
        self._owns_stream = self._path is not None
        self._seq = 0
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            try:
                line = json.dumps(
                    {"seq": self._seq + 1, "name": event.name, "data": dict(event.data)},
                    allow_nan=False,
                    ensure_ascii=False,
                    separators=(",", ":"),
                )
            except (TypeError, ValueError):
                log.warning("telemetry event %s dropped: data is not JSON", event.name)
                return
            try:
                stream = self._open()
                stream.write(line + "\n")
                stream.flush()
            except (OSError, ValueError) as exc:  # ValueError: the stream was closed
                log.warning("telemetry event %s dropped: %s", event.name, exc)
                return
            self._seq += 1

    def _open(self) -> IO[str]:
        if self._stream is None:
            assert self._path is not None
            self._stream = self._path.open("a", encoding="utf-8")
        return self._stream

    def close(self) -> None:
        """Close the file this observer opened (a caller's stream is left open)."""
        with self._lock:
            if self._owns_stream and self._stream is not None:
                try:
                    self._stream.close()
                except OSError as exc:
                    log.warning("closing telemetry file failed: %s", exc)
                self._stream = None

    def __enter__(self) -> JsonLinesObserver:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class MultiObserver:
    """Passes every event to each observer in turn; one failing observer does not stop the
    others."""

    def __init__(self, observers: Iterable[Observer]) -> None:
        self._observers = tuple(observers)

    def emit(self, event: Event) -> None:
        for observer in self._observers:
            safe_emit(observer, event)


def safe_emit(observer: Observer, event: Event) -> None:
    """Emit through an observer that might not keep its promise not to raise."""
    try:
        observer.emit(event)
    except Exception:
        log.exception("telemetry observer %r failed on event %s", observer, event.name)
