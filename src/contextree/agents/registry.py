"""The agent registry: built-in agents plus the TOML profiles a user or workspace adds.

Owns where agents come from and which one wins. The built-ins (``docs-writer`` and
``code-analyzer``, writers, and ``reader``) ship as package data and are always there. Profile
directories are read in order, each file ``<id>.toml`` adding an agent or replacing one with
the same id entirely: built-ins, then the user's ``<config dir>/agents``, then the
workspace's ``.contextree/agents``. Loading is strict: a broken profile is an error naming the
file and the field, never a silently missing agent. ``check_dirs`` reports on every file
instead of stopping at the first problem. The composition root chooses the directories.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from contextree.agents.profile import AgentProfile, parse_profile
from contextree.errors import AgentConfigError, AgentNotFoundError

BUILTIN_IDS: tuple[str, ...] = ("code-analyzer", "docs-writer", "reader")
_PACKAGE_DATA = "prompts"


def builtin_profiles() -> tuple[AgentProfile, ...]:
    """The agents contextree ships, parsed from the package's own TOML and prompt files."""
    base = resources.files("contextree.agents").joinpath(_PACKAGE_DATA)

    def read(name: str) -> str:
        return base.joinpath(name).read_text(encoding="utf-8")

    return tuple(
        parse_profile(
            tomllib.loads(read(f"{agent_id}.toml")),
            source="built-in",
            file_stem=agent_id,
            read_relative=read,
        )
        for agent_id in BUILTIN_IDS
    )


def load_profile_file(path: Path) -> AgentProfile:
    """Parse and validate one profile file; relative prompt files resolve beside it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AgentConfigError(f"cannot read agent profile {path}: {exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AgentConfigError(
            f"{path} is not valid TOML: {exc}", hint="Fix the file or move it out of the way."
        ) from exc

    def read(name: str) -> str:
        target = Path(name).expanduser()
        if not target.is_absolute():
            target = path.parent / target
        return target.read_text(encoding="utf-8")

    return parse_profile(data, source=str(path), file_stem=path.stem, read_relative=read)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileCheck:
    """The outcome of loading one profile file."""

    path: Path
    profile: AgentProfile | None
    error: AgentConfigError | None


def _profile_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.toml") if p.is_file())
    except OSError as exc:
        raise AgentConfigError(f"cannot list agent profiles in {directory}: {exc}") from exc


def check_dirs(dirs: Sequence[Path]) -> list[ProfileCheck]:
    """Load every profile file in ``dirs`` (in order), recording each success or error."""
    checks = []
    for directory in dirs:
        for path in _profile_files(directory):
            try:
                checks.append(ProfileCheck(path=path, profile=load_profile_file(path), error=None))
            except AgentConfigError as exc:
                checks.append(ProfileCheck(path=path, profile=None, error=exc))
    return checks


class AgentRegistry:
    """Agents by id. Later profiles replace earlier ones with the same id."""

    def __init__(self, profiles: Iterable[AgentProfile], *, dirs: Sequence[Path] = ()) -> None:
        self._by_id: dict[str, AgentProfile] = {}
        self._replaced: dict[str, list[str]] = {}
        for profile in profiles:
            old = self._by_id.get(profile.id)
            if old is not None:
                self._replaced.setdefault(profile.id, []).append(old.source)
            self._by_id[profile.id] = profile
        self.dirs = tuple(dirs)

    @classmethod
    def builtin(cls) -> AgentRegistry:
        return cls(builtin_profiles())

    @classmethod
    def load(cls, dirs: Sequence[Path]) -> AgentRegistry:
        """Built-ins, then every profile in ``dirs``; the first broken file raises."""
        profiles = list(builtin_profiles())
        for check in check_dirs(dirs):
            if check.error is not None:
                raise check.error
            assert check.profile is not None
            profiles.append(check.profile)
        return cls(profiles, dirs=dirs)

    def find(self, agent_id: str) -> AgentProfile | None:
        return self._by_id.get(agent_id)

    def get(self, agent_id: str) -> AgentProfile:
        """The agent called ``agent_id``; ``AgentNotFoundError`` lists the known ids."""
        profile = self._by_id.get(agent_id)
        if profile is None:
            where = " or ".join(str(d) for d in self.dirs) or "an agents directory"
            raise AgentNotFoundError(
                f"unknown agent '{agent_id}'; known agents: {', '.join(self.ids())}",
                hint=f"Add one as <id>.toml in {where}; `contextree agent list` shows all agents.",
            )
        return profile

    def __contains__(self, agent_id: object) -> bool:
        return agent_id in self._by_id

    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_id))

    def profiles(self) -> tuple[AgentProfile, ...]:
        """Every agent, sorted by id."""
        return tuple(self._by_id[i] for i in self.ids())

    def writers(self) -> tuple[AgentProfile, ...]:
        """The agents that may write frames, sorted by id."""
        return tuple(p for p in self.profiles() if p.can_write)

    def replaced(self, agent_id: str) -> tuple[str, ...]:
        """Sources of the profiles ``agent_id`` replaced, earliest first."""
        return tuple(self._replaced.get(agent_id, ()))
