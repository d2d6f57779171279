"""The shared skeleton of the HTTP adapters: key, body, exchange, classification, checks.

Owns the steps every wire format takes in the same order: read the key from the environment
at call time (failing before any I/O if it is unset), merge the profile's default options
under the request's, serialise the body once (those exact bytes are sent and returned), send
it, classify a failure (enriching model-not-found with the provider's model list), and refuse
a completion that was cut off, filtered or empty. Subclasses only say how their wire format
looks: paths, auth headers, body shape and reply parsing.
"""

from __future__ import annotations

import json
import os
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contextree.core.messages import ChatMessage, ProviderResponse
from contextree.errors import (
    ContentFilteredError,
    EmptyCompletionError,
    MalformedResponseError,
    ModelNotFoundError,
    ProviderConfigError,
    TruncatedError,
)
from contextree.providers.base import ProviderClient
from contextree.providers.classify import (
    CallContext,
    classify_body_error,
    classify_http,
    error_detail,
    excerpt,
)
from contextree.providers.enrich import enrich_model_not_found
from contextree.providers.http import HttpReply, ProviderHttp, display_url
from contextree.providers.profiles import ProfileTimeouts, ProviderProfile
from contextree.providers.types import CompletionOptions, ProviderRequest

_LIST_TIMEOUT_S = 10.0


@dataclass(frozen=True, kw_only=True, slots=True)
class Completion:
    """A parsed 2xx reply, before the whole-or-not checks."""

    content: str
    model: str | None
    tokens_in: int
    tokens_out: int
    finish_reason: str
    truncated: bool = False
    filtered: bool = False


def option_fields(options: CompletionOptions, *, max_tokens_name: str) -> dict[str, Any]:
    """The sampling options the OpenAI-shaped formats share, unset ones left out; they differ
    only in what they call the output-length limit."""
    pairs: dict[str, Any] = {
        "temperature": options.temperature,
        max_tokens_name: options.max_tokens,
        "top_p": options.top_p,
        "stop": list(options.stop) if options.stop is not None else None,
        "frequency_penalty": options.frequency_penalty,
        "presence_penalty": options.presence_penalty,
        "seed": options.seed,
    }
    return {name: value for name, value in pairs.items() if value is not None}


def url_path(url: str) -> str:
    """The path of ``url`` (``""`` for a bare ``scheme://host[:port]``)."""
    _, _, rest = url.partition("://")
    _, slash, path = rest.partition("/")
    return slash + path


def without_suffix(base: str, *suffixes: str) -> str:
    """``base`` less the first of ``suffixes`` its path ends with (a whole path segment)."""
    path = url_path(base)
    for suffix in suffixes:
        if path.endswith(suffix):
            return base[: len(base) - len(suffix)]
    return base


