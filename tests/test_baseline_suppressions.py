"""Baselines by identity, inline suppression expiry, --no-inline-suppressions and the config's
``suppress:`` entries, as a CI job meets them: real trees in a throwaway git repository."""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, REPO

from bitriver_lint import baseline as baselines
from bitriver_lint import suppressions
from bitriver_lint.config import find_config, load_config
from bitriver_lint.engine import scan
from bitriver_lint.report import BaselineEntry, Report
from bitriver_lint.reporters import sarif

COMPOSE = "deploy/docker-compose.yml"


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # The package under test, whatever the working directory (an editable install elsewhere
    # must not stand in for it).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    return subprocess.run([sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True, text=True,
                          check=False, env=env)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree with the exposure fixture under deploy/ and an empty ci/ directory."""
    root = tmp_path / "repo"
    (root / "deploy").mkdir(parents=True)
    (root / "ci").mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    shutil.copy(FIXTURES / "compose-exposure" / "docker-compose.yml", root / COMPOSE)
    return root


def scan_repo(root: Path, **kwargs: object) -> Report:
    deploy = root / "deploy"
    return scan([deploy], load_config(find_config(deploy)), root=deploy, **kwargs)  # type: ignore[arg-type]


def brief(report: Report) -> list[str]:
    return [f"{f.rule_id} {f.location}" for f in report.active]


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def record(root: Path) -> Path:
    proc = run("deploy", "--baseline", "ci/baseline.json", "--update-baseline", cwd=root)
    assert proc.returncode == 0, proc.stderr
    return root / "ci" / "baseline.json"


# --- baselines by identity --------------------------------------------------------------------


def test_entries_name_rule_repository_path_and_entity_sorted(repo: Path) -> None:
    data = json.loads(record(repo).read_text(encoding="utf-8"))
    assert data["version"] == 2
    rows = [(r["rule_id"], r["path"], r["entity"]) for r in data["findings"]]
    assert rows == sorted(rows)
    assert ("BRL102", COMPOSE, "srs:1985/tcp") in rows
    assert ("BRL104", COMPOSE, "api:8080/tcp") in rows
    assert ("BRL107", COMPOSE, "api") in rows
    assert {r["path"] for r in data["findings"]} == {COMPOSE}
    assert not any("line" in r or "fingerprint" in r for r in data["findings"])


@pytest.mark.parametrize(
    ("old", "new", "moved"),
    [
        # A trailing comment changes the text of the offending line.
        ('      - "[::]:1985:1985"\n', '      - "[::]:1985:1985"  # SRS HTTP API\n', "BRL102"),
        # Ten lines above the service move every one of its findings down.
        ("  srs:\n", "".join(f"  # note {i}\n" for i in range(10)) + "  srs:\n", "BRL102"),
        # Unquoting the port mapping changes the line's text, not its meaning.
        ('      - "8080:8080"\n', "      - 8080:8080\n", "BRL104"),
    ],
    ids=["trailing-comment", "moved-down-ten-lines", "unquoted-port"],
)
def test_editing_the_text_does_not_resurrect_a_baselined_finding(repo: Path, old: str, new: str, moved: str) -> None:
    baseline = record(repo)
    before = scan_repo(repo)
    edit(repo / COMPOSE, old, new)
    after = scan_repo(repo)
    # The edit really changed the line's text or number, which a text-keyed baseline matched on.
    assert ({(f.location, f.fingerprint) for f in before.findings if f.rule_id == moved}
            != {(f.location, f.fingerprint) for f in after.findings if f.rule_id == moved})
    hidden = scan_repo(repo, baseline=baseline)
    assert brief(hidden) == []
    assert hidden.baseline is not None
    assert (hidden.baseline.hidden, hidden.baseline.stale) == (len(before.active), ())


def test_a_new_finding_is_not_hidden_by_the_baseline(repo: Path) -> None:
    baseline = record(repo)
    edit(repo / COMPOSE, "\nvolumes:\n", '\n  cache:\n    image: redis:7\n    restart: always\n    ports:\n'
         '      - "6380:6379"\n    healthcheck:\n      test: ["CMD", "redis-cli", "ping"]\n\nvolumes:\n')
    report = scan_repo(repo, baseline=baseline)
    # The new Redis is exposed, keeps its data in the container, and the API does not wait for
    # it: all of it is new.
    assert brief(report) == ["BRL504 docker-compose.yml:10:3", "BRL503 docker-compose.yml:76:3",
                             "BRL103 docker-compose.yml:80:9", "BRL107 docker-compose.yml:80:9"]
    assert report.baseline is not None and report.baseline.stale == ()


def test_stale_entries_are_reported_in_every_format_and_dropped_on_update(repo: Path, shared: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    record(repo)
    edit(repo / COMPOSE, '"[::]:1985:1985"', '"127.0.0.1:1985:1985"')  # fixed
    stale_102 = ("BRL102", COMPOSE, "srs:1985/tcp")
    stale_107 = ("BRL107", COMPOSE, "srs")

    text = run("deploy", "--baseline", "ci/baseline.json", "--no-color", cwd=repo)
    assert text.returncode == 0, text.stdout
    assert ("baseline: ci/baseline.json hid 11 finding(s); 2 stale entries (fixed: --update-baseline drops them)"
            in text.stdout)
    assert "  stale deploy/docker-compose.yml BRL102 srs:1985/tcp: the SRS HTTP API (1985/tcp) of srs" in text.stdout
    assert "  stale deploy/docker-compose.yml BRL107 srs: srs opens 1985/tcp" in text.stdout

    document = json.loads(run("deploy", "--baseline", "ci/baseline.json", "-f", "json", cwd=repo).stdout)
    assert document["baseline"]["hidden"] == 11 and document["baseline"]["version"] == 2
    assert [(s["rule_id"], s["path"], s["entity"]) for s in document["baseline"]["stale"]] == [stale_102, stale_107]
    jsonschema.validate(document, json.loads((REPO / "docs" / "report-schema.json").read_text(encoding="utf-8")))

    log = json.loads(run("deploy", "--baseline", "ci/baseline.json", "-f", "sarif", cwd=repo).stdout)
    jsonschema.validate(log, json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8")))
    sarif = log["runs"][0]
    assert sarif["properties"]["baseline"]["hidden"] == 11
    notes = [n["message"]["text"] for n in sarif["invocations"][0]["toolExecutionNotifications"]]
    assert notes[0] == "baseline ci/baseline.json hid 11 finding(s); 2 stale entries"
    assert notes[1].startswith("stale baseline entry: BRL102 about srs:1985/tcp in deploy/docker-compose.yml")

    update = run("deploy", "--baseline", "ci/baseline.json", "--update-baseline", cwd=repo)
    assert "wrote 11 finding(s) to ci/baseline.json; dropped 2 stale entries" in update.stderr
    rows = [(r["rule_id"], r["path"], r["entity"])
            for r in json.loads((repo / "ci" / "baseline.json").read_text(encoding="utf-8"))["findings"]]
    assert stale_102 not in rows and stale_107 not in rows and len(rows) == 11


def test_the_baseline_works_from_any_directory(repo: Path, tmp_path: Path) -> None:
    record(repo)
    inside = run(".", "--baseline", "../ci/baseline.json", "--no-color", cwd=repo / "deploy")
    assert inside.returncode == 0, inside.stdout
    assert "hid 13 finding(s)" in inside.stdout and "stale" not in inside.stdout
    outside = run(str(repo / "deploy"), "--baseline", str(repo / "ci" / "baseline.json"), "--no-color", cwd=tmp_path)
    assert outside.returncode == 0, outside.stdout
    assert "hid 13 finding(s)" in outside.stdout


def test_one_baseline_covers_a_scan_split_by_nearest_configs(repo: Path) -> None:
    """deploy/ has a config of its own (another part of the scan): the baseline is applied once
    to the merged report, so no part calls the other's entries stale."""
    (repo / "deploy" / ".bitriver-lint.yaml").write_text("exclude: []\n", encoding="utf-8")
    (repo / "edge").mkdir()
    shutil.copy(FIXTURES / "compose-suppressions" / "docker-compose.yml", repo / "edge" / "docker-compose.yml")
    assert run(".", "--baseline", "ci/baseline.json", "--update-baseline", cwd=repo).returncode == 0
    rows = json.loads((repo / "ci" / "baseline.json").read_text(encoding="utf-8"))["findings"]
    assert {r["path"] for r in rows} == {COMPOSE, "edge/docker-compose.yml"}
    proc = run(".", "--baseline", "ci/baseline.json", "--no-color", cwd=repo)
    assert proc.returncode == 0, proc.stdout
    assert f"hid {len(rows)} finding(s)" in proc.stdout and "stale" not in proc.stdout


