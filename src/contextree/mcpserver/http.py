"""The MCP server over streamable HTTP, and the checks that keep it from being a way in.

Owns ``HttpOptions`` and their rules, the bearer-token check, and serving the SDK's
streamable-HTTP app with uvicorn. The rules: the server listens on 127.0.0.1 unless ``--host``
names another address (never a wildcard such as 0.0.0.0: the Host check needs the name clients
use); the Host and Origin headers are always checked against that address and the loopback
names (the SDK's DNS-rebinding protection: a web page cannot reach the server through a name
that resolves to it); a non-loopback host, or ``refresh`` allowed over HTTP, needs a bearer
token read from the environment variable ``--token-env`` names, checked in constant time on
every request. The token is never logged or echoed.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import socket
import sys
from dataclasses import dataclass
from typing import Any

from contextree.errors import UsageError

MCP_PATH = "/mcp"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_WILDCARDS = ("0.0.0.0", "::", "")  # noqa: S104  # named here to be refused


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpOptions:
    """How to serve: the address, the port (0: any free one) and the bearer token (None:
    none is asked for)."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: str | None = None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def http_options(
    *, host: str, port: int, token_env: str | None, allow_generate: bool
) -> HttpOptions:
    """The checked options of ``contextree mcp --http``. Raises ``UsageError`` for a wildcard
    host, a port out of range, a missing token where one is required, or an unset or empty
    token variable."""
    if host in _WILDCARDS:
        raise UsageError(
            f"--host {host or '(empty)'} would listen on every interface, and the Host check "
            "needs the one name clients use",
            hint="Give the address or host name clients will connect to (--host 192.168.1.5), "
            "with --token-env.",
        )
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be between 0 and 65535, not {port}")
    needs_token = not is_loopback(host) or allow_generate
    if token_env is None:
        if needs_token:
            why = (
                f"--host {host} is reachable from other machines"
                if not is_loopback(host)
                else "--allow-generate over HTTP lets any local process spend provider calls"
            )
            raise UsageError(
                f"{why}, so the server needs a bearer token",
                hint="Put a long random token in an environment variable and name it: "
                "`export CONTEXTREE_MCP_TOKEN=$(python3 -c 'import secrets; "
                "print(secrets.token_urlsafe(32))')` then `--token-env CONTEXTREE_MCP_TOKEN`.",
            )
        return HttpOptions(host=host, port=port)
    token = os.environ.get(token_env, "")
    if not token.strip():
        raise UsageError(
            f"--token-env {token_env}: the variable is unset or empty",
            hint=f"Set {token_env} to a long random token in the server's environment; "
            "clients send it as `Authorization: Bearer <token>`.",
        )
    return HttpOptions(host=host, port=port, token=token)


def allowed_hosts(host: str) -> list[str]:
    """The Host header values accepted (any port): the served address and the loopback names."""
    names = dict.fromkeys([host, *LOOPBACK_HOSTS])
    return [f"[{n}]:*" if ":" in n else f"{n}:*" for n in names]


def allowed_origins(host: str) -> list[str]:
    """The Origin header values accepted (a request without one is not a browser's)."""
    return [f"{scheme}://{h}" for h in allowed_hosts(host) for scheme in ("http", "https")]


class BearerCheck:
    """ASGI middleware: every HTTP request must carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: Any, token: str) -> None:
        self._app = app
        self._token = token.encode("utf-8")

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and not self._authorized(scope):
            body = (
                b"missing or wrong bearer token: send the token from the server's --token-env "
                b"variable as `Authorization: Bearer <token>`\n"
            )
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [
                        (b"content-type", b"text/plain; charset=utf-8"),
                        (b"www-authenticate", b'Bearer realm="contextree"'),
                        (b"content-length", str(len(body)).encode("ascii")),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self._app(scope, receive, send)

    def _authorized(self, scope: dict[str, Any]) -> bool:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"authorization":
                scheme, _, given = bytes(value).partition(b" ")
                return scheme.lower() == b"bearer" and hmac.compare_digest(
                    given.strip(), self._token
                )
        return False


def build_app(server: Any, options: HttpOptions) -> Any:
    """The ASGI app: the SDK's streamable-HTTP app with Host/Origin checks always on, behind
    the bearer check when there is a token."""
    from mcp.server.transport_security import TransportSecuritySettings

    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed_hosts(options.host),
        allowed_origins=allowed_origins(options.host),
    )
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, transport_security=security, host=options.host
    )
    return BearerCheck(app, options.token) if options.token else app


async def serve_http(server: Any, options: HttpOptions) -> None:
    """Listen on ``options.host:options.port`` and serve until interrupted. Prints one line to
    stderr with the URL (the port the system chose, for port 0) once it is listening."""
    import uvicorn

    family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((options.host, options.port))
        sock.listen(128)  # connections made from now on wait in the backlog, never refused
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {options.host}:{options.port} ({exc.strerror or exc})",
            hint="Pick another port with --port (0 lets the system choose one).",
        ) from None
    port = sock.getsockname()[1]
    shown = f"[{options.host}]" if ":" in options.host else options.host
    config = uvicorn.Config(
        build_app(server, options), log_level="warning", access_log=False, lifespan="on"
    )
    sys.stderr.write(f"contextree mcp: serving http://{shown}:{port}{MCP_PATH}\n")
    sys.stderr.flush()
    await uvicorn.Server(config).serve(sockets=[sock])
