"""Model-not-found enrichment: tell the user which models the provider does offer.

Owns turning a bare ``ModelNotFoundError`` into one whose message lists the provider's models,
or says they could not be listed and why. It asks the provider once and never retries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from contextree.errors import ModelNotFoundError, ProviderConfigError, ProviderError

LISTED_MODELS = 25


async def enrich_model_not_found(
    error: ModelNotFoundError, list_models: Callable[[], Awaitable[list[str]]]
) -> ModelNotFoundError:
    """A copy of ``error`` whose message names the available models (at most 25)."""
    try:
        models = await list_models()
    except (ProviderError, ProviderConfigError) as exc:
        why = exc.error_class if isinstance(exc, ProviderError) else "configuration"
        extra = f"the models could not be listed ({why}: {exc.message})"
    else:
        if not models:
            extra = "the provider lists no models"
        else:
            shown = ", ".join(models[:LISTED_MODELS])
            more = len(models) - LISTED_MODELS
            extra = f"available models: {shown}" + (f" and {more} more" if more > 0 else "")
    return ModelNotFoundError(
        f"{error.message}\n{extra}",
        status=error.status,
        retry_after=error.retry_after,
        retryable=error.retryable,
        hint=error.hint,
    )
