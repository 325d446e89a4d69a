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
    assert list(result["partialFingerprints"]) == ["bitriverLint/identity/v1"]
    assert len(result["partialFingerprints"]["bitriverLint/identity/v1"]) == 32
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


def _fingerprints(root: Path, *args: str) -> dict[tuple[str, str], list[str]]:
    """(rule, file) -> the results' fingerprints, in file order, from the real command line."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "bitriver_lint", *args, "-f", "sarif", "--exit-zero"], cwd=root,
                          capture_output=True, text=True, check=True)
    out: dict[tuple[str, str], list[str]] = {}
    for r in json.loads(proc.stdout)["runs"][0]["results"]:
        where = r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        out.setdefault((r["ruleId"], where), []).append(r["partialFingerprints"]["bitriverLint/identity/v1"])
    return out


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ('      - "[::]:1985:1985"\n', '      - "[::]:1985:1985"  # SRS HTTP API\n'),
        ('      - "8080:8080"\n', "      - 8080:8080\n"),
        ("  srs:\n", "".join(f"  # note {i}\n" for i in range(10)) + "  srs:\n"),
    ],
    ids=["trailing-comment", "unquoted-port", "moved-down-ten-lines"],
)
def test_fingerprints_name_the_identity_not_the_line(tmp_path: Path, old: str, new: str) -> None:
    """Like a baseline entry: a text edit that keeps the meaning keeps every alert, whether the
    scan starts at the repository root or inside deploy/."""
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / "deploy").mkdir()
    compose = tmp_path / "deploy" / "docker-compose.yml"
    text = (FIXTURES / "compose-exposure" / "docker-compose.yml").read_text(encoding="utf-8")
    compose.write_text(text, encoding="utf-8")
    before = _fingerprints(tmp_path, ".")
    assert before == _fingerprints(tmp_path / "deploy", ".")
    old_text = {(f.location, f.fingerprint) for f in scan_tree(tmp_path / "deploy").findings}
    assert text.count(old) == 1
    compose.write_text(text.replace(old, new), encoding="utf-8")
    # The edit did change the line's text or number, what the old fingerprint was made of...
    assert {(f.location, f.fingerprint) for f in scan_tree(tmp_path / "deploy").findings} != old_text
    # ...and no identity moved.
    assert _fingerprints(tmp_path, ".") == before
    assert _fingerprints(tmp_path / "deploy", ".") == before
    assert sum(len(v) for v in before.values()) == 13


def test_identity_fingerprints_count_occurrences_and_ignore_omitted_suppressions() -> None:
    from bitriver_lint.model import Finding, Location, Severity

    # Two findings of one rule about one entity in one file (as a baseline counts them): the
    # occurrence tells them apart; the line does not enter.
    twins = [Finding("BRL107", Severity.WARNING, "m", Location("a.yml", line, 1), entity="api") for line in (3, 9)]
    moved = [Finding("BRL107", Severity.WARNING, "m", Location("a.yml", line, 5), entity="api") for line in (4, 20)]
    first, second = (sarif.identity_fingerprints(twins)[id(f)] for f in twins)
    assert first != second
    assert [sarif.identity_fingerprints(moved)[id(f)] for f in moved] == [first, second]
    report = scan_tree(FIXTURES / "compose-suppressions")
    kept = sarif.build(report)["runs"][0]["results"]
    omitted = sarif.build(report, suppressed=False)["runs"][0]["results"]
    assert len(omitted) < len(kept)
    fingerprints = {r["partialFingerprints"]["bitriverLint/identity/v1"] for r in kept}
    # Leaving the suppressed ones out renumbers nothing.
    assert {r["partialFingerprints"]["bitriverLint/identity/v1"] for r in omitted} < fingerprints
