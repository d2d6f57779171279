"""Provider clients: the wire adapters, their registry, error classification and transport.

The public surface, for the orchestration layer and the CLI::

    registry = ProviderRegistry.load(user_dir=..., workspace_dir=...)
    registry.preflight(name)                      # unknown name or unset key: fails now
    async with ProviderHttp(settings.providers) as http:
        client = registry.client(name, http)
        response = await client.complete(ProviderRequest(messages=..., subject=...))

``complete`` returns a whole ``ProviderResponse`` or raises a ``ProviderError`` whose
``retryable`` and ``retry_after`` tell the queue what to do. Nothing here retries.
"""

from contextree.core.messages import ChatMessage, ProviderResponse, Role
from contextree.providers.base import ProviderClient
from contextree.providers.http import ProviderHttp
from contextree.providers.probe import ProbeResult, probe
from contextree.providers.profiles import (
    STRUCTURAL,
    STRUCTURAL_MODEL,
    ProviderProfile,
    write_profile_file,
)
from contextree.providers.registry import (
    KeyStatus,
    LoadedProfile,
    ProfileProblem,
    ProfileSource,
    ProviderRegistry,
    key_status,
)
from contextree.providers.types import (
    ChildFrame,
    CompletionOptions,
    DirectorySubject,
    FileSubject,
    ProviderRequest,
    ProviderType,
    Subject,
)

__all__ = [
    "STRUCTURAL",
    "STRUCTURAL_MODEL",
    "ChatMessage",
    "ChildFrame",
    "CompletionOptions",
    "DirectorySubject",
    "FileSubject",
    "KeyStatus",
    "LoadedProfile",
    "ProbeResult",
    "ProfileProblem",
    "ProfileSource",
    "ProviderClient",
    "ProviderHttp",
    "ProviderProfile",
    "ProviderRegistry",
    "ProviderRequest",
    "ProviderResponse",
    "ProviderType",
    "Role",
    "Subject",
    "key_status",
    "probe",
    "write_profile_file",
]
