"""``bitriver-lint graph --format json`` follows docs/graph-schema.json, which is generated from
the payload models, and lists every firewall layer's allow-list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, scan_tree

from bitriver_lint.cli import main
from bitriver_lint.graphviews import GRAPH_SCHEMA_VERSION, graph_document, graph_json_schema

jsonschema = pytest.importorskip("jsonschema")
SCHEMA_FILE = REPO / "docs" / "graph-schema.json"


def test_the_documented_schema_is_the_models_schema() -> None:
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert committed == json.loads(json.dumps(graph_json_schema())), (
        "docs/graph-schema.json is stale: regenerate it with "
        "python -c 'import json; from bitriver_lint.graphviews import graph_json_schema as s; "
        "print(json.dumps(s(), indent=2, sort_keys=True))' > docs/graph-schema.json")


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_every_fixture_graph_follows_the_schema(fixture: str) -> None:
    result = scan_tree(FIXTURES / fixture)
    document = json.loads(json.dumps(graph_document(result.graph, result.topology), default=str))
    jsonschema.validate(document, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    assert document["schema_version"] == GRAPH_SCHEMA_VERSION
    assert all("env" not in node for node in document["nodes"])


def test_firewall_layers_are_listed_with_their_rules(capsys: pytest.CaptureFixture[str],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FIXTURES / "terraform-aws-mistakes")
    main(["graph", ".", "--format", "json"])
    document = json.loads(capsys.readouterr().out)
    groups = [f for f in document["firewalls"] if f["layer"] == "security group"]
    assert groups, document["firewalls"]
    rules = [rule for f in groups for rule in f["allow"]]
    assert any(rule["sources"] == ["0.0.0.0/0"] and rule["ports"] == [1935, 1935] for rule in rules), rules
    for rule in rules:
        assert Path(rule["location"]["path"]).name == "main.tf" and rule["location"]["line"] > 0


def test_a_rule_whose_source_group_is_unresolved_says_so(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'module "edge" {\n  source = "git::https://example.com/edge.git"\n}\n\n'
        'resource "aws_security_group" "db" {\n  name = "db"\n}\n\n'
        'resource "aws_security_group_rule" "db_from_edge" {\n  type                     = "ingress"\n'
        '  security_group_id        = aws_security_group.db.id\n  from_port                = 5432\n'
        '  to_port                  = 5432\n  protocol                 = "tcp"\n'
        '  source_security_group_id = module.edge.security_group_id\n}\n\n'
        'resource "aws_db_instance" "postgres" {\n  engine                 = "postgres"\n'
        '  vpc_security_group_ids = [aws_security_group.db.id]\n}\n')
    result = scan_tree(tmp_path)
    document = graph_document(result.graph, result.topology)
    rules = [r for f in document["firewalls"] if f["layer"] == "security group" for r in f["allow"]]
    assert [r["assumed"] for r in rules] == [
        "module.edge.security_group_id, a group whose members are not known (taken as the private networks)"]