def encode_body(body: Mapping[str, Any]) -> bytes:
    """The one serialisation of a request body (compact, UTF-8, key order kept)."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class HttpProviderClient(ProviderClient):
    """A provider reached over HTTP with one of the supported wire formats."""

    chat_path: str
    models_path: str

    def __init__(
        self,
        profile: ProviderProfile,
        http: ProviderHttp,
        *,
        environ: Mapping[str, str] | None = None,
        enrich_model_errors: bool = True,
    ) -> None:
        self.name = profile.name
        self.type = profile.type
        self.profile = profile
        self._http = http
        self._environ = os.environ if environ is None else environ
        self._enrich = enrich_model_errors
        self._base = self.api_base(profile.effective_base_url.rstrip("/"))

    # -- what a wire format defines ------------------------------------------------------

    def api_base(self, base: str) -> str:
        """The URL ``chat_path`` and ``models_path`` are appended to, from the profile's
        ``base_url`` (without a trailing slash). Formats whose paths start with ``/v1`` drop
        a ``/v1`` the user wrote, so ``https://host`` and ``https://host/v1`` both work."""
        return base

    @abstractmethod
    def auth_headers(self, key: str | None) -> dict[str, str]:
        """Headers that carry the key (and any version pin) for this API."""

    @abstractmethod
    def build_body(
        self, messages: tuple[ChatMessage, ...], model: str, options: CompletionOptions
    ) -> dict[str, Any]:
        """The JSON request body, with unset options left out."""

    @abstractmethod
    def parse_completion(self, body: bytes) -> Completion:
        """Parse a 2xx body; raise ``ValidationError`` if it is not the promised shape."""

    @abstractmethod
    def parse_models(self, body: bytes) -> list[str]:
        """Parse the model-list body; raise ``ValidationError`` if malformed."""

    @property
    def chat_url(self) -> str:
        """Where completions are requested."""
        return self._base + self.chat_path

    @property
    def models_url(self) -> str:
        """Where the model list is requested."""
        return self._base + self.models_path

    # -- the shared steps ----------------------------------------------------------------

    def api_key(self) -> str | None:
        """The key, read from its environment variable now; ``None`` if none is needed."""
        var = self.profile.key_env
        if var is None:
            return None
        value = self._environ.get(var, "").strip()
        if not value:
            raise ProviderConfigError(
                f"provider {self.name!r} needs an API key, but the environment variable "
                f"{var} is not set",
                hint=f"Export {var}=<your key> before running contextree (it is read at call "
                "time and never stored), or name another variable with api_key_env in the "
                "profile.",
            )
        return value

    def _context(self, url: str, model: str, key: str | None) -> CallContext:
        return CallContext(
            provider=self.name,
            url=display_url(url),
            model=model,
            key_env=self.profile.key_env,
            secrets=(key,) if key else (),
            context_window=self.profile.context_window,
        )

    def _headers(self, key: str | None, *, has_body: bool) -> dict[str, str]:
        headers = {"Accept": "application/json", **self.auth_headers(key)}
        if has_body:
            headers["Content-Type"] = "application/json"
        return headers

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        key = self.api_key()  # before any I/O: an unset variable must not cost a request
        model = request.model or self.profile.effective_model
        options = self.profile.default_options().merged(request.options)
        body = encode_body(self.build_body(request.messages, model, options))
        url = self.chat_url
        ctx = self._context(url, model, key)
        reply = await self._http.exchange(
            "POST",
            url,
            headers=self._headers(key, has_body=True),
            body=body,
            timeouts=self.profile.timeouts,
            secrets=ctx.secrets,
        )
        if not 200 <= reply.status < 300:
            error = classify_http(reply.status, reply.headers, reply.body, ctx)
            if isinstance(error, ModelNotFoundError) and self._enrich:
                raise await enrich_model_not_found(error, self.list_models) from error
            raise error
        completion = self._parse(reply, ctx)
        self._check_whole(completion, ctx, options)
        return ProviderResponse(
            content=completion.content,
            served_model=completion.model or model,
            tokens_in=completion.tokens_in,
            tokens_out=completion.tokens_out,
            finish_reason=completion.finish_reason,
            latency_s=reply.elapsed_s,
            request_body=body,
        )

    async def list_models(self) -> list[str]:
        key = self.api_key()
        url = self.models_url
        ctx = self._context(url, self.profile.effective_model, key)
        timeouts = ProfileTimeouts(
            connect=self.profile.timeouts.connect,
            total=min(self.profile.timeouts.total, _LIST_TIMEOUT_S),
        )
        reply = await self._http.exchange(
            "GET",
            url,
            headers=self._headers(key, has_body=False),
            body=None,
            timeouts=timeouts,
            secrets=ctx.secrets,
        )
        if not 200 <= reply.status < 300:
            raise classify_http(reply.status, reply.headers, reply.body, ctx)
        try:
            return sorted(set(self.parse_models(reply.body)))
        except ValidationError as exc:
            raise self._malformed(reply, ctx, "a model list") from exc

    async def fetch_json(self, method: str, url: str, body: Any = None) -> Any:
        """A short informational request (``GET``, or ``POST`` with a JSON ``body``): the
        parsed JSON of a 2xx answer, else None. Raises only ``ProviderError`` for a server
        that could not be reached (connection refused, timeout); never for what it answered."""
        key = self.api_key()
        ctx = self._context(url, self.profile.effective_model, key)
        timeouts = ProfileTimeouts(
            connect=self.profile.timeouts.connect,
            total=min(self.profile.timeouts.total, _LIST_TIMEOUT_S),
        )
        reply = await self._http.exchange(
            method,
            url,
            headers=self._headers(key, has_body=body is not None),
            body=None if body is None else encode_body(body),
            timeouts=timeouts,
            secrets=ctx.secrets,
        )
        if not 200 <= reply.status < 300:
            return None
        try:
            return json.loads(reply.body)
        except ValueError:
            return None

    @property
    def server_root(self) -> str:
        """The server itself: the API base less a trailing ``/v1``."""
        return without_suffix(self._base, "/v1")

    def _parse(self, reply: HttpReply, ctx: CallContext) -> Completion:
        try:
            return self.parse_completion(reply.body)
        except ValidationError as exc:
            detail = error_detail(reply.body)
            named = classify_body_error(detail, ctx)
            raise (named or self._malformed(reply, ctx, "a completion")) from exc

    def _malformed(self, reply: HttpReply, ctx: CallContext, what: str) -> MalformedResponseError:
        quoted = excerpt(reply.body.decode("utf-8", errors="replace"), ctx.secrets)
        return MalformedResponseError(
            f"{self.name}: {ctx.url} answered HTTP {reply.status} with something that is not "
            f"{what} in the {self.type} format: {quoted or '(empty body)'}",
            status=reply.status,
            hint="Check that base_url points at the API itself and type matches the server.",
        )

    def _check_whole(
        self, completion: Completion, ctx: CallContext, options: CompletionOptions
    ) -> None:
        if completion.filtered:
            raise ContentFilteredError(
                f"{self.name}: model {ctx.model!r} refused or filtered the completion "
                f"(finish reason {completion.finish_reason!r})",
                hint="The provider will refuse this content again: leave the file out (an ignore "
                "pattern) or use another model.",
            )
        if completion.truncated:
            limit = f"max_tokens={options.max_tokens}" if options.max_tokens else "its default"
            raise TruncatedError(
                f"{self.name}: the completion from model {ctx.model!r} was cut off at the "
                f"output length limit ({limit}); raise max_tokens under [options] in the "
                f"{self.name!r} provider profile",
                hint=f"Raise max_tokens under [options] in the {self.name!r} provider profile, "
                "then rerun (a cut-off completion is never stored as if it were whole).",
            )
        if not completion.content.strip():
            raise EmptyCompletionError(
                f"{self.name}: model {ctx.model!r} returned an empty completion "
                f"(finish reason {completion.finish_reason!r})",
                hint="It was asked again up to [generation] max_attempts times; if every "
                "answer is empty, try another model or check the prompt template.",
            )
