"""Fitting a prompt into a model's context window: the token arithmetic, as pure functions.

Owns ``Window`` (a provider's window in tokens, the reply reserve kept free in it, and the
``max_tokens`` a request may then ask for), the estimate of a prompt's tokens
(``core.tokens.estimate_tokens``, which errs high, plus a few tokens a message for the chat
template), the largest fitting value of a monotone cut (a binary search), a file's text cut at
a line boundary with a note that names the window, and the terminal error of a prompt that
does not fit even with nothing of the file or the children left. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from contextree.context.generation.contracts import TruncationFacts
from contextree.context.generation.prompt_text import ChildBlock, block, directory_context
from contextree.core.messages import ChatMessage
from contextree.core.tokens import estimate_tokens
from contextree.errors import ContextLengthError
from contextree.providers.profiles import ProviderProfile

#: Tokens a chat template adds around one message (role markers, separators), charged high.
MESSAGE_OVERHEAD = 8
#: The reply reserve when neither ``reply_reserve`` nor ``max_tokens`` is set: a quarter of
#: the window, at most this many tokens.
DEFAULT_RESERVE_CAP = 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Window:
    """A provider's context window in tokens and what of it the reply is kept."""

    provider: str
    size: int
    reserve: int
    #: The profile's own ``max_tokens`` (None: unset).
    max_tokens: int | None
    #: True when the profile sets ``context_window``; False when the server reported it.
    configured: bool

    @property
    def prompt_budget(self) -> int:
        """Tokens the prompt may take: the window less the reply reserve."""
        return self.size - self.reserve

    def max_tokens_for(self, prompt_tokens: int) -> int:
        """The request's ``max_tokens``: the profile's (else the reserve), never more than
        the window leaves after the prompt (and at least 1)."""
        return max(1, min(self.max_tokens or self.reserve, self.size - prompt_tokens))

    def note(self) -> str:
        """Names the window in a truncation note."""
        where = "" if self.configured else " (reported by the server)"
        return f"context_window = {self.size:,} tokens of provider {self.provider!r}{where}"


def window_for(profile: ProviderProfile, size: int | None) -> Window | None:
    """The window of ``profile`` when its size is known (configured, else ``size``)."""
    window = profile.context_window or size
    if window is None or window < 2:
        return None
    reserve = profile.reply_reserve or min(
        profile.options.max_tokens or DEFAULT_RESERVE_CAP, max(1, window // 4)
    )
    return Window(
        provider=profile.name,
        size=window,
        reserve=min(reserve, window - 1),
        max_tokens=profile.options.max_tokens,
        configured=profile.context_window is not None,
    )


def message_tokens(role_contents: Sequence[str]) -> int:
    """The estimated tokens of messages with these contents."""
    return sum(estimate_tokens(content) + MESSAGE_OVERHEAD for content in role_contents)


def prompt_tokens(messages: Sequence[ChatMessage]) -> int:
    """The estimated tokens of a prompt's messages."""
    return message_tokens([m.content for m in messages])


def largest_fit(high: int, fits: Callable[[int], bool]) -> int | None:
    """The largest ``n`` in ``[0, high]`` with ``fits(n)`` (``fits`` growing harder with
    ``n``), or None when not even 0 fits."""
    if not fits(0):
        return None
    low = 0
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


def line_cut(data: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of ``data``: whole lines where the kept part holds a line end,
    else cut at a character boundary (a UTF-8 character is never split)."""
    if limit >= len(data):
        return data
    head = data[:limit]
    newline = head.rfind(b"\n")
    if newline >= 0:
        return head[: newline + 1]
    end = limit
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


def fitted_note(kept: int, size: int, window: Window) -> str:
    """The note a file's text cut to fit the window ends with."""
    return (
        f"\n\n[Truncated: the first {kept:,} of {size:,} bytes are shown (cut to fit "
        f"{window.note()}).]"
    )


def does_not_fit(path: str, needed: int, window: Window, what: str) -> ContextLengthError:
    """The node's terminal error when its prompt does not fit even with ``what`` left out."""
    return ContextLengthError(
        f"{path}: the prompt needs about {needed:,} tokens even with {what} left out, more "
        f"than the {window.prompt_budget:,} that context_window = {window.size:,} less the "
        f"reply reserve of {window.reserve:,} leaves (provider profile {window.provider!r})",
        retryable=False,
        hint=f"Set a larger context_window in the provider profile {window.provider!r} if "
        "the model allows it, lower reply_reserve there, or shorten the agent's prompt "
        "templates.",
    )


def fit_file_text(
    data: bytes,
    *,
    size: int,
    window: Window,
    path: str,
    tokens_of: Callable[[str], int],
) -> tuple[str, int]:
    """The longest line-cut prefix of ``data`` (the file's text as the byte cap left it,
    ``size`` bytes in all) whose prompt fits ``window``, with its note, and its length in
    bytes; ``tokens_of`` gives the prompt's tokens for a content text."""

    def text_for(limit: int) -> tuple[str, int]:
        kept = line_cut(data, limit)
        return kept.decode("utf-8", "replace") + fitted_note(len(kept), size, window), len(kept)

    best = largest_fit(
        len(data), lambda limit: tokens_of(text_for(limit)[0]) <= window.prompt_budget
    )
    if best is None:
        raise does_not_fit(path, tokens_of(text_for(0)[0]), window, "all of the file's content")
    return text_for(best)


def fit_file_block(
    data: bytes,
    context: str,
    *,
    size: int,
    window: Window,
    path: str,
    tokens_of: Callable[[str | None], int],
) -> tuple[str, int] | None:
    """A file's ``Path:``/``Type:``/``Content:`` block cut to fit ``window`` and the bytes it
    keeps, or None when ``context`` (the block as the byte cap left it) already fits;
    ``tokens_of`` gives the prompt's tokens for a context text."""
    if tokens_of(context) <= window.prompt_budget:
        return None
    text, kept = fit_file_text(
        data,
        size=size,
        window=window,
        path=path,
        tokens_of=lambda t: tokens_of(block(path, "File", t)),
    )
    return block(path, "File", text), kept


def fit_budget(
    blocks: Sequence[ChildBlock],
    budget: int,
    *,
    window: Window,
    path: str,
    tokens_of: Callable[[str | None], int],
) -> int:
    """The largest directory context budget (at most ``budget``) whose prompt, with the
    children's ``blocks`` fitted into it, fits ``window``; ``tokens_of`` gives the prompt's
    tokens for a context text."""

    def tokens(limit: int) -> int:
        return tokens_of(directory_context(blocks, limit).text or None)

    if tokens(budget) <= window.prompt_budget:
        return budget
    best = largest_fit(budget, lambda limit: tokens(limit) <= window.prompt_budget)
    if best is None:
        raise does_not_fit(path, tokens(0), window, "every child's frame")
    return best


def cut_metadata(truncation: TruncationFacts) -> dict[str, str]:
    """The metadata entries saying what the prompt left out: ``content_bytes_kept`` and
    ``content_bytes_total`` for a file cut (by the byte cap or to fit the window),
    ``children_trimmed`` for a directory whose children's frames were cut or dropped."""
    out: dict[str, str] = {}
    if truncation.file_truncated and truncation.original_bytes is not None:
        out["content_bytes_kept"] = str(truncation.kept_bytes or 0)
        out["content_bytes_total"] = str(truncation.original_bytes)
    if truncation.children_cut:
        out["children_trimmed"] = str(len(truncation.children_cut))
    return out