def test_baseline_from_the_config_resolves_next_to_the_config(repo: Path) -> None:
    (repo / ".bitriver-lint.yaml").write_text("baseline: ci/baseline.json\n", encoding="utf-8")
    assert run("deploy", "--update-baseline", cwd=repo).returncode == 0
    proc = run(".", "--no-color", cwd=repo / "deploy")
    assert proc.returncode == 0 and "baseline: " in proc.stdout and "hid 13 finding(s)" in proc.stdout


def test_entries_outside_the_scan_are_neither_stale_nor_dropped(repo: Path) -> None:
    baseline = record(repo)
    proc = run("deploy", "--baseline", "ci/baseline.json", "--ignore", "BRL107", "--no-color", cwd=repo)
    assert "hid 7 finding(s)" in proc.stdout and "stale" not in proc.stdout
    update = run("deploy", "--baseline", "ci/baseline.json", "--ignore", "BRL107", "--update-baseline", cwd=repo)
    assert "wrote 7 finding(s) to ci/baseline.json; kept 6 outside this scan" in update.stderr
    assert len(json.loads(baseline.read_text(encoding="utf-8"))["findings"]) == 13


def test_two_findings_about_one_entity_need_two_entries(repo: Path) -> None:
    report = scan_repo(repo)
    one = next(f for f in report.active if f.rule_id == "BRL107" and f.entity == "api")
    baseline = repo / "ci" / "one.json"
    baselines.write(baseline, [baselines.entry_for(one, COMPOSE)] * 2)
    after = scan_repo(repo, baseline=baseline)
    assert after.baseline is not None and after.baseline.hidden == 1
    assert after.baseline.stale == (BaselineEntry("BRL107", COMPOSE, "api", one.message),)


