"""The agent registry: built-in agents plus the TOML profiles a user or workspace adds.

Owns where agents come from and which one wins. The built-ins (``docs-writer`` and
``code-analyzer``, writers, and ``reader``) ship as package data and are always there. Profile
directories are read in order, each file ``<id>.toml`` adding an agent or replacing one with
the same id entirely: built-ins, then the user's ``<config dir>/agents``, then the
workspace's ``.contextree/agents``. A broken profile is an error naming the file and the field,
raised when its id is used (never a silently missing agent, and never the agent it would have
replaced standing in); other agents stay usable. ``check_dirs`` reports on every file. A prompt
file resolves only inside the directory of the profile that names it (no absolute path, ``~``
or ``..``, no symlink out of it) and is never a file that scope rules withhold. Each loaded
file records the digest of the bytes parsed, for workspace trust. The composition root chooses
the directories, the withheld rule and what is trusted.
"""

from __future__ import annotations

import fnmatch
import os
import stat
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path, PurePosixPath, PureWindowsPath

from contextree.agents.profile import AgentProfile, parse_profile
from contextree.config.generation import DEFAULT_SECRET_PATTERNS
from contextree.config.toml_file import read_toml_file
from contextree.core.ids import Digest, digest_fields
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


#: Whether a prompt file, named by its path relative to the profile's directory (POSIX),
#: is one that scope rules withhold (secret patterns); such a file is never read.
Withheld = Callable[[str], bool]

#: Whether a profile file, with the digest of the bytes parsed, is trusted (see
#: ``contextree.workspace.trust``); the composition root decides, per file.
Trusted = Callable[[Path, Digest], bool]

#: A prompt file longer than this is refused rather than read.
MAX_PROMPT_FILE_BYTES = 1 << 20
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_PROMPT_FIELD = "system_prompt_file"


def default_withheld(rel: str) -> bool:
    """A conservative stand-in for the scope rules when the caller passes none: the default
    secret patterns, case-insensitively, against the whole path and each of its parts."""
    lowered = rel.lower()
    parts = lowered.split("/")
    for pattern in DEFAULT_SECRET_PATTERNS:
        glob = pattern.lower().removeprefix("/").removeprefix("**/").rstrip("/")
        if fnmatch.fnmatchcase(lowered, glob) or fnmatch.fnmatchcase(lowered, f"*/{glob}"):
            return True
        if "/" not in glob and any(fnmatch.fnmatchcase(part, glob) for part in parts):
            return True
    return False


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileOrigin:
    """Where an agent from a profile file came from: the file, the digest of the bytes parsed
    (the file, then each prompt file it names) and those prompt files. ``trusted`` is what
    the registry was told about this file (always true unless a ``Trusted`` check said no)."""

    path: Path
    digest: Digest
    prompt_files: tuple[Path, ...] = ()
    trusted: bool = True


def _prompt_error(path: Path, name: str, problem: str) -> AgentConfigError:
    """``problem`` follows the quoted name, or with a leading ``:`` replaces it."""
    what = f"cannot read '{name}'{problem}" if problem.startswith(":") else f"'{name}' {problem}"
    return AgentConfigError(
        f"{path}: field `{_PROMPT_FIELD}`: {what}",
        hint=f"Name a prompt file inside {path.parent}, relative to the profile (for example "
        f'{_PROMPT_FIELD} = "prompts/{path.stem}.md"), or write the prompt inline with '
        "system_prompt.",
    )


def _confined_prompt_path(path: Path, name: str, withheld: Withheld) -> Path:
    """The real path of the prompt file ``name`` that the profile at ``path`` names, once it
    is known to stay inside the profile's directory and not to be a withheld file."""
    base = path.parent
    if name.startswith("~"):
        raise _prompt_error(path, name, "starts with ~ (the home directory), which is not allowed")
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or PureWindowsPath(name).anchor:
        raise _prompt_error(path, name, "is an absolute path, which is not allowed")
    if ".." in pure.parts:
        raise _prompt_error(path, name, f"leads outside {base} (through ..)")
    real_base = os.path.realpath(base)
    real = os.path.realpath(os.path.join(real_base, *pure.parts))
    if real == real_base or os.path.commonpath([real_base, real]) != real_base:
        raise _prompt_error(path, name, f"leads outside {base} (through a symlink)")
    rel_real = Path(real).relative_to(real_base).as_posix()
    if withheld(pure.as_posix()) or withheld(rel_real):
        raise _prompt_error(
            path,
            name,
            "matches a secret pattern (generation.secret_patterns), so it is withheld and "
            "never read",
        )
    return Path(real)


