"""The reports CI and code review read: JUnit test cases, the Markdown PR comment, SARIF code
flows, suppressed results and GitHub's size limits."""

from __future__ import annotations

import dataclasses
import io
import json
import re
import sys
import zlib
from pathlib import Path
from types import MappingProxyType
from xml.dom import minidom
from xml.etree import ElementTree as ET

import pytest
from conftest import FIXTURES, scan_tree

from bitriver_lint.graphviews import graph_summary
from bitriver_lint.model import Finding, Location, Related, Severity
from bitriver_lint.report import GraphEdge, GraphNode, GraphSummary, Report, RuleInfo
from bitriver_lint.reporters import junit, markdown, sarif

EXPOSURE = "docker-compose.yml"  # relative to the scanned fixture


def _render(module: object, result: Report, **kwargs: bool) -> str:
    stream = io.StringIO()
    module.render(result, stream, **kwargs)  # type: ignore[attr-defined]
    return stream.getvalue()


def _exposure(threshold: Severity = Severity.WARNING) -> Report:
    result = scan_tree(FIXTURES / "compose-exposure")
    return dataclasses.replace(result, threshold=threshold)


# -- JUnit -----------------------------------------------------------------------------------------

# The attributes the JUnit schema CI tools read (Jenkins' junit-10.xsd) allows on each element.
JUNIT_ATTRIBUTES = {
    "testsuites": {"name", "tests", "failures", "errors", "time", "disabled"},
    "testsuite": {"name", "tests", "failures", "errors", "skipped", "time", "timestamp", "hostname", "id",
                  "package", "disabled", "file"},
    "testcase": {"name", "classname", "time", "assertions", "status", "file", "line"},
    "failure": {"message", "type"},
}


def _junit_structure(xml: str) -> ET.Element:
    """Parsed by expat twice (ElementTree and minidom) and checked against the JUnit schema's
    shape: nesting, attributes, and counts that add up."""
    minidom.parseString(xml.encode("utf-8"))
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    cases = 0
    failures = 0
    for suite in root:
        assert suite.tag == "testsuite" and set(suite.attrib) <= JUNIT_ATTRIBUTES["testsuite"]
        suite_cases = list(suite)
        assert all(case.tag == "testcase" for case in suite_cases)
        suite_failures = 0
        for case in suite_cases:
            assert set(case.attrib) <= JUNIT_ATTRIBUTES["testcase"] and {"name", "classname"} <= set(case.attrib)
            children = [child.tag for child in case]
            assert children in ([], ["failure"], ["system-out"], ["failure", "system-out"]), children
            if "failure" in children:
                suite_failures += 1
                assert set(case.find("failure").attrib) <= JUNIT_ATTRIBUTES["failure"]  # type: ignore[union-attr]
        assert suite.get("tests") == str(len(suite_cases))
        assert suite.get("failures") == str(suite_failures)
        cases += len(suite_cases)
        failures += suite_failures
    assert set(root.attrib) <= JUNIT_ATTRIBUTES["testsuites"]
    assert (root.get("tests"), root.get("failures")) == (str(cases), str(failures))
    return root


def test_junit_one_case_per_rule_and_file_checked_passing_ones_included() -> None:
    result = _exposure(Severity.ERROR)
    root = _junit_structure(_render(junit, result))
    names = [case.get("name") for case in root.iter("testcase")]
    assert names == [f"{rule_id} {EXPOSURE}" for rule_id in sorted(result.checked)]
    assert len(names) == 23  # the 20 rules for a single node, and BRL001-BRL003
    assert not any(re.search(r":\d", name or "") for name in names)  # no line numbers
    failing = {case.get("name", "").split()[0]: case.find("failure") for case in root.iter("testcase")
               if case.find("failure") is not None}
    # At --severity-threshold error, the warnings (BRL101, BRL107) pass.
    assert sorted(failing) == ["BRL102", "BRL103", "BRL104", "BRL105", "BRL603"]
    brl103 = failing["BRL103"]
    assert brl103 is not None and brl103.get("type") == "error"
    assert brl103.get("message", "").endswith(" (and 1 more)")
    assert (brl103.text or "").splitlines()[0] == (
        f"{EXPOSURE}:40:9: error: PostgreSQL (5432/tcp) of postgres is reachable from anyone on the internet over "
        "IPv4 (0.0.0.0/0), outside private; no host firewall or security group is described, so they were assumed "
        "open")
    brl107 = next(case for case in root.iter("testcase") if case.get("name", "").startswith("BRL107 "))
    out = brl107.find("system-out")
    assert out is not None and (out.text or "").startswith(f"{EXPOSURE}:14:9: warning: api opens 8080/tcp")
    assert brl107.get("classname") == "bitriver-lint.BRL107" and brl107.get("file") == EXPOSURE


