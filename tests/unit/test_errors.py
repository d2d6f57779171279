"""The error tree: every error class names itself with its own ``error_class``."""

from __future__ import annotations

import inspect
import re

import pytest

from contextree import errors

ERROR_CLASSES = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.ContextreeError)
    and (cls.__module__ == errors.__name__ or cls.__module__.startswith(f"{errors.__name__}."))
]


def test_the_tree_has_the_errors_moved_into_it() -> None:
    names = {cls.__name__ for cls in ERROR_CLASSES}
    assert {
        "UntrustedWorkspaceError",
        "DiskFullError",
        "FileChangedSinceScanError",
        "PlanValidationError",
        "DescendantsNotCurrentError",
        "NothingToRetryError",
        "QueueFullError",
        "QueueClosedError",
    } <= names


@pytest.mark.parametrize("cls", ERROR_CLASSES, ids=lambda cls: cls.__name__)
def test_every_error_class_declares_its_own_error_class(cls: type[errors.ContextreeError]) -> None:
    declared = cls.__dict__.get("error_class")
    assert isinstance(declared, str)
    assert re.fullmatch(r"[a-z]+(_[a-z]+)*", declared)


def test_error_classes_are_unique() -> None:
    by_name: dict[str, list[str]] = {}
    for cls in ERROR_CLASSES:
        by_name.setdefault(cls.error_class, []).append(cls.__name__)
    assert {k: v for k, v in by_name.items() if len(v) > 1} == {}


def test_error_classes_outside_providers_are_the_snake_case_class_name() -> None:
    """What reports and the ledger said before the tree named them (the regex it replaced)."""
    for cls in ERROR_CLASSES:
        if issubclass(cls, errors.ProviderError) and cls is not errors.ProviderError:
            continue
        assert cls.error_class == re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__).lower()


def test_every_error_class_is_drawn_in_the_tree() -> None:
    doc = errors.__doc__ or ""
    missing = [c.__name__ for c in ERROR_CLASSES if not re.search(rf"\b{c.__name__}\b", doc)]
    assert missing == []
