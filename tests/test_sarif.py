"""SARIF output validates against the OASIS schema and carries what code scanning needs."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO, scan_tree

from bitriver_lint.reporters import sarif
from bitriver_lint.rules import catalog


def _sarif(name: str) -> dict[str, object]:
    stream = io.StringIO()
    sarif.render(scan_tree(FIXTURES / name), stream)
    return json.loads(stream.getvalue())  # type: ignore[no-any-return]


@pytest.mark.parametrize("name", ["single-node", "compose-exposure", "compose-suppressions", "compose-broken"])
def test_sarif_validates_against_the_schema(shared: Path, name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text())
    jsonschema.validate(_sarif(name), schema)


def test_sarif_has_what_github_code_scanning_needs() -> None:
    log = _sarif("compose-exposure")
    run = log["runs"][0]  # type: ignore[index]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == sorted(catalog())  # every rule in rules/, in id order
    for rule in rules:
        assert {"id", "name", "shortDescription", "fullDescription", "help", "helpUri", "properties"} <= set(rule)
        assert rule["help"]["markdown"].startswith(f"# {rule['id']} ")
        assert rule["properties"]["tags"]
    brl102 = next(r for r in rules if r["id"] == "BRL102")
    assert float(brl102["properties"]["security-severity"]) >= 7.0
    result = next(r for r in run["results"] if r["ruleId"] == "BRL102")
    assert rules[result["ruleIndex"]]["id"] == "BRL102"
    assert result["level"] == "error"
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"] == {"uri": "docker-compose.yml", "uriBaseId": "%SRCROOT%"}
    assert loc["region"] == {"startLine": 65, "startColumn": 9}
    assert result["relatedLocations"][0]["message"]["text"].startswith("published on [::]:1985")
    assert len(result["partialFingerprints"]["bitriverLint/v1"]) == 32
    assert run["invocations"][0]["executionSuccessful"] is True


def test_suppressed_results_stay_with_a_justification() -> None:
    run = _sarif("compose-suppressions")["runs"][0]  # type: ignore[index]
    suppressed = [r for r in run["results"] if "suppressions" in r]
    assert [(r["ruleId"], r["suppressions"][0]["justification"]) for r in suppressed] == [
        ("BRL102", "operators reach it through the bastion's WireGuard tunnel")
    ]


def test_fingerprints_survive_line_shifts(tmp_path: Path) -> None:
    compose = "services:\n  db:\n    image: postgres\n    restart: always\n    ports: ['5432:5432']\n"
    (tmp_path / "docker-compose.yml").write_text(compose)
    before = {f.rule_id: f.fingerprint for f in scan_tree(tmp_path).findings}
    (tmp_path / "docker-compose.yml").write_text("# a new comment\n\n" + compose)
    after = {f.rule_id: f.fingerprint for f in scan_tree(tmp_path).findings}
    assert before == after and before


def test_the_sarif_category_names_the_scan_not_the_topology() -> None:
    import json
    import subprocess
    import sys

    def category(cwd: Path, *args: str) -> str:
        proc = subprocess.run([sys.executable, "-m", "bitriver_lint", *args, "-f", "sarif", "--exit-zero"],
                              capture_output=True, text=True, cwd=cwd, check=True)
        return str(json.loads(proc.stdout)["runs"][0]["automationDetails"]["id"])

    tree = FIXTURES / "compose-exposure"
    # From the repository's root or from inside the tree: one analysis, named by its path.
    assert category(REPO, str(tree)) == category(tree, ".") == "bitriver-lint/fixtures/compose-exposure/"
    assert category(REPO, str(tree), "--category", "prod") == "bitriver-lint/prod/"


def test_only_security_rules_carry_a_security_severity_and_messages_link_their_proof() -> None:
    from bitriver_lint.reporters.sarif import build

    result = scan_tree(FIXTURES / "compose-exposure")
    run = build(result)["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert "security-severity" in rules["BRL103"]["properties"]
    for rule_id in ("BRL001", "BRL002", "BRL501", "BRL502"):
        if rule_id in rules:
            assert "security-severity" not in rules[rule_id]["properties"], rule_id
    with_proof = [r for r in run["results"] if r.get("relatedLocations")]
    assert with_proof
    for r in with_proof:
        ids = [loc["id"] for loc in r["relatedLocations"]]
        assert all(f"]({i})" in r["message"]["text"] for i in ids), r["message"]["text"]
