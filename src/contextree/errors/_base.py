"""The three roots of the error tree: ``ContextreeError``, and its two branches
``UsageError`` (the user can fix it) and ``RuntimeFailure`` (something failed while working).
The tree is drawn in ``contextree.errors``; import every error from there."""

from __future__ import annotations


class ContextreeError(Exception):
    """Root of every error contextree raises on purpose."""

    #: A stable snake_case name of the error, used in reports, events and the run ledger.
    #: Every error class sets its own (a unit test checks that they are all different).
    error_class: str = "contextree_error"

    #: Exit code the CLI uses when this error ends a command.
    exit_code: int = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n{self.hint}"
        return self.message


class UsageError(ContextreeError):
    """A mistake the user can fix: bad input, bad configuration. Never retried."""

    error_class = "usage_error"

    exit_code = 2


class RuntimeFailure(ContextreeError):
    """Something failed while working; the user's input was fine."""

    error_class = "runtime_failure"