def test_junit_failures_follow_the_threshold() -> None:
    root = _junit_structure(_render(junit, _exposure(Severity.WARNING)))
    failing = sorted(case.get("name", "").split()[0] for case in root.iter("testcase")
                     if case.find("failure") is not None)
    assert failing == ["BRL101", "BRL102", "BRL103", "BRL104", "BRL105", "BRL107", "BRL603"]


def test_junit_suppressed_findings_pass_and_are_listed() -> None:
    result = scan_tree(FIXTURES / "compose-suppressions")
    root = _junit_structure(_render(junit, result))
    case = next(c for c in root.iter("testcase") if c.get("name") == "BRL102 docker-compose.yml")
    assert case.find("failure") is None
    out = case.find("system-out")
    assert out is not None and (out.text or "").startswith(
        "docker-compose.yml:9:9: error: ")
    assert "(suppressed: operators reach it through the bastion's WireGuard tunnel)" in (out.text or "")


def test_junit_only_selected_rules_and_through_the_cli(tmp_path: Path) -> None:
    import subprocess

    out = tmp_path / "junit.xml"
    proc = subprocess.run([sys.executable, "-m", "bitriver_lint", "fixtures/compose-exposure", "--select", "BRL1",
                           "--severity-threshold", "error", "-o", str(out)],
                          cwd=FIXTURES.parent, capture_output=True, text=True, check=False)
    assert proc.returncode == 1, proc.stderr
    root = _junit_structure(out.read_text())
    assert [s.get("name") for s in root] == [
        "BRL101 rtmp-ingest-restricted", "BRL102 srs-api-operator-only", "BRL103 datastore-not-public",
        "BRL104 api-port-internal", "BRL105 internal-services-private", "BRL107 public-port-allowlist"]
    assert root.get("failures") == "4"


def test_junit_rule_checked_only_on_files_of_environments_it_applies_to() -> None:
    """Side by side, a CDN environment and a single node: a single-node rule has cases for the
    single node's files only, a CDN rule for the CDN's, the meta rules for every file."""
    result = scan_tree(FIXTURES / "environments-mixed-layouts")
    root = _junit_structure(_render(junit, result))
    cases: dict[str, list[str]] = {}
    for case in root.iter("testcase"):
        rule_id, path = (case.get("name") or "").split(" ", 1)
        cases.setdefault(rule_id, []).append(path)
    assert cases["BRL107"] == ["envs/staging/Caddyfile", "envs/staging/docker-compose.yml"]
    assert cases["BRL106"] == ["envs/prod/main.tf"]
    assert cases["BRL001"] == ["envs/prod/main.tf", "envs/staging/Caddyfile", "envs/staging/docker-compose.yml"]


def test_junit_a_finding_s_file_is_always_a_case() -> None:
    """A finding's file is a case even if the report says nothing else of it."""
    rule = RuleInfo("BRL900", "custom", "error", "s", "d", "https://x.test/BRL900", "# BRL900")
    finding = Finding("BRL900", Severity.ERROR, "bad", Location("b.yml", 3, 1))
    result = Report(root=Path("/"), findings=(finding,), rules=MappingProxyType({"BRL900": rule}), topology="t",
                    topology_reason="r", checked=MappingProxyType({"BRL900": ("a.yml",)}))
    root = _junit_structure(_render(junit, result))
    assert [(c.get("name"), c.find("failure") is not None) for c in root.iter("testcase")] == [
        ("BRL900 a.yml", False), ("BRL900 b.yml", True)]


# -- SARIF -----------------------------------------------------------------------------------------

ALL_FIXTURES = sorted(p.name for p in FIXTURES.iterdir() if (p / "expected.yaml").is_file())


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_s_sarif_validates(shared: Path, name: str) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text())
    log = sarif.build(scan_tree(FIXTURES / name))
    jsonschema.validate(log, schema)
    for result in log["runs"][0]["results"]:  # GitHub shows related locations only when linked
        for related in result.get("relatedLocations", []):
            assert f"]({related['id']})" in result["message"]["text"]


def test_multi_hop_proof_is_a_code_flow(shared: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    root = FIXTURES / "terraform-module-security-groups"
    log = sarif.build(scan_tree(root))
    jsonschema.validate(log, json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text()))
    result = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "BRL102")
    (flow,) = result["codeFlows"]
    (thread,) = flow["threadFlows"]
    hops = [(h["location"]["physicalLocation"]["artifactLocation"]["uri"],
             h["location"]["physicalLocation"]["region"]["startLine"]) for h in thread["locations"]]
    assert hops == [("modules/srs/main.tf", 13), ("main.tf", 12), ("modules/srs/main.tf", 17), ("main.tf", 12)]
    assert thread["locations"][-1]["location"]["message"]["text"] == result["message"]["text"].split(" (proof:")[0]
    one_hop = sarif.build(scan_tree(FIXTURES / "compose-exposure"))["runs"][0]["results"]
    single = [r for r in one_hop if len(r.get("relatedLocations", [])) == 1]
    assert single and all("codeFlows" not in r for r in single)


