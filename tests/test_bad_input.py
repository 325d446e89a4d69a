"""Bad input never crashes the scan and never hides other files' findings."""

from __future__ import annotations

from pathlib import Path

from conftest import scan_tree

GOOD = """services:
  redis:
    image: redis:7
    ports:
      - "6379:6379"
"""


def _tree(tmp_path: Path, name: str, content: bytes) -> Path:
    (tmp_path / "good").mkdir()
    (tmp_path / "good" / "docker-compose.yml").write_text(GOOD)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / name).write_bytes(content)
    return tmp_path


def _findings(root: Path) -> list[tuple[str, str, str]]:
    result = scan_tree(root, select=["BRL001", "BRL103"])
    assert result.errors == ()
    return [(f.rule_id, str(f.location), f.message) for f in result.findings]


def test_invalid_yaml_is_brl001_at_the_parser_position(tmp_path: Path) -> None:
    root = _tree(tmp_path, "docker-compose.yml", b"services:\n  api:\n    image: 'unterminated\n    ports: []\n")
    found = _findings(root)
    assert found[0][:2] == ("BRL001", "bad/docker-compose.yml:5:1")
    assert "quoted scalar" in found[0][2]
    assert ("BRL103", "good/docker-compose.yml:5:9") in [f[:2] for f in found]


def test_yaml_bomb_is_brl001_not_out_of_memory(tmp_path: Path) -> None:
    lines = ["x-a: &a [" + ",".join(['"lol"'] * 10) + "]"]
    for i in range(1, 10):
        lines.append(f"x-{chr(97 + i)}: &{chr(97 + i)} [" + ",".join([f"*{chr(96 + i)}"] * 10) + "]")
    lines.append("services:\n  api:\n    image: *j")
    root = _tree(tmp_path, "compose.yaml", "\n".join(lines).encode())
    found = _findings(root)
    assert found[0][0] == "BRL001"
    assert found[0][1].startswith("bad/compose.yaml:")
    assert "alias bomb" in found[0][2]
    assert ("BRL103", "good/docker-compose.yml:5:9") in [f[:2] for f in found]


def test_services_as_a_list_is_brl001_at_the_key(tmp_path: Path) -> None:
    root = _tree(tmp_path, "docker-compose.yml", b"version: '3'\nservices:\n  - api\n  - db\n")
    found = _findings(root)
    assert found[0][:2] == ("BRL001", "bad/docker-compose.yml:3:3")
    assert "services" in found[0][2]
    assert ("BRL103", "good/docker-compose.yml:5:9") in [f[:2] for f in found]


def test_non_utf8_file_is_brl001_at_the_bad_byte(tmp_path: Path) -> None:
    root = _tree(tmp_path, "docker-compose.yml", b"services:\n  api:\n    image: caf\xe9\n")
    found = _findings(root)
    assert found[0][:2] == ("BRL001", "bad/docker-compose.yml:3:15")
    assert "UTF-8" in found[0][2]
    assert ("BRL103", "good/docker-compose.yml:5:9") in [f[:2] for f in found]


def test_oversized_file_is_brl001(tmp_path: Path) -> None:
    content = b"services:\n" + b"# padding\n" * 600_000
    root = _tree(tmp_path, "docker-compose.yml", content)
    found = _findings(root)
    assert found[0][:2] == ("BRL001", "bad/docker-compose.yml:1:1")
    assert "limit" in found[0][2]


def test_top_level_scalar_is_brl001(tmp_path: Path) -> None:
    root = _tree(tmp_path, "docker-compose.yml", b"just a string\n")
    assert _findings(root)[0][:2] == ("BRL001", "bad/docker-compose.yml:1:1")


def test_malformed_env_line_is_brl001_and_the_project_still_loads(tmp_path: Path) -> None:
    root = _tree(tmp_path, "docker-compose.yml", b"services:\n  db:\n    image: postgres\n    ports: ['5432:5432']\n")
    (root / "bad" / ".env").write_text("GOOD=1\nthis is not an assignment\n")
    found = [f[:2] for f in _findings(root)]
    assert ("BRL001", "bad/.env:2:1") in found
    assert ("BRL103", "bad/docker-compose.yml:4:13") in found