def test_version_1_baselines_are_still_read(repo: Path) -> None:
    # What version 1 wrote: scan-root-relative paths and a fingerprint of the line's text.
    report = json.loads(run("deploy", "-f", "json", cwd=repo).stdout)
    legacy = repo / "ci" / "baseline.json"
    legacy.write_text(json.dumps({"version": 1, "findings": [
        {"rule_id": f["rule_id"], "path": f["location"]["path"], "fingerprint": f["fingerprint"]}
        for f in report["findings"]]}))
    proc = run("deploy", "--baseline", "ci/baseline.json", "--no-color", cwd=repo)
    assert proc.returncode == 0, proc.stdout
    assert ("hid 13 finding(s); version 1 matches by line text: --update-baseline rewrites it by entity"
            in proc.stdout)
    # Its paths are relative to the scan root, which is the git top level wherever one runs.
    inside = run(".", "--baseline", "../ci/baseline.json", "--no-color", cwd=repo / "deploy")
    assert inside.returncode == 0, inside.stdout
    assert "hid 13 finding(s); version 1" in inside.stdout
    assert run("deploy", "--baseline", "ci/baseline.json", "--update-baseline", cwd=repo).returncode == 0
    assert json.loads(legacy.read_text(encoding="utf-8"))["version"] == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"version": 3, "findings": []}', "has version 3; this bitriver-lint reads versions 1 and 2"),
        ('{"version": 2, "findings": [{"rule_id": "BRL102"}]}',
         "findings[0] needs the string fields rule_id, path, entity, message"),
        ("[]", "no `findings` list"),
        ('{"version": 1, "findings": [{"rule_id": "BRL102", "path": "a", "fingerprint": 7}]}',
         "findings[0] needs the string fields rule_id, path, fingerprint"),
    ],
)
def test_a_broken_baseline_is_a_one_line_config_error(repo: Path, content: str, message: str) -> None:
    (repo / "ci" / "baseline.json").write_text(content, encoding="utf-8")
    proc = run("deploy", "--baseline", "ci/baseline.json", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.startswith("bitriver-lint: config error: --baseline: ci/baseline.json")
    assert message in proc.stderr


def test_a_device_is_not_read_as_a_baseline(repo: Path) -> None:
    proc = run("deploy", "--baseline", "/dev/zero", cwd=repo)
    assert (proc.returncode, proc.stderr) == (2, "bitriver-lint: config error: --baseline: /dev/zero is not a "
                                                 "regular file\n")


# --- inline suppressions with an expiry -------------------------------------------------------

SRS = """services:
  srs:
    image: ossrs/srs:5
    restart: unless-stopped
    ports:
      - "1935:1935"
      {directive}
      - "1985:1985"
    healthcheck:
      test: ["CMD", "curl", "-fsS", "http://localhost:1985/api/v1/versions"]
"""


def srs_tree(tmp_path: Path, directive: str) -> Path:
    (tmp_path / "docker-compose.yml").write_text(SRS.format(directive=directive), encoding="utf-8")
    return tmp_path


def scan_at(root: Path, day: str, **kwargs: object) -> Report:
    return scan([root], load_config(find_config(root)), root=root, today=datetime.date.fromisoformat(day),
                **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("directive", [
    "# bitriver-lint: ignore[BRL102] until: 2026-06-30 reason: the VPN lands in June",
    "# bitriver-lint: ignore[BRL102] reason: the VPN lands in June until: 2026-06-30",
])
def test_a_suppression_holds_through_its_until_day_then_the_finding_returns(tmp_path: Path, directive: str) -> None:
    root = srs_tree(tmp_path, directive)
    for day in ("2026-01-01", "2026-06-30"):
        report = scan_at(root, day)
        assert brief(report) == ["BRL107 docker-compose.yml:8:9"]
        suppressed = [f for f in report.findings if f.suppression]
        assert [(f.rule_id, str(f.location)) for f in suppressed] == [("BRL102", "docker-compose.yml:8:9")]
        assert suppressed[0].suppression is not None
        assert suppressed[0].suppression.reason == "the VPN lands in June"
    expired = scan_at(root, "2026-07-01")
    assert brief(expired) == ["BRL003 docker-compose.yml:7:7",
                              "BRL102 docker-compose.yml:8:9", "BRL107 docker-compose.yml:8:9"]
    assert expired.active[0].message.startswith("inline suppression expired on 2026-06-30: its BRL102 finding is "
                                                "reported again")


@pytest.mark.parametrize("until", ["2026-13-01", "30/06/2026", "20260630", "soon", ""])
def test_an_until_that_is_not_an_iso_date_is_a_brl003_and_suppresses_nothing(tmp_path: Path, until: str) -> None:
    root = srs_tree(tmp_path, f"# bitriver-lint: ignore[BRL102] until: {until} reason: the VPN")
    report = scan_at(root, "2026-01-01")
    assert brief(report) == ["BRL003 docker-compose.yml:7:7",
                             "BRL102 docker-compose.yml:8:9", "BRL107 docker-compose.yml:8:9"]
    assert report.active[0].message == (f"inline suppression has until: {until!r}, which is not a date: "
                                        "write until: YYYY-MM-DD")


def test_the_default_day_is_today_in_utc(tmp_path: Path) -> None:
    root = srs_tree(tmp_path, "# bitriver-lint: ignore[BRL102] until: 2000-01-01 reason: long gone")
    report = scan([root], load_config(find_config(root)), root=root)
    assert "BRL102 docker-compose.yml:8:9" in brief(report)
    assert suppressions.today_utc() == datetime.datetime.now(datetime.UTC).date()


def test_block_comment_directives_end_at_the_comment(tmp_path: Path) -> None:
    [directive] = suppressions.parse("a.conf", "listen 1985; /* bitriver-lint: ignore[BRL102] reason: vpn "
                                              "until: 2026-06-30 */ more\n")
    assert (directive.reason, directive.until) == ("vpn", datetime.date(2026, 6, 30))
    assert directive.location.column == 14


# --- --no-inline-suppressions ------------------------------------------------------------------


def test_no_inline_suppressions_ignores_every_directive() -> None:
    proc = run("fixtures/compose-suppressions", "--no-inline-suppressions", "-f", "json", cwd=FIXTURES.parent)
    assert proc.returncode == 1
    findings = json.loads(proc.stdout)["findings"]
    located = [(f["rule_id"], f["location"]["line"], f["location"]["column"], f["suppressed"]) for f in findings]
    assert located == [("BRL102", 9, 9, None), ("BRL107", 9, 9, None), ("BRL107", 10, 9, None)]
    default = json.loads(run("fixtures/compose-suppressions", "-f", "json", cwd=FIXTURES.parent).stdout)
    assert [f["rule_id"] for f in default["findings"]].count("BRL003") == 3


# --- the config's suppress: entries ------------------------------------------------------------


def plan_tree(tmp_path: Path, entries: str) -> Path:
    shutil.copy(FIXTURES / "config-suppressions" / "plan.json", tmp_path / "plan.json")
    (tmp_path / ".bitriver-lint.yaml").write_text("topology: origin-edge\nsuppress:\n" + entries, encoding="utf-8")
    return tmp_path


def test_a_config_suppression_is_located_at_its_entry(tmp_path: Path) -> None:
    root = plan_tree(tmp_path, "  - rule: BRL602\n    path: plan.json\n    entity: password\n"
                               "    reason: a throwaway plan\n")
    report = scan_at(root, "2026-01-01")
    [secret] = [f for f in report.findings if f.rule_id == "BRL602"]
    assert secret.suppression is not None
    assert (str(secret.suppression.location), secret.suppression.reason) == (".bitriver-lint.yaml:3:5",
                                                                             "a throwaway plan")
    assert brief(report) == ["BRL101 plan.json:15:15", "BRL506 plan.json:47:40"]
    result = next(r for r in sarif.build(report)["runs"][0]["results"] if r["ruleId"] == "BRL602")
    assert result["suppressions"] == [{
        "kind": "external", "justification": "a throwaway plan",
        "location": {"physicalLocation": {"artifactLocation": {"uri": ".bitriver-lint.yaml", "uriBaseId": "%SRCROOT%"},
                                          "region": {"startLine": 3, "startColumn": 5}}}}]


def test_an_entity_covers_the_component_and_its_listeners(tmp_path: Path) -> None:
    root = plan_tree(tmp_path, "  - rule: BRL101\n    path: '**'\n    entity: aws_instance.srs\n    reason: shield\n"
                               "  - rule: BRL506\n    path: plan.json\n    entity: aws_instance\n    reason: prefix\n")
    report = scan_at(root, "2026-01-01")
    assert brief(report) == ["BRL003 .bitriver-lint.yaml:7:5", "BRL506 plan.json:47:40", "BRL602 plan.json:49:25"]
    assert report.active[0].message == ("config suppression suppresses nothing: no BRL506 about aws_instance finding "
                                        "in plan.json")


def test_an_expired_config_suppression_returns_the_finding(tmp_path: Path) -> None:
    root = plan_tree(tmp_path, "  - rule: BRL506\n    path: plan.json\n    reason: scratch\n    until: 2026-06-30\n")
    assert brief(scan_at(root, "2026-06-30")) == ["BRL101 plan.json:15:15", "BRL602 plan.json:49:25"]
    report = scan_at(root, "2026-07-01")
    assert brief(report) == ["BRL003 .bitriver-lint.yaml:3:5", "BRL101 plan.json:15:15", "BRL506 plan.json:47:40",
                             "BRL602 plan.json:49:25"]
    assert "expired on 2026-06-30" in report.active[0].message


def test_config_suppressions_apply_with_no_inline_suppressions(tmp_path: Path) -> None:
    root = plan_tree(tmp_path, "  - rule: BRL506\n    path: plan.json\n    reason: scratch\n")
    report = scan_at(root, "2026-01-01", inline_suppressions=False)
    assert [f.rule_id for f in report.findings if f.suppression] == ["BRL506"]


@pytest.mark.parametrize(
    ("entries", "error"),
    [
        ("  - rule: BRL999\n    path: plan.json\n    reason: x\n",
         ".bitriver-lint.yaml:3: suppress[0].rule: unknown rule 'BRL999'"),
        ("  - rule: BRL506\n    path: plan.json\n", ".bitriver-lint.yaml:3: suppress[0].reason: Field required"),
        ("  - rule: BRL506\n    path: plan.json\n    reason: ' '\n",
         ".bitriver-lint.yaml:5: suppress[0].reason: Value error, must say why the finding is acceptable"),
        ("  - rule: BRL506\n    path: plan.json\n    reason: x\n    until: 30/06/2026\n",
         ".bitriver-lint.yaml:6: suppress[0].until: Value error, '30/06/2026' is not a date: write YYYY-MM-DD"),
        ("  - rule: BRL506\n    path: plan.json\n    reason: x\n    color: red\n",
         ".bitriver-lint.yaml:6: suppress[0].color: unknown key"),
    ],
    ids=["unknown-rule", "no-reason", "blank-reason", "bad-date", "unknown-key"],
)
def test_a_bad_config_suppression_is_exit_two_naming_key_and_line(tmp_path: Path, entries: str, error: str) -> None:
    root = plan_tree(tmp_path, entries)
    proc = run(".", cwd=root)
    assert proc.returncode == 2
    assert proc.stderr.strip().endswith(error), proc.stderr


@pytest.mark.parametrize(
    ("path", "pattern", "matches"),
    [
        ("deploy/envoy.json", "deploy/envoy.json", True),
        ("deploy/envoy.json", "./deploy/*.json", True),
        ("deploy/edge/envoy.json", "deploy/*.json", False),
        ("deploy/edge/envoy.json", "deploy/**/*.json", True),
        ("deploy/envoy.json", "deploy/**/*.json", True),
        ("envoy.json", "**", True),
        ("deploy/envoy.jsonx", "deploy/envoy.json", False),
        ("deploy/a.json", "deploy/?.json", True),
        ("deploy/a.json", "", False),
        # Shapes that make a backtracking regex run for hours on a path that does not match.
        ("a/" * 30 + "b", "**/" * 40 + "c", False),
        ("a" * 60, "*a" * 30 + "*b", False),
    ],
)
def test_glob_match(path: str, pattern: str, matches: bool) -> None:
    assert suppressions.glob_match(path, pattern) is matches
