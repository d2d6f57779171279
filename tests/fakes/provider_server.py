"""A fake LLM provider on 127.0.0.1 that speaks the OpenAI, Anthropic and Ollama wire formats.

It validates requests the way the real APIs do (Anthropic answers 400 without ``max_tokens``
or ``anthropic-version``; OpenAI-shaped error bodies; Ollama streams unless ``stream`` is
false), answers from a script (per request, or per node path and attempt, the node being
found in the last user message by ``path_pattern``), injects latency and faults, records every
request (secret headers left out) and the peak number of requests served at once.

Three ways to run it:

- in the test's loop: ``async with FakeProviderServer() as server: ... server.base_url``
- in a background thread, for synchronous (CLI) tests: ``url = server.start_in_thread()``,
  then ``server.stop()``
- as a process, for benchmarks: ``python -m tests.fakes.provider_server --port 0`` prints
  ``READY <base url>`` once it listens, and stops on SIGTERM or SIGINT (or end of stdin with
  ``--stop-on-stdin-eof``); ``--default-reply``/``--script`` take ``Reply`` JSON.

Scripting: ``script(*replies)`` answers the next requests in order; ``script_path(path,
*replies)`` answers attempts 1, 2, ... for one node; ``default`` answers the rest;
``models_reply`` makes the model listing fail. Observing: ``requests``, ``peak_concurrency``,
``in_flight``, ``answered_requests()`` (requests whose handler produced an answer), and
``wait_for_requests(n)`` (in-loop) or ``wait_for_requests_blocking(n)`` (thread mode) to wait
for arrivals without sleeping. ``on_request(number, record)`` is called as each request is
recorded (1-based arrival number; in thread mode on the server's thread), e.g. to kill a client
at a deterministic point. Faults (``Reply.hang/close/malformed``) and latency are per reply; a
hanging request ends when its client gives up or the server stops. ``close_gate()`` holds every
completion request, once recorded, until ``open_gate()`` (callable from any thread).

Endpoints: ``POST /v1/chat/completions`` and ``GET /v1/models`` (OpenAI, also Ollama's /v1),
``POST /v1/messages`` and ``GET /v1/models`` with Anthropic headers, ``POST /api/chat`` and
``GET /api/tags`` (Ollama), and where servers report a context window: ``GET /props``
(llama.cpp; ``props_n_ctx``), ``POST /api/show`` (Ollama; ``show_context_length``) and the
OpenAI listing's per-model ``context_length`` (``listing_windows``); ``window_probes()``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any

from aiohttp import web

from tests.fakes.replies import (
    Fault,
    Reply,
    anthropic_completion,
    anthropic_error,
    anthropic_models,
    ollama_chunks,
    ollama_completion,
    ollama_error,
    ollama_tags,
    openai_completion,
    openai_error,
    openai_models,
)
from tests.fakes.wire_checks import Rejected, check_anthropic, check_ollama, check_openai

DEFAULT_MODELS = ("fake-model", "fake-large")
SECRET_HEADERS = frozenset(
    {"authorization", "x-api-key", "api-key", "cookie", "proxy-authorization"}
)


@dataclass(frozen=True, kw_only=True)
class RecordedRequest:
    """One request as the server saw it. ``key`` is what the client presented (for checks
    that it was sent), ``headers`` leave every credential header out."""

    index: int
    method: str
    path: str
    wire: str
    headers: dict[str, str]
    body: Any
    raw: bytes
    node_path: str | None
    attempt: int
    key: str | None


class FakeProviderServer:
    def __init__(
        self,
        *,
        models: Iterable[str] = DEFAULT_MODELS,
        api_key: str | None = None,
        path_pattern: str = r"Path: (\S+)",
        default: Reply | None = None,
        latency: float = 0.0,
        on_request: Callable[[int, RecordedRequest], None] | None = None,
    ) -> None:
        self.models = tuple(models)
        self.api_key = api_key
        self.path_pattern = re.compile(path_pattern)
        self.default = default or Reply()
        self.latency = latency
        #: Called with the 1-based arrival number and the record of each request; an
        #: exception it raises answers that request with a 500.
        self.on_request = on_request
        self.models_reply: Reply | None = None  # script the model list to fail
        #: Context windows the server reports (None: it says none): per model in the OpenAI
        #: listing (under ``listing_window_field``), llama.cpp's ``/props`` (404 when None)
        #: and Ollama's ``/api/show``.
        self.listing_windows: dict[str, int] = {}
        self.listing_window_field = "context_length"
        self.props_n_ctx: int | None = None
        self.show_context_length: int | None = None
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._arrival: asyncio.Event | None = None
        self._queue: deque[Reply] = deque()
        self._by_node: dict[tuple[str, int], Reply] = {}
        self._attempts: dict[str, int] = {}
        self._records: list[RecordedRequest] = []
        self._answered: set[int] = set()
        self._gate_open = True
        self._gate: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._in_flight = 0
        self._peak = 0
        self._runner: web.AppRunner | None = None
        self._stopping: asyncio.Event | None = None
        self._port = 0
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._thread_stop: asyncio.Event | None = None

    # -- script -------------------------------------------------------------------------

    def script(self, *replies: Reply) -> None:
        """Answer the next requests (in arrival order) with ``replies``."""
        with self._lock:
            self._queue.extend(replies)

    def script_for(self, path: str, attempt: int, reply: Reply) -> None:
        """Answer the ``attempt``-th request (1-based) for node ``path`` with ``reply``."""
        with self._lock:
            self._by_node[(path, attempt)] = reply

    def script_path(self, path: str, *replies: Reply) -> None:
        """Answer attempts 1, 2, ... for node ``path`` with ``replies`` in turn."""
        for attempt, reply in enumerate(replies, start=1):
            self.script_for(path, attempt, reply)

    def close_gate(self) -> None:
        """Hold every completion request, once recorded, until ``open_gate()``."""
        self._set_gate(is_open=False)

    def open_gate(self) -> None:
        """Let held completion requests (and later ones) be answered; from any thread."""
        self._set_gate(is_open=True)

    def _set_gate(self, *, is_open: bool) -> None:
        with self._lock:
            self._gate_open = is_open
            gate, loop = self._gate, self._loop
        if gate is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(gate.set if is_open else gate.clear)

    # -- observations -------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._records)

    def completion_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == "POST" and r.path != "/api/show"]

    def window_probes(self) -> list[RecordedRequest]:
        """Requests that asked for a model's context window (listing, /props, /api/show)."""
        probes = ("/v1/models", "/props", "/api/show")
        return [r for r in self.requests if r.path in probes]

    def answered_requests(self) -> list[RecordedRequest]:
        """Completion requests whose handler returned an answer (not cancelled or held)."""
        with self._lock:
            return [r for r in self._records if r.index in self._answered]

    @property
    def peak_concurrency(self) -> int:
        with self._lock:
            return self._peak

    @property
    def in_flight(self) -> int:
        with self._lock:
            return self._in_flight

    @property
    def base_url(self) -> str:
        if not self._port:
            raise RuntimeError("the fake provider server is not running")
        return f"http://127.0.0.1:{self._port}"

    @property
    def openai_url(self) -> str:
        return self.base_url + "/v1"

    # -- running in the caller's loop ---------------------------------------------------

    async def start(self, port: int = 0) -> str:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self._openai_chat)
        app.router.add_post("/v1/messages", self._anthropic_messages)
        app.router.add_post("/api/chat", self._ollama_chat)
        app.router.add_get("/v1/models", self._v1_models)
        app.router.add_get("/api/tags", self._ollama_tags)
        app.router.add_get("/props", self._llama_props)
        app.router.add_post("/api/show", self._ollama_show)
        self._stopping = asyncio.Event()
        self._arrival = asyncio.Event()
        with self._lock:
            self._loop = asyncio.get_running_loop()
            self._gate = asyncio.Event()
            if self._gate_open:
                self._gate.set()
        # handler_cancellation: a hanging handler ends when its client disconnects.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        return self.base_url

    async def aclose(self) -> None:
        if self._stopping is not None:
            self._stopping.set()  # releases hanging handlers
        if self._gate is not None:
            self._gate.set()  # and held ones, which see the server stopping
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeProviderServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- running in a background thread -------------------------------------------------

    def start_in_thread(self, timeout: float = 10.0) -> str:
        ready = threading.Event()
        failure: list[BaseException] = []

        async def serve() -> None:
            self._thread_stop = asyncio.Event()
            try:
                await self.start()
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await self._thread_stop.wait()
            finally:
                await self.aclose()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._thread_loop = loop
            try:
                loop.run_until_complete(serve())
            finally:
                loop.close()

        self._thread = threading.Thread(target=run, name="fake-provider", daemon=True)
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("fake provider server did not start")
        if failure:
            raise failure[0]
        return self.base_url

    def stop(self) -> None:
        loop, stop_event, thread = self._thread_loop, self._thread_stop, self._thread
        if loop is None or stop_event is None or thread is None:
            return
        loop.call_soon_threadsafe(stop_event.set)
        thread.join(timeout=30)
        self._thread = self._thread_loop = self._thread_stop = None

    # -- request handling ---------------------------------------------------------------

    def _choose(self, node_path: str | None) -> tuple[Reply, int]:
        with self._lock:
            attempt = 0
            if node_path is not None:
                attempt = self._attempts.get(node_path, 0) + 1
                self._attempts[node_path] = attempt
                scripted = self._by_node.pop((node_path, attempt), None)
                if scripted is not None:
                    return scripted, attempt
            if self._queue:
                return self._queue.popleft(), attempt
            return self.default, attempt

    def _node_path(self, body: Any) -> str | None:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            return None
        users = [
            m.get("content")
            for m in body["messages"]
            if isinstance(m, dict) and m.get("role") == "user"
        ]
        if not users or not isinstance(users[-1], str):
            return None
        matches = self.path_pattern.findall(users[-1])
        return matches[-1] if matches else None

    async def _record(
        self, request: web.Request, wire: str, key: str | None
    ) -> tuple[RecordedRequest, bool]:
        """The request as recorded, and whether its body parsed as JSON."""
        raw = await request.read()
        try:
            body: Any = json.loads(raw) if raw else None
            parsed = True
        except ValueError:
            body, parsed = None, False
        node_path = self._node_path(body)
        with self._lock:
            index = len(self._records)
        record = RecordedRequest(
            index=index,
            method=request.method,
            path=request.path,
            wire=wire,
            headers={
                k.lower(): v for k, v in request.headers.items() if k.lower() not in SECRET_HEADERS
            },
            body=body,
            raw=raw,
            node_path=node_path,
            attempt=0,
            key=key,
        )
        return record, parsed

    def _store(self, record: RecordedRequest) -> None:
        with self._lock:
            self._records.append(record)
            self._arrived.notify_all()
        if self._arrival is not None:
            self._arrival.set()
        if self.on_request is not None:
            self.on_request(record.index + 1, record)

    async def wait_for_requests(self, count: int) -> None:
        """In the server's loop: return once ``count`` requests have arrived."""
        assert self._arrival is not None
        while len(self.requests) < count:
            self._arrival.clear()
            await self._arrival.wait()

    def wait_for_requests_blocking(self, count: int, timeout: float = 10.0) -> None:
        """From another thread (thread mode): block until ``count`` requests have arrived."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._records) >= count, timeout):
                raise TimeoutError(f"{count} requests did not arrive within {timeout} s")

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1

    async def _fault(self, request: web.Request, reply: Reply) -> web.StreamResponse | None:
        if reply.latency or self.latency:
            await asyncio.sleep(reply.latency or self.latency)
        if reply.fault is Fault.HANG:
            assert self._stopping is not None
            await self._stopping.wait()
            return web.Response(status=503, text="server stopping")
        if reply.fault is Fault.CLOSE:
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        if reply.fault is Fault.MALFORMED:
            return web.Response(
                status=200, text='{"choices": [{"message": ', content_type="application/json"
            )
        return None

    def _error_reply(self, reply: Reply, wire: str, key: str | None) -> web.Response:
        message = (reply.error_message or "scripted failure").replace("{presented_key}", key or "")
        if wire == "anthropic":
            body = anthropic_error(
                reply.status, message, type=reply.error_type, code=reply.error_code
            )
        elif wire == "ollama":
            body = ollama_error(message)
        else:
            body = openai_error(reply.status, message, type=reply.error_type, code=reply.error_code)
        return web.json_response(body, status=reply.status, headers=reply.headers)

    async def _serve(
        self,
        request: web.Request,
        wire: str,
        key: str | None,
        validate: Callable[[RecordedRequest, bool], None],
    ) -> web.StreamResponse:
        self._enter()
        try:
            record, parsed = await self._record(request, wire, key)
            try:
                validate(record, parsed)
            except Rejected as rejected:
                self._store(record)
                return web.json_response(rejected.body, status=rejected.status)
            reply, attempt = self._choose(record.node_path)
            self._store(replace(record, attempt=attempt))
            assert self._gate is not None and self._stopping is not None
            await self._gate.wait()
            if self._stopping.is_set():
                return web.Response(status=503, text="server stopping")
            faulted = await self._fault(request, reply)
            if faulted is not None:
                answer = faulted
            elif reply.status >= 300:
                answer = self._error_reply(reply, wire, key)
            else:
                answer = self._success(record, reply, wire)
            if not self._stopping.is_set():  # a hang released by stop() answered nothing
                with self._lock:
                    self._answered.add(record.index)
            return answer
        finally:
            self._leave()

    def _success(self, record: RecordedRequest, reply: Reply, wire: str) -> web.StreamResponse:
        body = record.body
        model = reply.model or body["model"]
        content = reply.content if reply.content is not None else _default_content(record.node_path)
        if wire == "openai":
            data = openai_completion(reply, content, model, record.index)
        elif wire == "anthropic":
            data = anthropic_completion(reply, content, model, record.index)
        elif body.get("stream", True) is not False:
            lines = "".join(json.dumps(c) + "\n" for c in ollama_chunks(reply, content, model))
            return web.Response(
                text=lines, content_type="application/x-ndjson", headers=reply.headers
            )
        else:
            data = ollama_completion(reply, content, model)
        return web.json_response(data, headers=reply.headers)

    # -- wire formats -------------------------------------------------------------------

    async def _openai_chat(self, request: web.Request) -> web.StreamResponse:
        key = _bearer(request)

        def validate(record: RecordedRequest, parsed: bool) -> None:
            check_openai(
                record.body, parsed=parsed, key=key, expected_key=self.api_key, models=self.models
            )

        return await self._serve(request, "openai", key, validate)

    async def _anthropic_messages(self, request: web.Request) -> web.StreamResponse:
        key = request.headers.get("x-api-key")
        names = {name.lower() for name in request.headers}

        def validate(record: RecordedRequest, parsed: bool) -> None:
            check_anthropic(
                record.body,
                parsed=parsed,
                headers=names,
                key=key,
                expected_key=self.api_key,
                models=self.models,
            )

        return await self._serve(request, "anthropic", key, validate)

    async def _ollama_chat(self, request: web.Request) -> web.StreamResponse:
        def validate(record: RecordedRequest, parsed: bool) -> None:
            check_ollama(record.body, parsed=parsed, models=self.models)

        return await self._serve(request, "ollama", _bearer(request), validate)

    async def _v1_models(self, request: web.Request) -> web.StreamResponse:
        anthropic = "anthropic-version" in request.headers or "x-api-key" in request.headers
        wire = "anthropic" if anthropic else "openai"
        key = request.headers.get("x-api-key") if anthropic else _bearer(request)
        record, _ = await self._record(request, wire, key)
        self._store(record)
        if self.api_key is not None and key != self.api_key:
            error = (
                anthropic_error(401, "invalid x-api-key")
                if anthropic
                else openai_error(401, "Incorrect API key provided.", code="invalid_api_key")
            )
            return web.json_response(error, status=401)
        if self.models_reply is not None:
            return self._error_reply(self.models_reply, wire, key)
        if anthropic:
            return web.json_response(anthropic_models(self.models))
        listed = openai_models(self.models)
        for entry in listed["data"]:
            if entry["id"] in self.listing_windows:
                entry[self.listing_window_field] = self.listing_windows[entry["id"]]
        return web.json_response(listed)

    async def _llama_props(self, request: web.Request) -> web.StreamResponse:
        record, _ = await self._record(request, "openai", _bearer(request))
        self._store(record)
        if self.props_n_ctx is None:
            return web.json_response({"error": "not found"}, status=404)
        settings = {"n_ctx": self.props_n_ctx, "params": {"n_predict": -1}}
        return web.json_response({"default_generation_settings": settings, "total_slots": 1})

    async def _ollama_show(self, request: web.Request) -> web.StreamResponse:
        record, _ = await self._record(request, "ollama", _bearer(request))
        self._store(record)
        info: dict[str, Any] = {"general.architecture": "llama"}
        if self.show_context_length is not None:
            info["llama.context_length"] = self.show_context_length
        return web.json_response({"modelfile": "", "parameters": "", "model_info": info})

    async def _ollama_tags(self, request: web.Request) -> web.StreamResponse:
        record, _ = await self._record(request, "ollama", _bearer(request))
        self._store(record)
        if self.models_reply is not None:
            return self._error_reply(self.models_reply, "ollama", None)
        return web.json_response(ollama_tags(self.models))


def _bearer(request: web.Request) -> str | None:
    value = request.headers.get("Authorization", "")
    return value.removeprefix("Bearer ") if value.startswith("Bearer ") else None


def _default_content(node_path: str | None) -> str:
    if node_path is None:
        return "ok"
    return f"# {node_path}\n\nSummary of {node_path} from the fake provider.\n"


# -- process mode ---------------------------------------------------------------------------


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run the fake LLM provider server.")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0, help="Seconds before each answer.")
    parser.add_argument("--model", action="append", dest="models", help="Offered model (repeat).")
    parser.add_argument("--api-key-env", help="Require the key held by this variable.")
    parser.add_argument("--default-reply", help="A Reply as JSON, used for every request.")
    parser.add_argument("--script", action="append", default=[], help="A Reply as JSON, in order.")
    parser.add_argument("--path-pattern", default=r"Path: (\S+)")
    parser.add_argument(
        "--stop-on-stdin-eof", action="store_true", help="Also stop when stdin is closed."
    )
    return parser.parse_args(argv)


async def _serve_process(args: argparse.Namespace) -> None:
    server = FakeProviderServer(
        models=args.models or DEFAULT_MODELS,
        api_key=os.environ[args.api_key_env] if args.api_key_env else None,
        path_pattern=args.path_pattern,
        default=Reply.from_json(args.default_reply) if args.default_reply else None,
        latency=args.latency,
    )
    server.script(*(Reply.from_json(text) for text in args.script))
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, done.set)
    if args.stop_on_stdin_eof:
        loop.add_reader(sys.stdin.fileno(), lambda: None if sys.stdin.readline() else done.set())
    await server.start(args.port)
    try:
        print(f"READY {server.base_url}", flush=True)
        await done.wait()
    finally:
        await server.aclose()
        if args.stop_on_stdin_eof:
            loop.remove_reader(sys.stdin.fileno())


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_serve_process(_parse_args(argv)))


if __name__ == "__main__":
    main()