def test_suppressed_results_kept_or_omitted() -> None:
    result = scan_tree(FIXTURES / "compose-suppressions")
    kept = sarif.build(result)["runs"][0]["results"]
    omitted = sarif.build(result, suppressed=False)["runs"][0]["results"]
    assert [r["ruleId"] for r in kept if "suppressions" in r] == ["BRL102"]
    assert len(omitted) == len(kept) - 1 and all("suppressions" not in r for r in omitted)
    assert "BRL102" not in [r["ruleId"] for r in omitted]


def test_sarif_suppressed_option_on_the_command_line() -> None:
    import subprocess

    def results(*extra: str) -> list[str]:
        proc = subprocess.run([sys.executable, "-m", "bitriver_lint", "fixtures/compose-suppressions", "-f", "sarif",
                               "--exit-zero", *extra], cwd=FIXTURES.parent, capture_output=True, text=True,
                              check=True)
        return [r["ruleId"] for r in json.loads(proc.stdout)["runs"][0]["results"]]

    assert "BRL102" in results() and results() == results("--sarif-suppressed", "keep")
    assert "BRL102" not in results("--sarif-suppressed", "omit")


def _synthetic(severities: list[Severity]) -> Report:
    rule = RuleInfo("BRL900", "custom", "warning", "s", "d", "https://x.test/BRL900", "# BRL900")
    findings = tuple(Finding("BRL900", sev, f"finding {i}", Location("a.yml", i + 1, 1), fingerprint=f"{i:032x}")
                     for i, sev in enumerate(severities))
    return Report(root=Path("/tmp"), findings=findings, rules=MappingProxyType({"BRL900": rule}), topology="t",
                  topology_reason="r")


def _dropped(log: dict[str, object]) -> list[str]:
    notices = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]  # type: ignore[index]
    return [n["message"]["text"] for n in notices if "left out" in n["message"]["text"]]


