"""Generation settings: the ``[generation]`` table of ``config.toml``.

Owns the knobs of a ``generate`` run: concurrency, retries and backoff, per-attempt timeout,
prompt budgets, and the generation scope (which files are withheld or summarised without an
LLM). The defaults here are the documented defaults; the template is generated from them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_SECRET_PATTERNS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".pgpass",
    ".npmrc",
    ".pypirc",
    "credentials",
    "credentials.*",
    "*credentials*.json",
    "secrets.*",
    "*.secret",
    ".htpasswd",
    ".git-credentials",
    # A slash anchors a pattern to the workspace root, hence the leading "**/".
    "**/.docker/config.json",
    "**/.kube/config",
    "*.tfvars",
    "*.tfstate*",
    "*private*key*",
    "*.ppk",
)

DEFAULT_STRUCTURAL_PATTERNS: tuple[str, ...] = (
    "*.lock",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "pnpm-lock.yaml",
    "go.sum",
    "*.min.js",
    "*.min.css",
    "*.map",
    "vendor/",
    "third_party/",
    "dist/",
    "*_pb2.py",
    "*_pb2_grpc.py",
    "*.pb.go",
    "*.generated.*",
)


class GenerationSettings(BaseModel):
    """How `contextree generate` runs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    concurrency: int = Field(
        default=8, ge=1, le=4096, description="Provider calls in flight at once, overall."
    )
    max_concurrency_per_agent: int = Field(
        default=0, ge=0, description="Calls in flight at once per agent; 0 means no extra limit."
    )
    prepare_ahead: int = Field(
        default=-1,
        ge=-1,
        le=4096,
        description=(
            "Nodes whose prompts are prepared while every call slot is busy, so a freed slot "
            "starts the next call at once; -1 means a quarter of the concurrency (at least 1), "
            "0 that a prompt is prepared only once a slot is free."
        ),
    )
    max_attempts: int = Field(
        default=4, ge=1, le=20, description="Attempts per node for retryable provider errors."
    )
    backoff_base_s: float = Field(
        default=1.0, ge=0, description="Base of the exponential backoff between attempts."
    )
    backoff_cap_s: float = Field(
        default=60.0, ge=0, description="Longest backoff between attempts (before Retry-After)."
    )
    max_retry_after_s: float = Field(
        default=120.0,
        ge=0,
        description=(
            "A Retry-After longer than this ends the node as quota_exhausted instead of waiting."
        ),
    )
    attempt_timeout_s: float = Field(
        default=0.0,
        ge=0,
        description=(
            "Wall-clock limit for one attempt on top of the provider's own timeouts; 0 means none. "
            "Waiting for a turn never times out."
        ),
    )
    max_pending: int = Field(
        default=10_000, ge=1, description="Most requests the queue holds unfinished at once."
    )
    schedule: Literal["dag", "levels"] = Field(
        default="dag",
        description=(
            "dag: a directory starts as soon as its children are done; levels: each depth "
            "waits for the deeper one to finish."
        ),
    )
    failure_policy: Literal["continue", "stop", "fail-fast"] = Field(
        default="continue",
        description=(
            "After a node fails: continue (block its ancestors, finish the rest), stop (start "
            "nothing new), fail-fast (also cancel what is in flight)."
        ),
    )
    prompt_file_cap: int = Field(
        default=128 << 10, ge=1024, description="Bytes of a file sent to a provider, at most."
    )
    directory_context_budget: int = Field(
        default=64 << 10,
        ge=1024,
        description="Bytes of children's frames sent with a directory, at most.",
    )
    max_llm_file_size: int = Field(
        default=1 << 20,
        ge=1,
        description="Files larger than this get a structural frame instead of an LLM call.",
    )
    max_response_bytes: int = Field(
        default=4 << 20,
        ge=1024,
        description=(
            "Bytes of one provider answer read at most, checked while it streams; a longer "
            "answer ends the node as response_too_large and is not retried."
        ),
    )
    max_frame_bytes: int = Field(
        default=256 << 10,
        ge=1024,
        description=(
            "Bytes of one frame's text at most; a longer answer is cut at a line, with a note "
            "and truncated_bytes in its metadata."
        ),
    )
    redact: bool = Field(
        default=True,
        description=(
            "Replace key-shaped strings (API keys, tokens, private key blocks) with "
            "[redacted:KIND] in prompts and frames. Only the user config, a CONTEXTREE_* "
            "variable or a flag can switch it off; a workspace config cannot."
        ),
    )
    secret_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SECRET_PATTERNS),
        description=(
            "Files never read or sent to any provider (gitignore syntax, matched "
            "case-insensitively); their frame says they were withheld. A workspace config adds "
            "to this list, never replaces it."
        ),
    )
    structural_patterns: list[str] = Field(
        default_factory=lambda: list(DEFAULT_STRUCTURAL_PATTERNS),
        description=(
            "Files summarised by the offline structural provider instead of an LLM: lockfiles, "
            "minified, vendored and generated files (gitignore syntax)."
        ),
    )
