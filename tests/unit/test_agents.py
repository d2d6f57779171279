"""Agent profiles and the registry: built-ins, overrides, prompt digests, errors that name
the file and the field."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from contextree.agents.profile import AgentProfile, AgentRole, template_problem
from contextree.agents.registry import AgentRegistry, builtin_profiles, check_dirs
from contextree.errors import AgentConfigError, AgentNotFoundError, ConfigError, UsageError

WRITER_TOML = """
role = "writer"
system_prompt = "You document code."
file_template = "Document {path} ({node_type}, {file_size} bytes)."
directory_template = "Document the directory {path}."
"""


def _write(directory: Path, name: str, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def test_builtins_are_two_writers_and_a_reader() -> None:
    registry = AgentRegistry.builtin()
    assert registry.ids() == ("code-analyzer", "docs-writer", "reader")
    assert [p.id for p in registry.writers()] == ["code-analyzer", "docs-writer"]
    reader = registry.get("reader")
    assert reader.role is AgentRole.READER and not reader.can_write
    assert (reader.system_prompt, reader.file_template, reader.directory_template) == ("", "", "")
    assert all(p.source == "built-in" for p in registry.profiles())


@pytest.mark.parametrize("agent_id", ["docs-writer", "code-analyzer"])
def test_builtin_prompts_explain_the_input_shape(agent_id: str) -> None:
    profile = AgentRegistry.builtin().get(agent_id)
    for marker in ("`Context:`", "`Path:`", "`Type:`", "`Content:`", "`Task:`", "`---`"):
        assert marker in profile.system_prompt, marker
    for template in (profile.file_template, profile.directory_template):
        assert "{path}" in template
        assert template_problem(template) is None
    assert "{file_size}" in profile.file_template


def test_docs_writer_asks_for_the_fixed_markdown_structure() -> None:
    prompt = AgentRegistry.builtin().get("docs-writer").system_prompt
    headings = [
        "## Scope",
        "## Purpose",
        "## API Surface",
        "## Behavior Notes",
        "## Usage",
        "## Caveats",
        "## Related Components",
        "## Evidence Map",
    ]
    positions = [prompt.index(h) for h in headings]
    assert positions == sorted(positions)
    assert "# <Title" in prompt
    assert "<claim> -> <Path> :: <identifier" in prompt


def test_prompt_digest_covers_system_prompt_and_both_templates() -> None:
    base = AgentRegistry.builtin().get("docs-writer")
    assert base.prompt_digest == replace(base, description="other").prompt_digest
    assert base.prompt_digest == replace(base, provider="anthropic").prompt_digest
    digests = {
        base.prompt_digest,
        replace(base, system_prompt=base.system_prompt + " ").prompt_digest,
        replace(base, file_template=base.file_template + " ").prompt_digest,
        replace(base, directory_template=base.directory_template + " ").prompt_digest,
    }
    assert len(digests) == 4
    moved = replace(base, system_prompt="ab", file_template="c", directory_template="d")
    shifted = replace(base, system_prompt="a", file_template="bc", directory_template="d")
    assert moved.prompt_digest != shifted.prompt_digest


def test_user_profiles_add_agents_and_workspace_profiles_override_them(tmp_path: Path) -> None:
    user, ws = tmp_path / "user", tmp_path / "ws"
    _write(user, "reviewer.toml", WRITER_TOML + 'provider = "anthropic"\n')
    _write(user, "docs-writer.toml", WRITER_TOML)
    _write(ws, "docs-writer.toml", WRITER_TOML.replace("You document code.", "Workspace says."))
    registry = AgentRegistry.load([user, ws])
    assert registry.ids() == ("code-analyzer", "docs-writer", "reader", "reviewer")
    assert registry.get("reviewer").provider == "anthropic"
    docs = registry.get("docs-writer")
    assert docs.system_prompt == "Workspace says."
    assert docs.source == str(ws / "docs-writer.toml")
    assert registry.replaced("docs-writer") == ("built-in", str(user / "docs-writer.toml"))


def test_missing_profile_directories_leave_the_builtins(tmp_path: Path) -> None:
    registry = AgentRegistry.load([tmp_path / "nope", tmp_path / "also-nope"])
    assert registry.ids() == ("code-analyzer", "docs-writer", "reader")


def test_system_prompt_file_resolves_next_to_the_profile(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    _write(agents / "prompts", "mine.md", "Prompt from a file.\n")
    _write(
        agents,
        "mine.toml",
        WRITER_TOML.replace(
            'system_prompt = "You document code."', 'system_prompt_file = "prompts/mine.md"'
        ),
    )
    assert AgentRegistry.load([agents]).get("mine").system_prompt == "Prompt from a file.\n"


def test_role_is_case_insensitive(tmp_path: Path) -> None:
    _write(tmp_path, "loud.toml", WRITER_TOML.replace('"writer"', '"Writer"'))
    _write(tmp_path, "quiet.toml", 'role = "READER"\n')
    registry = AgentRegistry.load([tmp_path])
    assert registry.get("loud").can_write
    assert registry.get("quiet").role is AgentRole.READER


@pytest.mark.parametrize(
    ("text", "field", "problem"),
    [
        (WRITER_TOML + "temperature = 0.2\n", "temperature", "unknown field"),
        (WRITER_TOML.replace('"writer"', '"admin"'), "role", "'admin' is not a role"),
        (
            WRITER_TOML + 'system_prompt_file = "p.md"\n',
            "system_prompt_file",
            "either `system_prompt` or `system_prompt_file`",
        ),
        (
            WRITER_TOML.replace('system_prompt = "You document code."', ""),
            "system_prompt",
            "needs a system prompt",
        ),
        (
            WRITER_TOML.replace('system_prompt = "You document code."', 'system_prompt_file = "x"'),
            "system_prompt_file",
            "cannot read 'x'",
        ),
        (
            WRITER_TOML.replace('directory_template = "Document the directory {path}."', ""),
            "directory_template",
            "needs a non-empty template",
        ),
        (
            WRITER_TOML.replace("{file_size}", "{size}"),
            "file_template",
            "unknown placeholder {size}",
        ),
        (
            WRITER_TOML.replace("{path}.", "{path"),
            "directory_template",
            "unbalanced braces",
        ),
        (
            WRITER_TOML.replace("{node_type}", "{node_type!r}"),
            "file_template",
            "takes no format spec",
        ),
        ('role = "reader"\nfile_template = "x"\n', "file_template", "reader agent"),
        (WRITER_TOML + 'id = "other-name"\n', "id", "does not match the file name"),
        (WRITER_TOML + "provider = 3\n", "provider", "valid string"),
        ("description = 'no role'\n", "role", "Field required"),
    ],
)
def test_profile_errors_name_the_file_and_the_field(
    tmp_path: Path, text: str, field: str, problem: str
) -> None:
    path = _write(tmp_path, "broken.toml", text)
    with pytest.raises(AgentConfigError) as caught:
        AgentRegistry.load([tmp_path]).get("broken")
    message = caught.value.message
    assert str(path) in message
    assert f"field `{field}`" in message
    assert problem in message
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == 2


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "bad.toml", "role = \n")
    with pytest.raises(AgentConfigError, match="is not valid TOML") as caught:
        AgentRegistry.load([tmp_path]).get("bad")
    assert str(path) in caught.value.message


def test_check_dirs_reports_every_file_instead_of_stopping(tmp_path: Path) -> None:
    _write(tmp_path, "a-bad.toml", 'role = "nobody"\n')
    _write(tmp_path, "b-good.toml", WRITER_TOML)
    _write(tmp_path, "c-bad.toml", WRITER_TOML + "x = 1\n")
    _write(tmp_path, "notes.txt", "not a profile")
    checks = check_dirs([tmp_path])
    assert [(c.path.name, c.error is None) for c in checks] == [
        ("a-bad.toml", False),
        ("b-good.toml", True),
        ("c-bad.toml", False),
    ]
    good = checks[1].profile
    assert good is not None and good.id == "b-good"


def test_unknown_agent_lists_the_known_ids() -> None:
    with pytest.raises(AgentNotFoundError) as caught:
        AgentRegistry.builtin().get("nobody")
    assert "unknown agent 'nobody'" in caught.value.message
    assert "code-analyzer, docs-writer, reader" in caught.value.message
    assert isinstance(caught.value, UsageError)


def test_builtins_parse_from_package_data_every_time() -> None:
    first, second = builtin_profiles(), builtin_profiles()
    assert first == second
    assert all(isinstance(p, AgentProfile) for p in first)


# --- a broken profile breaks only the runs that use it (issue 13, item 13) ----------------


def test_a_broken_profile_breaks_only_its_own_name(tmp_path: Path) -> None:
    _write(tmp_path, "broken.toml", 'role = "nobody"\n')
    _write(tmp_path, "good.toml", WRITER_TOML)
    registry = AgentRegistry.load([tmp_path])
    assert "good" in registry.ids() and "broken" not in registry.ids()
    assert registry.get("good").can_write
    with pytest.raises(AgentConfigError, match="'nobody' is not a role"):
        registry.get("broken")
    with pytest.raises(AgentConfigError, match="'nobody' is not a role"):
        registry.find("broken")
    assert [p.path.name for p in registry.problems()] == ["broken.toml"]


def test_a_broken_workspace_profile_never_lets_the_one_it_replaces_stand_in(
    tmp_path: Path,
) -> None:
    user, ws = tmp_path / "user", tmp_path / "ws"
    _write(user, "mine.toml", WRITER_TOML)
    _write(ws, "mine.toml", "role = \n")
    _write(ws, "docs-writer.toml", WRITER_TOML + "bogus = 1\n")
    registry = AgentRegistry.load([user, ws])
    with pytest.raises(AgentConfigError, match="is not valid TOML"):
        registry.get("mine")
    with pytest.raises(AgentConfigError, match="unknown field"):
        registry.get("docs-writer")
    assert registry.get("code-analyzer").can_write


def test_a_later_good_profile_replaces_a_broken_one(tmp_path: Path) -> None:
    user, ws = tmp_path / "user", tmp_path / "ws"
    _write(user, "mine.toml", "role = \n")
    _write(ws, "mine.toml", WRITER_TOML)
    registry = AgentRegistry.load([user, ws])
    assert registry.get("mine").source == str(ws / "mine.toml")
    assert registry.problems() == ()


def test_a_non_utf8_profile_is_a_clean_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.toml"
    path.write_bytes(WRITER_TOML.encode("utf-8") + b'description = "caf\xe9"\n')
    with pytest.raises(AgentConfigError) as caught:
        AgentRegistry.load([tmp_path]).get("latin")
    assert str(path) in caught.value.message
    assert "UTF-8" in caught.value.message


def test_a_non_utf8_prompt_file_is_a_clean_error(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_bytes(b"caf\xe9\n")
    _write(tmp_path, "mine.toml", _with_prompt_file("p.md"))
    with pytest.raises(AgentConfigError, match="system_prompt_file") as caught:
        AgentRegistry.load([tmp_path]).get("mine")
    assert "UTF-8" in caught.value.message


# --- prompt files stay inside the profile's directory (issue 13, item 2) ------------------


def _with_prompt_file(name: str) -> str:
    return WRITER_TOML.replace(
        'system_prompt = "You document code."', f"system_prompt_file = {name!r}"
    )


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../outside.md", "leads outside"),
        ("prompts/../../outside.md", "leads outside"),
        ("~/outside.md", "home directory"),
        ("ABSOLUTE", "absolute path"),
    ],
)
def test_a_prompt_file_outside_the_profile_directory_is_refused(
    tmp_path: Path, name: str, problem: str
) -> None:
    agents = tmp_path / "agents"
    outside = tmp_path / "outside.md"
    outside.write_text("SECRET-CANARY\n")
    (tmp_path / "home").mkdir()
    if name == "ABSOLUTE":
        name = str(outside)
    path = _write(agents, "mine.toml", _with_prompt_file(name))
    with pytest.raises(AgentConfigError) as caught:
        AgentRegistry.load([agents]).get("mine")
    message = str(caught.value)
    assert str(path) in message and "system_prompt_file" in message
    assert problem in message
    assert "SECRET-CANARY" not in message


def test_a_symlink_out_of_the_profile_directory_is_not_followed(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    agents.mkdir()
    outside = tmp_path / "outside.md"
    outside.write_text("SECRET-CANARY\n")
    (agents / "p.md").symlink_to(outside)
    _write(agents, "mine.toml", _with_prompt_file("p.md"))
    with pytest.raises(AgentConfigError, match="leads outside") as caught:
        AgentRegistry.load([agents]).get("mine")
    assert "SECRET-CANARY" not in str(caught.value)


def test_a_symlink_inside_the_profile_directory_is_fine(tmp_path: Path) -> None:
    agents = tmp_path / "agents"
    _write(agents / "prompts", "real.md", "Shared prompt.\n")
    (agents / "p.md").symlink_to(agents / "prompts" / "real.md")
    _write(agents, "mine.toml", _with_prompt_file("p.md"))
    assert AgentRegistry.load([agents]).get("mine").system_prompt == "Shared prompt.\n"


@pytest.mark.parametrize("name", [".env", "prompts/.ENV", "id_rsa", "server.pem", "SECRETS.md"])
def test_a_prompt_file_that_scope_rules_withhold_is_never_read(tmp_path: Path, name: str) -> None:
    agents = tmp_path / "agents"
    _write(agents / Path(name).parent, Path(name).name, "SECRET-CANARY\n")
    _write(agents, "mine.toml", _with_prompt_file(name))
    withheld_asked: list[str] = []

    def withheld(rel: str) -> bool:
        withheld_asked.append(rel)
        return True

    with pytest.raises(AgentConfigError, match="withheld") as caught:
        AgentRegistry.load([agents], withheld=withheld).get("mine")
    assert "SECRET-CANARY" not in str(caught.value)
    assert withheld_asked


def test_profile_checks_carry_the_digest_of_the_bytes_parsed_and_prompt_files(
    tmp_path: Path,
) -> None:
    from contextree.core.ids import digest_fields

    agents = tmp_path / "agents"
    _write(agents / "prompts", "mine.md", "Prompt.\n")
    toml = _write(agents, "mine.toml", _with_prompt_file("prompts/mine.md"))
    (check,) = check_dirs([agents])
    assert check.origin is not None
    assert check.origin.digest == digest_fields(toml.read_bytes(), b"Prompt.\n")
    assert check.origin.prompt_files == (agents / "prompts" / "mine.md",)


@pytest.mark.parametrize(
    ("rel", "withheld"),
    [
        (".env", True),
        ("prompts/.ENV", True),
        ("ID_RSA", True),
        ("keys/server.pem", True),
        (".docker/config.json", True),
        ("prompts/mine.md", False),
        ("docs-writer.md", False),
    ],
)
def test_the_default_withheld_rule_uses_the_secret_patterns_case_insensitively(
    rel: str, withheld: bool
) -> None:
    from contextree.agents.registry import default_withheld

    assert default_withheld(rel) is withheld