def _read_prompt(path: Path, name: str, target: Path) -> bytes:
    try:
        fd = os.open(target, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except OSError as exc:
        raise _prompt_error(path, name, f": {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise _prompt_error(path, name, "is not a regular file")
        try:
            data = handle.read(MAX_PROMPT_FILE_BYTES + 1)
        except OSError as exc:
            raise _prompt_error(path, name, f": {exc.strerror or exc}") from None
    if len(data) > MAX_PROMPT_FILE_BYTES:
        raise _prompt_error(path, name, f"is larger than {MAX_PROMPT_FILE_BYTES} bytes")
    return data


def load_profile_origin(
    path: Path, *, withheld: Withheld = default_withheld
) -> tuple[AgentProfile, ProfileOrigin]:
    """Parse and validate one profile file, and say where it came from. A prompt file it
    names resolves only inside the profile's directory: no absolute path, no ``~``, no ``..``,
    no symlink out of it, and never a file that ``withheld`` names."""
    try:
        data, raw = read_toml_file(path, error=AgentConfigError, otherwise="move it out of the way")
    except FileNotFoundError as exc:
        raise AgentConfigError(f"cannot read agent profile {path}: {exc.strerror}") from None
    prompts: list[tuple[Path, bytes]] = []

    def read(name: str) -> str:
        target = _confined_prompt_path(path, name, withheld)
        data = _read_prompt(path, name, target)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _prompt_error(
                path, name, f"is not UTF-8 text (byte {exc.start} cannot be decoded)"
            ) from None
        prompts.append((target, data))
        return text

    profile = parse_profile(data, source=str(path), file_stem=path.stem, read_relative=read)
    origin = ProfileOrigin(
        path=path,
        digest=digest_fields(raw, *(data for _, data in prompts)),
        prompt_files=tuple(target for target, _ in prompts),
    )
    return profile, origin


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileCheck:
    """The outcome of loading one profile file."""

    path: Path
    profile: AgentProfile | None
    error: AgentConfigError | None
    origin: ProfileOrigin | None = None


def _profile_files(directory: Path) -> list[Path]:
    try:
        return sorted(p for p in directory.glob("*.toml") if p.is_file())
    except OSError as exc:
        raise AgentConfigError(f"cannot list agent profiles in {directory}: {exc}") from exc


def check_dirs(
    dirs: Sequence[Path], *, withheld: Withheld = default_withheld
) -> list[ProfileCheck]:
    """Load every profile file in ``dirs`` (in order), recording each success or error."""
    checks = []
    for directory in dirs:
        for path in _profile_files(directory):
            try:
                profile, origin = load_profile_origin(path, withheld=withheld)
            except AgentConfigError as exc:
                checks.append(ProfileCheck(path=path, profile=None, error=exc))
            else:
                checks.append(ProfileCheck(path=path, profile=profile, error=None, origin=origin))
    return checks


class AgentRegistry:
    """Agents by id. Later profiles replace earlier ones with the same id; a broken file
    replaces them too, as a problem that ``get`` and ``find`` raise for that id only."""

    def __init__(
        self,
        profiles: Iterable[AgentProfile],
        *,
        dirs: Sequence[Path] = (),
        origins: Mapping[str, ProfileOrigin] | None = None,
        problems: Mapping[str, ProfileCheck] | None = None,
    ) -> None:
        self._origins = dict(origins or {})
        self._problems = dict(problems or {})
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
    def load(
        cls,
        dirs: Sequence[Path],
        *,
        withheld: Withheld = default_withheld,
        trusted: Trusted | None = None,
    ) -> AgentRegistry:
        """Built-ins, then every profile in ``dirs``. A broken file breaks only its own id:
        it is recorded as a problem, raised when that id is used, and never lets the agent it
        would have replaced stand in. ``trusted`` marks each file's origin."""
        profiles = list(builtin_profiles())
        origins: dict[str, ProfileOrigin] = {}
        problems: dict[str, ProfileCheck] = {}
        for check in check_dirs(dirs, withheld=withheld):
            agent_id = check.path.stem
            if check.error is not None or check.profile is None or check.origin is None:
                problems[agent_id] = check
                profiles = [p for p in profiles if p.id != agent_id]
                origins.pop(agent_id, None)
                continue
            origin = check.origin
            if trusted is not None:
                origin = replace(origin, trusted=trusted(origin.path, origin.digest))
            profiles.append(check.profile)
            origins[check.profile.id] = origin
            problems.pop(agent_id, None)
        return cls(profiles, dirs=dirs, origins=origins, problems=problems)

    def find(self, agent_id: str) -> AgentProfile | None:
        """The agent called ``agent_id``, or None; a broken profile of that id raises."""
        self._raise_problem(agent_id)
        return self._by_id.get(agent_id)

    def _raise_problem(self, agent_id: str) -> None:
        problem = self._problems.get(agent_id)
        if problem is not None and problem.error is not None:
            raise problem.error

    def problems(self) -> tuple[ProfileCheck, ...]:
        """The profile files that could not be used, by id."""
        return tuple(self._problems[i] for i in sorted(self._problems))

    def origin(self, agent_id: str) -> ProfileOrigin | None:
        """Where the agent ``agent_id`` came from; None for a built-in one."""
        return self._origins.get(agent_id)

    def get(self, agent_id: str) -> AgentProfile:
        """The agent called ``agent_id``; ``AgentNotFoundError`` lists the known ids, and a
        broken profile of that id raises its own error."""
        self._raise_problem(agent_id)
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

    def choose(self, asked: str | None, default: str) -> AgentProfile:
        """The one rule for which agent a command uses: the ``asked`` one (``--agent``), else
        the ``default`` (the workspace's ``default_agent``) when it is a usable writer, else
        the only writer. Used by ``generate`` and ``get`` alike; whether the agent may write
        is the caller's question."""
        if asked is not None:
            return self.get(asked)
        found = self.find(default)
        if found is not None and found.can_write:
            return found
        writers = self.writers()
        if len(writers) == 1:
            return writers[0]
        names = ", ".join(w.id for w in writers) or "none"
        raise AgentNotFoundError(
            f"no agent given and the default agent {default!r} is not a usable writer; "
            f"writers: {names}",
            hint="Pass --agent ID, or set default_agent in .contextree/config.toml.",
        )