def test_past_the_result_limit_the_most_severe_are_kept(shared: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    order = [Severity.NOTE, Severity.ERROR, Severity.WARNING, Severity.ERROR, Severity.NOTE, Severity.WARNING]
    log = sarif.build(_synthetic(order), max_results=3)
    jsonschema.validate(log, json.loads((shared / "schemas" / "sarif-schema-2.1.0.json").read_text()))
    kept = [r["message"]["text"] for r in log["runs"][0]["results"]]
    assert kept == ["finding 1", "finding 2", "finding 3"]  # both errors, the first warning; file order
    assert _dropped(log) == [
        "3 of 6 results were left out to stay within GitHub code scanning's limits (25,000 results, 10 MB "
        "gzipped): the most severe were kept; the JSON report lists all"]
    assert _dropped(sarif.build(_synthetic(order))) == []


def test_past_the_gzipped_size_limit_results_are_dropped_until_it_fits() -> None:
    result = _synthetic([Severity.WARNING] * 200 + [Severity.ERROR] * 5)
    whole = len(zlib.compress(json.dumps(sarif.build(result), indent=2).encode(), 6))
    limit = whole // 3
    log = sarif.build(result, max_gzip_bytes=limit)
    assert len(zlib.compress(json.dumps(log, indent=2).encode(), 6)) <= limit
    levels = [r["level"] for r in log["runs"][0]["results"]]
    assert levels.count("error") == 5 and 0 < len(levels) < 205
    (text,) = _dropped(log)
    assert text.startswith(f"{205 - len(levels)} of 205 results were left out")


def test_github_result_limit_itself() -> None:
    log = sarif.build(_synthetic([Severity.WARNING] * (sarif.MAX_RESULTS + 2)))
    assert len(log["runs"][0]["results"]) == 25_000
    assert _dropped(log)[0].startswith("2 of 25002 results were left out")


# -- Markdown --------------------------------------------------------------------------------------


def _markdown(root: Path) -> str:
    result = scan_tree(root)
    return _render(markdown, dataclasses.replace(result, graph_summary=graph_summary(result.graph)))


def test_markdown_groups_by_severity_with_links_and_proof_chains() -> None:
    out = _markdown(FIXTURES / "compose-exposure")
    assert out.startswith("## bitriver-lint: 14 finding(s)\n\n**7** error(s), **7** warning(s), **0** note(s) "
                          "in 1 file(s)\n")
    assert out.index("### Errors (7)") < out.index("### Warnings (7)") < out.index("### Deployment graph")
    assert ("- **[BRL102](https://github.com/bitriver-live/bitriver-lint/blob/main/docs/rules/BRL102.md)** "
            "srs-api-operator-only at `docker-compose.yml:65:9`: the SRS HTTP API (1985/tcp) of srs is reachable"
            ) in out
    proof = out.split("srs-api-operator-only at `docker-compose.yml:65:9`")[1].splitlines()[1]
    assert proof == "  - `docker-compose.yml:65:9` published on \\[::\\]:1985 → container port 1985"


def test_markdown_graph_marks_the_offending_edges() -> None:
    out = _markdown(FIXTURES / "compose-exposure")
    chart = out.split("```mermaid\n")[1].split("\n```")[0].splitlines()
    links = [line for line in chart if " -->|" in line]
    (style,) = [line for line in chart if line.startswith("  linkStyle ")]
    marked = {links[int(i)] for i in style.split()[1].split(",")}
    names = {line.split('["')[0].strip(): line.split('["')[1].rstrip('"]') for line in chart if '["' in line}
    described = {f"{names[s]} {label} {names[t]}" for s, label, t in
                 (re.fullmatch(r"  (n\d+) -->\|(.*)\| (n\d+)", line).groups() for line in marked)}  # type: ignore[union-attr]
    # The published ports the exposure findings stand on, and only edges declared on their lines.
    assert "default compose-project publishes 1985 1985/tcp" in described
    assert "default compose-project publishes 5432 5432/tcp" in described
    assert not any(" runs_on " in edge or " depends_on " in edge for edge in described)


def test_markdown_from_a_generated_big_tree_fits_one_comment(tmp_path: Path) -> None:
    sys.path.insert(0, str(FIXTURES.parent / "benchmarks"))
    try:
        import scale  # type: ignore[import-not-found]
    finally:
        sys.path.pop(0)
    scale.generate(tmp_path, 120)
    result = scan_tree(tmp_path)
    out = _render(markdown, dataclasses.replace(result, graph_summary=graph_summary(result.graph)))
    assert len(out) < 65_536
    shown = sum(line.startswith("- **") for line in out.splitlines())
    more = re.search(r"\n… and (\d+) more finding\(s\): see the full report \((.*) not shown\)\.\n", out)
    assert more and int(more.group(1)) == len(result.active) - shown and shown > 50
    assert "is too large for a comment; `bitriver-lint graph` draws it." in out


def test_markdown_links_only_plain_web_addresses() -> None:
    rule = RuleInfo("BRL900", "custom", "error", "s", "d", "javascript:alert(1)", "# BRL900")
    good = dataclasses.replace(rule, id="BRL901", help_uri="https://example.test/a(b)")
    findings = (Finding("BRL900", Severity.ERROR, "x", Location("a.yml")),
                Finding("BRL901", Severity.ERROR, "y", Location("a.yml")))
    result = Report(root=Path("/"), findings=findings, rules=MappingProxyType({"BRL900": rule, "BRL901": good}),
                    topology="t", topology_reason="r")
    out = _render(markdown, result)
    assert "- **BRL900** custom at `a.yml:1:1`: x" in out and "javascript" not in out
    assert "- **BRL901** custom at `a.yml:1:1`: y" in out  # a parenthesis would end the link early


def test_markdown_chart_of_a_summary_marks_by_location() -> None:
    nodes = (GraphNode("a", "lb (proxy)"), GraphNode("b", "443/tcp"), GraphNode("c", 'x"] --> evil["y'))
    edges = (GraphEdge("a", "b", "listens", Location("lb.cfg", 4), "listens"),
             GraphEdge("a", "c", "routes", Location("lb.cfg", 9), "routes"))
    finding = Finding("BRL900", Severity.ERROR, "bad", Location("lb.cfg", 2),
                      related=(Related(Location("lb.cfg", 9, 5), "routes here"),))
    rule = RuleInfo("BRL900", "custom", "error", "s", "d", "https://x.test", "#")
    result = Report(root=Path("/"), findings=(finding,), rules=MappingProxyType({"BRL900": rule}), topology="t",
                    topology_reason="r", graph_summary=GraphSummary(nodes, edges))
    chart = _render(markdown, result).split("```mermaid\n")[1].split("\n```")[0]
    assert chart.splitlines() == [
        "flowchart LR", '  n0["lb proxy"]', '  n1["443/tcp"]', '  n2["x -- evil y"]',
        "  n0 -->|listens| n1", "  n0 -->|routes| n2",
        "  linkStyle 1 stroke:#d73a49,stroke-width:3px",
        "  classDef offending fill:#ffeef0,stroke:#d73a49,stroke-width:2px", "  class n0,n2 offending"]
