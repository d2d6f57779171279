"""HTTP transport for the wire adapters: one shared aiohttp session and one exchange call.

Owns the session's lifetime (created inside the running loop by ``ProviderHttp``, closed on
exit), proxy and CA settings from the usual environment variables, the connector limit, the
per-request connect and total timeouts, the cap on an answer's size (``max_response_bytes``,
checked against ``Content-Length`` and again while the body streams, so an endless answer
costs at most the cap: ``ResponseTooLargeError``), and the translation of every transport
exception into a ``ClientTimeoutError`` or ``ConnectionFailedError``. It never retries, never
follows redirects (a key must not travel to another host) and never logs headers.
"""

from __future__ import annotations

import asyncio
import functools
import os
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType

import aiohttp
from aiohttp.helpers import get_env_proxy_for_url
from yarl import URL

from contextree.config.generation import GenerationSettings
from contextree.config.settings import ProviderSettings
from contextree.errors import (
    ClientTimeoutError,
    ConnectionFailedError,
    ProviderConfigError,
    ResponseTooLargeError,
)
from contextree.providers.classify import scrub
from contextree.providers.profiles import ProfileTimeouts
from contextree.version import __version__

USER_AGENT = f"contextree/{__version__}"
_CA_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
_Proxy = tuple[URL | None, aiohttp.BasicAuth | None]
#: Bytes of one answer read at most unless the caller says otherwise (the documented default).
DEFAULT_MAX_RESPONSE_BYTES: int = GenerationSettings.model_fields["max_response_bytes"].default


