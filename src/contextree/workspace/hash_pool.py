"""Worker processes that hash files for the main process, and the bytes they exchange.

Owns starting ``python -m contextree.workspace.hash_worker ROOT [DERIVE]`` processes, handing
them batches of ``(path, signature)`` over their stdin and reading ``Outcome`` batches back
from their stdout. A worker is a fresh interpreter that imports only the hashing modules (and
the module of ``DERIVE``): ``multiprocessing``'s spawn and forkserver methods would import the
main module again (for a console script, the whole CLI) and pickle every result, and fork is
unsafe once threads run. Neither side waits on a full pipe: a thread per worker drains its
stdout here, and a thread in the worker drains its stdin. It knows nothing about what a hash
means.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import queue
import struct
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from contextree.errors import ScanError
from contextree.workspace.fs import SIG_BYTES, Sig

#: A file to hash: (path, its signature before the read or None, its size in bytes or 0).
Item = tuple[bytes, Sig | None, int]
#: (content hash, signature, error, unstable) of reading one file.
Read = tuple[bytes | None, Sig | None, str | None, bool]
#: A ``Read`` and what the derive function made of the path and the content hash (None
#: without a derive function, or when the file could not be read).
Outcome = tuple[bytes | None, Sig | None, str | None, bool, bytes | None]
#: derive(path as handed in, content hash) -> bytes, computed next to the hash in whichever
#: process read the file. Named ``"module:function"`` so that a worker can import it.
Derive = Callable[[bytes, bytes], bytes]

_U32 = struct.Struct("<I")
_HASH_BYTES = 32
_NO_SIG = b"\0"
_HAS_SIG = b"\1"
# Result records: a tag, then the content hash and, except for "same", a signature; then a
# length byte and the derived bytes. Or, for an error: the tag, a u32 length and the message.
_SAME = 0x3D  # "=": unchanged, the signature is the one sent
_NEW = 0x2B  # "+": unchanged, with the signature taken while reading
_UNSTABLE = 0x7E  # "~": kept changing; smudged signature
_ERROR = 0x21  # "!"
_PACKAGE_PARENT = str(Path(__file__).resolve().parents[2])


def load_derive(spec: str | None) -> Derive | None:
    """The function named ``"module:function"`` (None for None)."""
    if spec is None:
        return None
    module, _, name = spec.partition(":")
    function: Derive = getattr(importlib.import_module(module), name)
    return function


def encode_request(items: Sequence[Item]) -> bytes:
    pack = _U32.pack
    parts = [pack(len(items))]
    for path, sig, _ in items:
        if sig is None:
            parts += (pack(len(path)), path, _NO_SIG)
        else:
            parts += (pack(len(path)), path, _HAS_SIG, sig)
    return b"".join(parts)


def decode_request(data: bytes) -> list[tuple[bytes, Sig | None]]:
    (count,) = _U32.unpack_from(data)
    pos = 4
    items: list[tuple[bytes, Sig | None]] = []
    for _ in range(count):
        (length,) = _U32.unpack_from(data, pos)
        pos += 4
        path = data[pos : pos + length]
        pos += length
        if data[pos : pos + 1] == _HAS_SIG:
            items.append((path, data[pos + 1 : pos + 1 + SIG_BYTES]))
            pos += 1 + SIG_BYTES
        else:
            items.append((path, None))
            pos += 1
    return items


def encode_outcomes(sent: Sequence[Sig | None], outcomes: Sequence[Outcome]) -> bytes:
    parts: list[bytes] = []
    for before, (content_hash, sig, error, unstable, derived) in zip(sent, outcomes, strict=True):
        if content_hash is None or sig is None:
            message = (error or "unreadable").encode("utf-8", "backslashreplace")
            parts += (bytes((_ERROR,)), _U32.pack(len(message)), message)
            continue
        if unstable:
            parts += (bytes((_UNSTABLE,)), content_hash, sig)
        elif sig == before:
            parts += (bytes((_SAME,)), content_hash)
        else:
            parts += (bytes((_NEW,)), content_hash, sig)
        extra = derived or b""
        parts += (bytes((len(extra),)), extra)
    return b"".join(parts)


def decode_outcomes(sent: Sequence[Sig | None], data: bytes) -> list[Outcome]:
    out: list[Outcome] = []
    pos = 0
    for before in sent:
        tag = data[pos]
        pos += 1
        if tag == _ERROR:
            (length,) = _U32.unpack_from(data, pos)
            pos += 4
            out.append((None, None, data[pos : pos + length].decode("utf-8"), False, None))
            pos += length
            continue
        content_hash = data[pos : pos + _HASH_BYTES]
        pos += _HASH_BYTES
        sig = before
        if tag != _SAME:
            sig = data[pos : pos + SIG_BYTES]
            pos += SIG_BYTES
        length = data[pos]
        derived = data[pos + 1 : pos + 1 + length] if length else None
        pos += 1 + length
        out.append((content_hash, sig, None, tag == _UNSTABLE, derived))
    return out


def read_frame(stream: IO[bytes]) -> bytes | None:
    """One length-prefixed frame, or None at the end of the stream."""
    head = stream.read(4)
    if len(head) < 4:
        return None
    (length,) = _U32.unpack(head)
    body = stream.read(length)
    return body if len(body) == length else None


def write_frame(stream: IO[bytes], body: bytes) -> None:
    stream.write(_U32.pack(len(body)) + body)
    stream.flush()


def drain_frames(stream: IO[bytes], into: queue.SimpleQueue[bytes | None]) -> None:
    """Put every frame of ``stream`` into ``into``, then None (run it in a thread)."""
    while (frame := read_frame(stream)) is not None:
        into.put(frame)
    into.put(None)


class _Worker:
    def __init__(self, root: bytes, derive: str | None) -> None:
        env = dict(os.environ)
        # The child imports this very copy of contextree, installed or not.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (_PACKAGE_PARENT, env.get("PYTHONPATH"))))
        env["CONTEXTREE_HASH_PARENT"] = str(os.getpid())  # the worker exits once orphaned
        argv = [sys.executable, "-m", "contextree.workspace.hash_worker", os.fsdecode(root)]
        self.proc = subprocess.Popen(
            argv if derive is None else [*argv, derive],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.stdin = self.proc.stdin
        #: Indexes of the batches sent and not received, oldest first.
        self.order: deque[int] = deque()
        #: Batches taken back (hashed elsewhere): their answers are read and dropped.
        self.dropped: set[int] = set()
        self.answered_any = False
        self.results: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self.reader = threading.Thread(
            target=drain_frames, args=(self.proc.stdout, self.results), daemon=True
        )
        self.reader.start()

    def send(self, index: int, body: bytes) -> None:
        try:
            write_frame(self.stdin, body)
        except BrokenPipeError as exc:
            raise self._died() from exc
        self.order.append(index)

    def answered(self) -> int:
        """Answers that arrived and were not received yet."""
        return min(self.results.qsize(), len(self.order))

    def busy(self) -> int:
        """Batches sent that the worker has not answered yet."""
        return len(self.order) - self.answered()

    def receive(self, index: int) -> bytes:
        while self.order and self.order[0] in self.dropped:
            self.dropped.discard(self._next_frame()[0])
        if not self.order or self.order[0] != index:
            raise ValueError(f"batch {index} is not the oldest one sent to this worker")
        return self._next_frame()[1]

    def _next_frame(self) -> tuple[int, bytes]:
        frame = self.results.get()
        if frame is None:
            raise self._died()
        self.answered_any = True
        return self.order.popleft(), frame

    def _died(self) -> ScanError:
        code = self.proc.poll()
        return ScanError(f"a hashing worker process ended unexpectedly (exit status {code})")

    def close(self) -> None:
        # Killing is safe (a worker only reads files) and never waits for a worker that is
        # still starting up or hashing a batch nobody will receive.
        self.proc.kill()
        with contextlib.suppress(BrokenPipeError):
            self.stdin.close()
        self.proc.wait()
        self.reader.join()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


class HashPool:
    """Worker processes hashing ``root + path`` for each ``(path, signature)`` sent, and
    deriving from each path and hash with the function ``derive`` names. Each batch is sent
    under the caller's index and received by it; each worker answers in the order it was
    sent batches, so the caller receives them in that order too."""

    def __init__(self, *, workers: int, root: bytes = b"", derive: str | None = None) -> None:
        self._workers: list[_Worker] = []
        self._held: dict[int, tuple[_Worker, list[Sig | None]]] = {}
        try:
            for _ in range(workers):
                self._workers.append(_Worker(root, derive))
        except BaseException:
            self.close()
            raise

    def send(self, index: int, items: Sequence[Item]) -> None:
        """Hand batch ``index`` to the worker with the least unfinished work."""
        worker = min(self._workers, key=_Worker.busy)
        worker.send(index, encode_request(items))
        self._held[index] = (worker, [sig for _, sig, _ in items])

    def holds(self, index: int) -> bool:
        """Whether batch ``index`` was sent and not received yet."""
        return index in self._held

    def warm(self, index: int) -> bool:
        """Whether the worker holding batch ``index`` has answered anything yet (a worker that
        has not may still be starting up)."""
        worker, _ = self._held[index]
        return worker.answered_any or worker.answered() > 0

    def take_back(self, index: int) -> None:
        """Forget batch ``index``: the caller hashes it; the worker's answer will be dropped."""
        worker, _ = self._held.pop(index)
        worker.dropped.add(index)

    def ready(self, index: int) -> bool:
        """Whether receiving batch ``index`` would not wait."""
        worker, _ = self._held[index]
        return worker.answered() > worker.order.index(index)

    def busy(self) -> int:
        """Batches sent that no worker has finished."""
        return sum(w.busy() for w in self._workers)

    def receive(self, index: int) -> list[Outcome]:
        """The outcomes of batch ``index`` (waits for them)."""
        worker, sigs = self._held.pop(index)
        return decode_outcomes(sigs, worker.receive(index))

    def close(self) -> None:
        """Stop the workers at once; outcomes not received are dropped."""
        for worker in self._workers:
            worker.close()
        self._workers = []
