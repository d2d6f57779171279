"""The stable library surface: what ``contextree.__all__`` names, typed (``py.typed``), and
each name documented."""

from __future__ import annotations

import inspect
from importlib import resources

import contextree
import contextree.facade


def test_the_package_ships_its_types() -> None:
    assert resources.files("contextree").joinpath("py.typed").is_file()


def test_every_public_name_resolves_and_is_documented() -> None:
    for name in contextree.__all__:
        value = getattr(contextree, name)
        if name == "__version__":
            assert isinstance(value, str) and value
            continue
        assert inspect.getdoc(value), f"contextree.{name} has no docstring"
    assert set(contextree.__all__) <= set(dir(contextree))


def test_every_workspace_method_says_what_it_does() -> None:
    methods = [
        (name, member)
        for name, member in inspect.getmembers(contextree.Workspace)
        if not name.startswith("_") and (inspect.isfunction(member) or isinstance(member, property))
    ]
    assert {"get", "generate", "scan", "status", "verify", "gc", "untrusted", "trust"} <= {
        name for name, _ in methods
    }
    for name, member in methods:
        assert inspect.getdoc(member), f"Workspace.{name} has no docstring"


def test_the_facade_exports_what_it_lists() -> None:
    for name in contextree.facade.__all__:
        assert getattr(contextree.facade, name) is not None
