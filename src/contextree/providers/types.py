"""The data that crosses the provider boundary: requests, options and the node's subject.

Owns the typed shapes an orchestration layer hands to a provider client (the messages and the
response are ``core.messages``). They are frozen, keyword-only values with no behaviour beyond
small derived views; they know nothing about HTTP, wire formats or configuration files.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum

from contextree.core.ids import NodeKind
from contextree.core.messages import ChatMessage


class ProviderType(StrEnum):
    """The wire formats contextree speaks (``structural`` speaks none: it is offline)."""

    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    OLLAMA = "ollama"
    STRUCTURAL = "structural"


@dataclass(frozen=True, kw_only=True, slots=True)
class CompletionOptions:
    """Sampling options; ``None`` means "not set", so the server's default applies.

    Not every API knows every option: Anthropic has no penalties or seed, and an adapter
    leaves out what its API does not accept rather than failing.
    """

    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: tuple[str, ...] | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    #: The context window the prompt was fitted to (Ollama's ``num_ctx``; other formats
    #: have no such option and leave it out).
    context_window: int | None = None

    def merged(self, override: CompletionOptions | None) -> CompletionOptions:
        """These options with every field that ``override`` sets replaced by its value."""
        if override is None:
            return self
        changes = {
            f.name: getattr(override, f.name)
            for f in fields(override)
            if getattr(override, f.name) is not None
        }
        return replace(self, **changes)


@dataclass(frozen=True, kw_only=True, slots=True)
class FileSubject:
    """A file node: its workspace-relative POSIX path and the bytes the scan read.

    ``data`` may be a prefix of the file (prompt collection caps it); ``size`` is always the
    whole file's size.
    """

    path: str
    data: bytes
    size: int

    @property
    def truncated(self) -> bool:
        return len(self.data) < self.size


@dataclass(frozen=True, kw_only=True, slots=True)
class ChildFrame:
    """One child of a directory and the text of its current frame (same agent and type)."""

    name: str
    path: str
    kind: NodeKind
    content: str


@dataclass(frozen=True, kw_only=True, slots=True)
class DirectorySubject:
    """A directory node: its path and its children's frames, so no one parses prompt text."""

    path: str
    children: tuple[ChildFrame, ...]


Subject = FileSubject | DirectorySubject


@dataclass(frozen=True, kw_only=True, slots=True)
class ProviderRequest:
    """One completion request. ``model`` and ``options`` fall back to the profile's."""

    messages: tuple[ChatMessage, ...]
    model: str | None = None
    options: CompletionOptions | None = None
    subject: Subject | None = None