@dataclass(frozen=True, kw_only=True, slots=True)
class HttpReply:
    """A complete HTTP answer; ``headers`` has lower-case names."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed_s: float


def ssl_context(environ: Mapping[str, str]) -> ssl.SSLContext | bool:
    """The system trust store plus the CA bundles named by ``SSL_CERT_FILE``,
    ``SSL_CERT_DIR``, ``REQUESTS_CA_BUNDLE`` or ``CURL_CA_BUNDLE`` (corporate proxies).
    ``True`` when they name nothing beyond the system store (unset, or the very files it
    loads anyway, as many CI images set them): aiohttp's own verifying context, built when
    it is imported, is then the same thing, and building another costs a tenth of a second
    or more per run."""
    known = _system_store()
    chosen: list[tuple[str, str]] = []
    for var in _CA_VARS:
        path = environ.get(var, "")
        if path and (real := os.path.realpath(path)) not in known:
            known.add(real)
            chosen.append((var, path))
    return _cached_context(tuple(chosen)) if chosen else True


def _system_store() -> set[str]:
    """The files and directories ``ssl.create_default_context`` loads, resolved."""
    paths = ssl.get_default_verify_paths()
    found = (paths.cafile, paths.capath, paths.openssl_cafile, paths.openssl_capath)
    return {os.path.realpath(p) for p in found if p}


@functools.lru_cache(maxsize=4)
def _cached_context(bundles: tuple[tuple[str, str], ...]) -> ssl.SSLContext:
    # Loading the trust store takes tens of milliseconds; one context is safe to share.
    context = ssl.create_default_context()
    context.set_alpn_protocols(("http/1.1",))  # as aiohttp's own context does
    for var, path in bundles:
        try:
            if var == "SSL_CERT_DIR":
                context.load_verify_locations(capath=path)
            else:
                context.load_verify_locations(cafile=path)
        except (OSError, ssl.SSLError) as exc:
            raise ProviderConfigError(
                f"cannot load the CA certificates named by {var} ({path}): {exc}",
                hint=f"Point {var} at a readable PEM bundle, or unset it.",
            ) from exc
    return context


def display_url(url: str) -> str:
    """``url`` without query or fragment, fit for a message."""
    return url.split("?", 1)[0].split("#", 1)[0]


class ProviderHttp:
    """Owner of the one aiohttp session all HTTP providers share.

    Use as ``async with ProviderHttp(settings) as http:``; the session is made inside the
    running loop and closed on exit. No answer is read beyond ``max_response_bytes``.
    """

    def __init__(
        self,
        settings: ProviderSettings,
        *,
        environ: Mapping[str, str] | None = None,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self._settings = settings
        self._environ = os.environ if environ is None else environ
        self._max_response_bytes = max_response_bytes
        self._session: aiohttp.ClientSession | None = None
        self._proxies: dict[str, _Proxy] = {}

    async def __aenter__(self) -> ProviderHttp:
        connector = aiohttp.TCPConnector(
            limit=self._settings.connector_limit,
            limit_per_host=self._settings.connector_limit_per_host,
            ssl=ssl_context(self._environ),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            # Not trust_env: besides proxies it attaches ~/.netrc credentials to every request
            # (aiohttp then refuses requests that carry their own Authorization header) and
            # costs two thread hops per request. Proxies are looked up in ``_proxy_for``.
            trust_env=False,
            headers={"User-Agent": USER_AGENT},
            timeout=aiohttp.ClientTimeout(total=None),  # every request passes its own
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("ProviderHttp is used outside its `async with` block")
        return self._session

    async def exchange(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str],
        body: bytes | None,
        timeouts: ProfileTimeouts,
        secrets: tuple[str, ...] = (),
    ) -> HttpReply:
        """One request and its whole answer; transport failures become provider errors."""
        timeout = aiohttp.ClientTimeout(total=timeouts.total, sock_connect=timeouts.connect)
        where = display_url(url)
        started = time.perf_counter()
        proxy, proxy_auth = await self._proxy_for(url)
        try:
            async with self.session.request(
                method,
                url,
                data=body,
                headers=dict(headers),
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                proxy_auth=proxy_auth,
            ) as response:
                status = response.status
                data = await self._read_capped(response, where)
                reply_headers = {k.lower(): v for k, v in response.headers.items()}
        except aiohttp.ConnectionTimeoutError as exc:
            raise ClientTimeoutError(
                f"could not connect to {where} within {timeouts.connect:g} s",
                hint="Check that the server is reachable, or raise [timeouts] connect in the "
                "provider profile.",
            ) from exc
        except TimeoutError as exc:  # asyncio.TimeoutError and aiohttp's read timeouts alike
            raise ClientTimeoutError(
                f"no answer from {where} within {timeouts.total:g} s",
                hint="Raise [timeouts] total in the provider profile if the server is just slow.",
            ) from exc
        except aiohttp.InvalidURL as exc:
            raise ProviderConfigError(
                f"{where} is not a URL contextree can request",
                hint="Fix base_url in the provider profile.",
            ) from exc
        except aiohttp.ClientConnectorCertificateError as exc:
            raise ConnectionFailedError(
                f"TLS certificate of {where} not trusted: {scrub(str(exc), secrets)}",
                retryable=False,
                hint="Point SSL_CERT_FILE or REQUESTS_CA_BUNDLE at your CA bundle.",
            ) from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise ConnectionFailedError(
                f"connection to {where} failed: {scrub(_describe(exc), secrets)}",
                hint="Check that the server is running and base_url is right.",
            ) from exc
        return HttpReply(
            status=status,
            headers=reply_headers,
            body=data,
            elapsed_s=time.perf_counter() - started,
        )

    async def _read_capped(self, response: aiohttp.ClientResponse, where: str) -> bytes:
        """The whole body, read as it streams, or ``ResponseTooLargeError`` as soon as it is
        known to be longer than the cap (the connection is then closed, not drained)."""
        limit = self._max_response_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            response.close()
            raise _too_large(
                f"{where} answered HTTP {response.status} with {declared:,} bytes "
                f"(Content-Length), more than max_response_bytes = {limit:,}; none of it was read",
                response.status,
            )
        body = bytearray()
        async for chunk in response.content.iter_any():
            body += chunk
            if len(body) > limit:
                response.close()
                raise _too_large(
                    f"{where} answered HTTP {response.status} with more than "
                    f"max_response_bytes = {limit:,} bytes; reading stopped there",
                    response.status,
                )
        return bytes(body)

    async def _proxy_for(self, url: str) -> _Proxy:
        """The proxy ``HTTP(S)_PROXY`` and ``NO_PROXY`` give for ``url``, looked up once per
        origin (the lookup may read ``~/.netrc`` for the proxy's own credentials)."""
        scheme, _, rest = url.partition("://")
        origin = f"{scheme}://{rest.split('/', 1)[0]}"
        found = self._proxies.get(origin)
        if found is None:
            found = await asyncio.to_thread(_env_proxy, origin)
            self._proxies[origin] = found
        return found


def _env_proxy(origin: str) -> _Proxy:
    try:
        return get_env_proxy_for_url(URL(origin))
    except (LookupError, ValueError):  # no proxy for it, or not a URL (the request says so)
        return None, None


def _too_large(message: str, status: int) -> ResponseTooLargeError:
    return ResponseTooLargeError(
        message,
        status=status,
        hint="Check that base_url points at the API itself; if answers really are that long, "
        "raise [generation] max_response_bytes.",
    )


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
