"""Hostile trees, as a pull request from a fork could make them.

Each case is built here (nothing large is committed) beside a known-good compose file whose
BRL103 must survive, and run through the real CLI in a subprocess with a time bound: a hang
or a crash fails the test instead of blocking the suite. A secret file sits *outside* the
scanned tree; no byte of it may reach any report format.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

OUTSIDE_MARKER = "outside-marker-7f3a"
GOOD = 'services:\n  postgres:\n    image: postgres:16\n    restart: unless-stopped\n    ports: ["5432:5432"]\n'
GOOD_FINDING = "BRL103 good/docker-compose.yml:5:13"
FORMATS = ("text", "json", "sarif", "junit", "github", "markdown")
TIME_BOUND = 60


def run_cli(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [sys.executable, "-m", "bitriver_lint", str(tree), "--jobs", "1", *args],
            capture_output=True, text=True, timeout=TIME_BOUND, cwd=tree, stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the scan of {tree} did not finish in {TIME_BOUND} s")


def findings(tree: Path) -> tuple[list[str], dict[str, str], dict[str, object]]:
    """``RULE path:line:col`` of every finding, their messages, and the whole JSON report."""
    proc = run_cli(tree, "-f", "json", "--exit-zero")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    report = json.loads(proc.stdout)
    keys: list[str] = []
    messages: dict[str, str] = {}
    for f in report["findings"]:
        loc = f["location"]
        key = f"{f['rule_id']} {loc['path']}:{loc['line']}:{loc['column']}"
        keys.append(key)
        messages[key] = f["message"]
    return keys, messages, report


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """``tmp/tree`` (its own git work tree) with the good file; ``tmp/outside`` holds a secret."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.env").write_text(f"SECRET_TOKEN={OUTSIDE_MARKER}\nDB_PASSWORD={OUTSIDE_MARKER}-pw\n")
    (outside / "x.yml").write_text(f"services:\n  base:\n    image: postgres\n    environment:\n"
                                   f"      MARK: {OUTSIDE_MARKER}\n    ports: ['6379:6379']\n")
    (outside / "leak.conf").write_text(f"server {{ listen 81; server_name {OUTSIDE_MARKER}; }}\n")
    (outside / "key.pem").write_text(f"-----BEGIN PRIVATE KEY-----\n{OUTSIDE_MARKER}\n-----END PRIVATE KEY-----\n")
    root = tmp_path / "tree"
    (root / ".git").mkdir(parents=True)  # the containment root: this work tree, not tmp_path
    (root / "good").mkdir()
    (root / "good" / "docker-compose.yml").write_text(GOOD)
    return root


def compose(root: Path, body: str, folder: str = "app") -> Path:
    (root / folder).mkdir(exist_ok=True)
    path = root / folder / "docker-compose.yml"
    path.write_text(body)
    return path


def no_outside_bytes(root: Path) -> None:
    for fmt in FORMATS:
        proc = run_cli(root, "-f", fmt, "--exit-zero")
        assert proc.returncode == 0, (fmt, proc.stderr)
        assert OUTSIDE_MARKER not in proc.stdout + proc.stderr, fmt


def _env_file_relative(root: Path) -> None:
    compose(root, "services:\n  api:\n    image: nginx\n    env_file: ../../outside/secret.env\n")


def _env_file_absolute(root: Path) -> None:
    compose(root, f"services:\n  api:\n    image: nginx\n    env_file: {root.parent / 'outside' / 'secret.env'}\n")


def _dotenv_symlink(root: Path) -> None:
    compose(root, "services:\n  api:\n    image: nginx:${TAG}\n")
    (root / "app" / ".env").symlink_to(root.parent / "outside" / "secret.env")


def _extends_relative(root: Path) -> None:
    compose(root, "services:\n  api:\n    extends: {file: ../../outside/x.yml, service: base}\n")


def _extends_absolute(root: Path) -> None:
    compose(root, f"services:\n  api:\n    extends: {{file: {root.parent / 'outside' / 'x.yml'}, service: base}}\n")


CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    # name: (make the hostile part, the finding it must give, words its message must hold)
    # A path outside the tree may be legitimate (an env file on the deployment host): its values
    # are unknown (a BRL002 note at the reference), never read.
    "env_file ../": (_env_file_relative, "BRL002 app/docker-compose.yml:4:15", "outside the scanned tree"),
    "env_file absolute": (_env_file_absolute, "BRL002 app/docker-compose.yml:4:15", "outside the scanned tree"),
    ".env symlink": (_dotenv_symlink, "BRL002 app/.env:1:1", "outside the scanned tree (through a symlink)"),
    "extends ../": (_extends_relative, "BRL002 app/docker-compose.yml:3:14", "outside the scanned tree"),
    "extends absolute": (_extends_absolute, "BRL002 app/docker-compose.yml:3:14", "outside the scanned tree"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_references_out_of_the_tree_are_findings_not_reads(tree: Path, case: str) -> None:
    make, expected, words = CASES[case]
    make(tree)
    keys, messages, report = findings(tree)
    assert GOOD_FINDING in keys
    assert expected in keys, keys
    assert words in messages[expected]
    assert OUTSIDE_MARKER not in json.dumps(report)
    assert not any(key.split()[1].startswith(("../", "/")) for key in keys), keys


def test_settings_in_an_env_file_outside_the_tree_are_unknown_not_missing(tree: Path) -> None:
    compose(tree, "services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1\n"
                  "    env_file: /etc/bitriver/api.env\n  viewer:\n    image: ghcr.io/bitriver/bitriver-viewer:1\n")
    keys, messages, _ = findings(tree)
    assert not any(k.startswith("BRL303 app/") for k in keys), keys  # not "has no BITRIVER_VIEWER_ORIGIN"
    assert "BITRIVER_VIEWER_ORIGIN" not in " ".join(m for k, m in messages.items() if k.startswith("BRL303"))


def test_no_byte_from_outside_in_any_report_format(tree: Path) -> None:
    for make, _, _ in CASES.values():
        make(tree)
        (tree / "app").rename(tree / f"app-{len(list(tree.iterdir()))}")
    (tree / "web").mkdir()
    (tree / "web" / "nginx.conf").write_text("events {}\nhttp {\n  include ../../outside/*;\n}\n")
    (tree / "certs").mkdir()
    (tree / "certs" / "tls.key").symlink_to(tree.parent / "outside" / "key.pem")
    (tree / "linked").mkdir()
    (tree / "linked" / "compose.yaml").symlink_to(tree.parent / "outside" / "x.yml")
    no_outside_bytes(tree)


def test_nginx_include_out_of_the_tree(tree: Path) -> None:
    (tree / "web").mkdir()
    (tree / "web" / "nginx.conf").write_text(
        "events {}\nhttp {\n  include ../../../../../../../../outside/*;\n  server { listen 8080; }\n}\n")
    keys, messages, report = findings(tree)
    assert GOOD_FINDING in keys
    assert "BRL002 web/nginx.conf:3:3" in keys
    assert "outside the scanned tree" in messages["BRL002 web/nginx.conf:3:3"]
    assert OUTSIDE_MARKER not in json.dumps(report)


def test_symlinks_out_of_the_tree_are_not_followed(tree: Path) -> None:
    (tree / "linked").mkdir()
    (tree / "linked" / "compose.yaml").symlink_to(tree.parent / "outside" / "x.yml")
    (tree / "linked" / "tls.pem").symlink_to(tree.parent / "outside" / "key.pem")
    (tree / "infra").mkdir()
    (tree / "infra" / "lnk").symlink_to(tree.parent / "outside", target_is_directory=True)
    (tree / "infra" / "main.tf").write_text(
        'resource "aws_instance" "api" {\n  ami = "ami-1"\n  instance_type = "t3.micro"\n'
        '  user_data = file("${path.module}/lnk/secret.env")\n}\n')
    keys, messages, report = findings(tree)
    assert GOOD_FINDING in keys
    assert "BRL001 linked/compose.yaml:1:1" in keys
    assert "through a symlink" in messages["BRL001 linked/compose.yaml:1:1"]
    assert OUTSIDE_MARKER not in json.dumps(report)
    assert not any(key.startswith("BRL602 linked/") for key in keys)


def test_a_symlink_inside_the_tree_keeps_working(tree: Path) -> None:
    (tree / "shared").mkdir()
    (tree / "shared" / "db.yml").write_text(GOOD.replace("5432:5432", "6379:6379").replace("postgres:16", "redis:7"))
    (tree / "redis").mkdir()
    (tree / "redis" / "docker-compose.yml").symlink_to("../shared/db.yml")
    keys, _, _ = findings(tree)
    assert GOOD_FINDING in keys
    assert "BRL103 redis/docker-compose.yml:5:13" in keys  # reported at the link's own path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
@pytest.mark.parametrize("name", ["app/compose.yaml", "infra/main.tf", "web/x.conf"])
def test_a_fifo_is_skipped_not_opened(tree: Path, name: str) -> None:
    (tree / name).parent.mkdir()
    os.mkfifo(tree / name)
    keys, _, report = findings(tree)
    assert GOOD_FINDING in keys
    assert [s["path"] for s in report["skipped"]] == [name]  # type: ignore[index]
    assert "not a regular file" in report["skipped"][0]["reason"]  # type: ignore[index]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero here")
def test_a_link_to_a_device_is_refused(tree: Path) -> None:
    (tree / "app").mkdir()
    (tree / "app" / "docker-compose.yml").symlink_to("/dev/zero")
    keys, messages, _ = findings(tree)
    assert GOOD_FINDING in keys
    assert "outside the scanned tree" in messages["BRL001 app/docker-compose.yml:1:1"]


def test_nested_interpolation_is_a_limit_not_a_crash(tree: Path) -> None:
    value = "${A:-" * 500 + "x" + "}" * 500
    compose(tree, f'services:\n  srs:\n    image: ossrs/srs:5\n    ports: ["1985:1985"]\n'
                  f'    environment:\n      X: "{value}"\n')
    keys, _, _ = findings(tree)
    assert GOOD_FINDING in keys
    assert "BRL102 app/docker-compose.yml:4:13" in keys


def test_nginx_include_cycle_is_a_finding_and_both_files_are_checked(tree: Path) -> None:
    (tree / "web").mkdir()
    (tree / "web" / "a.conf").write_text("include b.conf;\nserver { listen 5432; }\n")
    (tree / "web" / "b.conf").write_text("include a.conf;\nserver { listen 6379; }\n")
    keys, messages, _ = findings(tree)
    assert GOOD_FINDING in keys
    cycle = [k for k in keys if k.startswith("BRL001 web/")]
    assert cycle == ["BRL001 web/b.conf:1:1"], keys
    assert "include cycle: a.conf → b.conf → a.conf" in messages[cycle[0]].replace("web/", "")
    assert "BRL107 web/a.conf:2:10" in keys
    assert "BRL107 web/b.conf:2:10" in keys


def test_deeply_nested_caddyfile(tree: Path) -> None:
    (tree / "edge").mkdir()
    body = "handle {\n" * 1000 + "reverse_proxy api:8080\n" + "}\n" * 1000
    (tree / "edge" / "Caddyfile").write_text(f"example.com {{\n{body}}}\n")
    keys, messages, _ = findings(tree)
    assert GOOD_FINDING in keys
    deep = [k for k in keys if k.startswith("BRL001 edge/Caddyfile")]
    assert deep == ["BRL001 edge/Caddyfile:67:1"], keys
    assert "nested more than 64 deep" in messages[deep[0]]


@pytest.mark.parametrize("value", ["²", "9" * 5000, "70000"])
def test_odd_port_numbers_in_units_and_environments(tree: Path, value: str) -> None:
    (tree / "units").mkdir()
    (tree / "units" / "api.socket").write_text(f"[Socket]\nListenStream=0.0.0.0:{value}\n")
    (tree / "units" / "api.service").write_text(
        f"[Service]\nExecStart=/usr/bin/bitriver-live --addr :{value}\nRestart=always\n")
    compose(tree, f"services:\n  viewer:\n    image: ghcr.io/bitriver/bitriver-viewer:1\n"
                  f"    environment:\n      PORT: '{value}'\n  redis:\n    image: redis:7\n"
                  f"    command: redis-server --port {value}\n")
    keys, messages, _ = findings(tree)
    assert GOOD_FINDING in keys
    assert not any("internal error" in m for m in messages.values()), messages


def test_the_gate_resolves_each_directory_once_and_still_follows_every_link(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Discovery asks the gate about every file: directories are resolved once each (not once per
    file and per question), while a link still gets its own resolution and verdict."""
    from bitriver_lint.discovery import discover
    from bitriver_lint.workspace import Workspace

    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "docker-compose.yml").write_text(GOOD)
    tree = tmp_path / "tree"
    for site in ("a", "b", "c"):
        (tree / site).mkdir(parents=True)
        (tree / site / "docker-compose.yml").write_text(GOOD)
        (tree / site / "haproxy.cfg").write_text("frontend fe\n  bind :80\n")
    (tree / "linked").symlink_to(tree / "a")  # not walked, but a file named through it is read
    (tree / "b" / "compose.yaml").symlink_to(outside / "docker-compose.yml")  # a file link out
    calls: list[str] = []
    real = os.path.realpath

    def counting(path: str, *args: object, **kwargs: object) -> str:
        calls.append(os.fspath(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os.path, "realpath", counting)
    ws = Workspace(tree, boundary=(tree,))
    found = discover([tree], ws, [])
    assert found.by_format["compose"] == ["a/docker-compose.yml", "b/compose.yaml", "b/docker-compose.yml",
                                         "c/docker-compose.yml"]
    refused = ws.refusal("b/compose.yaml")
    assert refused is not None and refused.kind == "outside"
    assert ws.refusal("linked/docker-compose.yml") is None
    assert ws.refusal("linked/../b/haproxy.cfg") is None  # the link is resolved before the ..
    assert ws.admit("linked/haproxy.cfg") == (tree / "a" / "haproxy.cfg").resolve()
    # The tree, its five directories as named, and the one file link.
    assert len(calls) <= 8, calls
