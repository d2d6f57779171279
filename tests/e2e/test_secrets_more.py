"""Secret files and key-shaped strings never reach a provider, whatever a repository does.

Through the CLI against the fake provider server (its profile in the *user* config directory,
so no workspace trust is involved), asserting on what the server received: secret files are
matched case-insensitively and by more names (and a JSON file holding a private key by its
content), a workspace config cannot empty the secret patterns nor switch redaction off, and
key-shaped strings in ordinary files are redacted in prompts and frames (issue 13, items 3
and 4). Every fake key is built at run time, so this file holds no key-shaped literal.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from tests.fakes.provider_server import FakeProviderServer
from tests.fakes.replies import Reply
from tests.helpers.cli import run_cli
from tests.helpers.trees import write_tree

PEM_BEGIN = "-----BEGIN " + "PRIVATE KEY-----"
PEM_END = "-----END " + "PRIVATE KEY-----"


def write_user_profile(base_url: str, *, api_key_env: str = "") -> None:
    """The user-level profile ``fake`` (OpenAI wire format) at the fake server."""
    providers = Path(os.environ["XDG_CONFIG_HOME"]) / "contextree" / "providers"
    providers.mkdir(parents=True, exist_ok=True)
    (providers / "fake.toml").write_text(
        f'name = "fake"\ntype = "openai"\nmodel = "fake-model"\n'
        f'base_url = "{base_url}/v1"\napi_key_env = "{api_key_env}"\n'
    )


def canary(label: str) -> str:
    return f"canary-{label}-{secrets.token_hex(8)}"


def generate(
    workspace: Path, server: FakeProviderServer, *extra: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    url = server.start_in_thread()
    try:
        write_user_profile(url, api_key_env="FAKE_KEY_ENV" if env and "FAKE_KEY_ENV" in env else "")
        result = run_cli("-w", str(workspace), "generate", "--provider", "fake", *extra, env=env)
    finally:
        server.stop()
    return result.returncode, result.stdout, result.stderr


def sent(server: FakeProviderServer) -> bytes:
    return b"\n".join(r.raw for r in server.completion_requests())


def gcp_service_account(secret: str) -> str:
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "demo-project",
            "private_key_id": secret,
            "private_key": f"{PEM_BEGIN}\nMIIEv{secret}\n{PEM_END}\n",
            "client_email": "demo@demo-project.iam.gserviceaccount.com",
        },
        indent=2,
    )


def test_secret_files_of_any_case_and_the_new_kinds_are_never_sent(workspace: Path) -> None:
    canaries = {
        ".ENV": canary("dotenv"),
        "ID_RSA": canary("idrsa"),
        "SERVER.PEM": canary("pem"),
        "private_key.txt": canary("privatekey"),
        ".docker/config.json": canary("docker"),
        ".kube/config": canary("kube"),
        "infra/prod.tfvars": canary("tfvars"),
        "ops/.git-credentials": canary("gitcreds"),
        "deploy/demo-project-4f2a.json": canary("gcp"),
    }
    files = {path: f"TOKEN={value}\n" for path, value in canaries.items()}
    files["deploy/demo-project-4f2a.json"] = gcp_service_account(
        canaries["deploy/demo-project-4f2a.json"]
    )
    files["src/app.py"] = "def app():\n    return 1\n"
    write_tree(workspace, files)
    server = FakeProviderServer()
    code, _, err = generate(workspace, server)
    assert code == 0, err
    body = sent(server)
    assert [path for path, value in canaries.items() if value.encode() in body] == []
    assert b"src/app.py" in body  # the run did send the ordinary file
    got = run_cli("-w", str(workspace), "get", "deploy/demo-project-4f2a.json")
    assert "Withheld" in got.stdout, got.stdout + got.stderr
    assert canaries["deploy/demo-project-4f2a.json"] not in got.stdout


def test_a_workspace_cannot_empty_the_secret_patterns(workspace: Path) -> None:
    value = canary("dotenv")
    write_tree(
        workspace,
        {
            ".env": f"TOKEN={value}\n",
            "src/app.py": "def app():\n    return 1\n",
            ".contextree/config.toml": "[generation]\nsecret_patterns = []\n",
        },
    )
    server = FakeProviderServer()
    code, _, err = generate(workspace, server)
    assert code == 0, err
    assert value.encode() not in sent(server)
    assert b"src/app.py" in sent(server)
    assert ".env" not in {r.node_path for r in server.completion_requests()}


def fake_openai_key() -> str:
    return "sk-proj-" + secrets.token_urlsafe(36).replace("-", "A").replace("_", "b")


def stored_frame(workspace: Path, path: str) -> dict[str, object]:
    got = run_cli("-w", str(workspace), "get", path, "--json", "--include-metadata")
    assert got.returncode == 0, got.stderr
    doc = json.loads(got.stdout)
    (frame,) = doc["frames"]
    assert isinstance(frame, dict)
    return frame


def test_a_key_in_an_ordinary_file_is_redacted_before_sending_and_storing(
    workspace: Path,
) -> None:
    key = fake_openai_key()
    configured = "configured-" + secrets.token_hex(12)
    write_tree(
        workspace,
        {"settings.py": f'API_KEY = "{key}"\nLOCAL = "{configured}"\n\n\ndef main():\n    pass\n'},
    )
    server = FakeProviderServer(default=Reply(content=f"Defines API_KEY = {key} and {configured}."))
    code, _, err = generate(workspace, server, env={"FAKE_KEY_ENV": configured})
    assert code == 0, err
    body = sent(server)
    assert key.encode() not in body and configured.encode() not in body
    assert b"[redacted:openai_key]" in body and b"[redacted:configured_key]" in body
    frame = stored_frame(workspace, "settings.py")
    text = json.dumps(frame)
    assert key not in text and configured not in text
    assert "[redacted:openai_key]" in str(frame["content"])
    assert frame["metadata"]["redactions"] == "configured_key=2,openai_key=2"  # type: ignore[index]
    data = workspace / ".contextree"
    assert [p for p in data.rglob("*") if p.is_file() and key.encode() in p.read_bytes()] == []


def test_the_structural_frame_never_quotes_a_key(workspace: Path) -> None:
    key = fake_openai_key()
    write_tree(workspace, {"settings.js": f'export const API_KEY = "{key}";\n'})
    result = run_cli("-w", str(workspace), "generate")
    assert result.returncode == 0, result.stderr
    frame = stored_frame(workspace, "settings.js")
    assert key not in json.dumps(frame)
    assert 'API_KEY = "[redacted:openai_key]"' in str(frame["content"])
    assert frame["metadata"]["redactions"] == "openai_key=1"  # type: ignore[index]


def test_a_workspace_cannot_switch_redaction_off_but_the_environment_can(
    workspace: Path,
) -> None:
    key = fake_openai_key()
    write_tree(
        workspace,
        {
            "settings.py": f'API_KEY = "{key}"\n',
            ".contextree/config.toml": "[generation]\nredact = false\n",
        },
    )
    server = FakeProviderServer()
    code, _, err = generate(workspace, server)
    assert code == 0, err
    assert key.encode() not in sent(server)
    assert "`generation.redact = false` is ignored" in err
    # Switching redaction off changes every input key (no --force needed) ...
    server = FakeProviderServer()
    code, _, err = generate(workspace, server, env={"CONTEXTREE_GENERATION__REDACT": "false"})
    assert code == 0, err
    assert key.encode() in sent(server)
    # ... --no-redact is the same switch, so those frames are current now ...
    server = FakeProviderServer()
    (workspace / ".contextree" / "config.toml").write_text("")
    code, _, err = generate(workspace, server, "--no-redact")
    assert code == 0, err
    assert server.completion_requests() == []
    # ... and switching it back on regenerates, redacted again.
    server = FakeProviderServer()
    code, _, err = generate(workspace, server)
    assert code == 0, err
    assert server.completion_requests() != []
    assert key.encode() not in sent(server)
