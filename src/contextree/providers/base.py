"""The provider client contract: the one small ABC every adapter implements.

Owns what a caller may rely on: ``complete`` returns a whole ``ProviderResponse`` or raises a
``ProviderError`` (with ``retryable`` and ``retry_after`` set) or a ``ProviderConfigError``;
``list_models`` names the models the provider offers. A client never retries and never lets a
transport or JSON exception escape.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from contextree.core.messages import ProviderResponse
from contextree.providers.types import ProviderRequest, ProviderType


class ProviderClient(ABC):
    """A configured provider: one profile's endpoint, credentials and defaults."""

    #: The profile name this client was built from (e.g. ``"local-vllm"``).
    name: str
    #: The wire format it speaks.
    type: ProviderType

    @abstractmethod
    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Send one request and return the whole completion, or raise a provider error."""

    @abstractmethod
    async def list_models(self) -> list[str]:
        """The model names the provider offers, sorted."""
