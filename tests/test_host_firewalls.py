"""Host firewalls (UFW, nftables, iptables): what each reader makes of its syntax, how rules
evaluate first-match into the host firewall layer, and how Docker publishes around INPUT.

The fixtures are checked against the real tools where they are installed (``nft -c``,
``iptables-restore --test``); findings on them are in their ``expected.yaml``.
"""

from __future__ import annotations

import ipaddress
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES, brief, scan_tree
from hypothesis import given, settings
from hypothesis import strategies as st

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.builders.hostfw import attach
from bitriver_lint.config import Config
from bitriver_lint.graph import Allow, Host, ServiceGraph
from bitriver_lint.graphviews import graph_document, render_graph
from bitriver_lint.loaders import iptables, nftables, ufw
from bitriver_lint.loaders.hostfw import Firewall
from bitriver_lint.model import Location, Unknown
from bitriver_lint.vocabulary import HostKind, Layer
from bitriver_lint.workspace import Workspace

# -- helpers ------------------------------------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _ufw(text: str, path: str = "fw.sh") -> Firewall:
    return ufw.build(path, ufw.shell_commands(text, path), Location(path, 1, 1))


def _layer(firewalls: list[Firewall], tmp_path: Path) -> tuple[Host, list[Allow]]:
    graph = ServiceGraph()
    host = Host(id="h", name="h", host_kind=HostKind.SYSTEMD, location=Location("x", 1, 1))
    graph.add(host)
    attach(BuildContext(graph, Config(), Workspace(tmp_path)), host, firewalls)
    allows = [e for _, _, e in graph.edges("allows") if isinstance(e, Allow)]
    return host, allows


def _admitted(allows: list[Allow], port: int, path: str = "input", protocol: str = "tcp") -> list[tuple[str, str]]:
    """(CIDR, where) of every rule that lets ``port`` in on ``path``."""
    return sorted((cidr, str(a.location)) for a in allows if a.path == path and a.protocol == protocol
                  and a.port_from <= port <= a.port_to for cidr in a.cidrs)


def _exposure(result: object) -> list[str]:
    """The exposure findings (BRL1xx) and notes of a scan."""
    return [f for f in brief(result) if f.startswith(("BRL1", "BRL002"))]  # type: ignore[arg-type]


# -- UFW: ufw(8)'s grammar ----------------------------------------------------------------------

@pytest.mark.parametrize(("command", "verdict", "protocol", "ports", "sources"), [
    ("ufw allow 22/tcp", "accept", "tcp", [(22, 22)], None),
    ("ufw allow 53", "accept", "all", [(53, 53)], None),
    ("ufw deny 5432", "drop", "all", [(5432, 5432)], None),
    ("ufw reject 6379/tcp", "drop", "tcp", [(6379, 6379)], None),
    ("ufw limit ssh", "accept", "tcp", [(22, 22)], None),
    ("ufw allow https", "accept", "all", [(443, 443)], None),
    ("ufw allow from 10.0.0.0/8 to any port postgresql", "accept", "tcp", [(5432, 5432)], ["10.0.0.0/8"]),
    ("ufw allow 80,443/tcp", "accept", "tcp", [(80, 80), (443, 443)], None),
    ("ufw allow 6000:6007/udp", "accept", "udp", [(6000, 6007)], None),
    ("ufw allow from 10.0.0.0/8 to any port 5432", "accept", "all", [(5432, 5432)], ["10.0.0.0/8"]),
    ("ufw allow proto tcp from 203.0.113.7 to any port 1985", "accept", "tcp", [(1985, 1985)], ["203.0.113.7/32"]),
    ("ufw allow in on lo", "accept", "all", None, ["127.0.0.0/8", "::1/128"]),
    ("ufw allow OpenSSH", "accept", "tcp", [(22, 22)], None),
    ("ufw allow 'Nginx Full'", "accept", "tcp", [(80, 80), (443, 443)], None),
    ("ufw allow from 192.168.1.0/24 to any app OpenSSH", "accept", "tcp", [(22, 22)], ["192.168.1.0/24"]),
    ("sudo ufw allow in 1935/tcp comment 'RTMP ingest'", "accept", "tcp", [(1935, 1935)], None),
    ("ufw rule allow 443/tcp", "accept", "tcp", [(443, 443)], None),
])
def test_ufw_rules_follow_the_documented_grammar(command: str, verdict: str, protocol: str,
                                                 ports: list[tuple[int, int]] | None,
                                                 sources: list[str] | None) -> None:
    firewall = _ufw(f"{command}\nufw enable\n")
    (rule,) = firewall.chains[0].rules
    assert (rule.verdict, rule.protocol, rule.ports, rule.sources, rule.unknown) == (
        verdict, protocol, ports, sources, None)
    assert rule.location == Location("fw.sh", 1, 6 if command.startswith("sudo") else 1)


@pytest.mark.parametrize(("command", "unknown"), [
    ("ufw allow 'Custom SRS'", "app profile Custom SRS"),
    ("ufw allow rtmp", "app profile rtmp"),
    ("ufw allow in on eth1 to any port 5432", "interface eth1"),
    ("ufw allow from $ADMINS to any port 22", "address $ADMINS"),
    ("ufw delete allow 22/tcp", "ufw delete"),
])
def test_what_ufw_cannot_say_is_unknown_not_guessed(command: str, unknown: str) -> None:
    (rule,) = _ufw(f"{command}\nufw --force enable\n").chains[0].rules
    assert isinstance(rule.unknown, Unknown) and rule.unknown.names == (unknown,)


def test_outgoing_and_routed_rules_do_not_guard_inbound_connections() -> None:
    firewall = _ufw("ufw allow out 53\nufw route allow 80\nufw default allow outgoing\nufw enable\n")
    assert firewall.chains[0].rules == [] and firewall.chains[0].policy == "drop"


def test_ufw_insert_puts_the_rule_first_and_first_match_wins(tmp_path: Path) -> None:
    firewall = _ufw("ufw default deny incoming\nufw allow 5432/tcp\nufw insert 1 deny from 198.51.100.0/24\n"
                    "ufw enable\n")
    assert [r.location.line for r in firewall.chains[0].rules] == [3, 2]
    _, allows = _layer([firewall], tmp_path)
    assert ("198.51.100.0/24", "fw.sh:2:1") not in _admitted(allows, 5432)
    assert ("198.51.100.0/25", "fw.sh:2:1") not in _admitted(allows, 5432)
    assert ("::/0", "fw.sh:2:1") in _admitted(allows, 5432)
    assert _admitted(allows, 5433) == []  # the default deny


def test_default_allow_incoming_lets_every_port_in_at_the_policy_line(tmp_path: Path) -> None:
    firewall = _ufw("ufw default allow incoming\nufw deny 6379\nufw enable\n")
    _, allows = _layer([firewall], tmp_path)
    assert _admitted(allows, 8080) == [("0.0.0.0/0", "fw.sh:1:1"), ("::/0", "fw.sh:1:1")]
    assert _admitted(allows, 6379) == []


def test_a_script_that_never_enables_ufw_is_a_note_not_a_firewall() -> None:
    firewall = _ufw("ufw default deny incoming\nufw allow 22/tcp\n")
    assert not firewall.active
    assert [(d.rule_id, str(d.location)) for d in firewall.diagnostics] == [("BRL002", "fw.sh:2:1")]


def test_shell_variables_set_in_the_script_are_used() -> None:
    (rule,) = _ufw('VPN="10.8.0.0/24"\nufw allow from "$VPN" to any port 1985 proto tcp && ufw enable\n'
                   ).chains[0].rules
    assert rule.sources == ["10.8.0.0/24"] and rule.unknown is None


def test_a_redirection_ends_the_command_and_is_not_part_of_the_rule() -> None:
    firewall = _ufw("ufw --force enable > /dev/null 2>&1\n"
                    "ufw allow 8080/tcp comment 'API' > /dev/null 2>&1\nufw allow 1985/tcp 2>/dev/null\n")
    first, second = firewall.chains[0].rules
    assert first.unknown is None and second.unknown is None
    assert "/dev/null" not in first.text and ">" not in second.text


def test_cloud_init_runcmd_list_form_and_ansible_tasks(tmp_path: Path) -> None:
    _write(tmp_path, {
        "cloud.yaml": "#cloud-config\nruncmd:\n  - [ufw, allow, '22/tcp']\n  - [ ufw, --force, enable ]\n",
        "site.yml": "- hosts: all\n  tasks:\n    - name: ssh\n      community.general.ufw:\n        rule: limit\n"
                    "        port: '22'\n        proto: tcp\n    - name: on\n      ufw:\n        state: enabled\n"
                    "    - name: many\n      ufw:\n        rule: allow\n        port: '{{ item }}'\n"
                    "      loop: [80, 443]\n"
                    "    - name: from a variable\n      ufw:\n        rule: allow\n        port: '{{ item }}'\n"
                    "      loop: '{{ web_ports }}'\n",
        "etc/ufw/user.rules": "*filter\n### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
                              "-A ufw-user-input -p tcp --dport 22 -j ACCEPT\n"
                              "### tuple ### allow tcp 5432 0.0.0.0/0 any 10.0.0.0/8 in\n"
                              "### tuple ### allow tcp 80,443 0.0.0.0/0 any 0.0.0.0/0 Nginx%20Full - in\n"
                              "COMMIT\n",
    })
    cloud, site, rules = ufw.load(["cloud.yaml", "site.yml", "etc/ufw/user.rules"], Workspace(tmp_path), Config())
    assert cloud.active
    assert [(r.ports, str(r.location)) for r in cloud.chains[0].rules] == [([(22, 22)], "cloud.yaml:3:6")]
    assert site.active
    limit, web, tls, looped = site.chains[0].rules
    assert (limit.verdict, limit.ports, str(limit.location)) == ("accept", [(22, 22)], "site.yml:4:7")
    # A loop over a written list is one rule per item; over a variable, its values are unknown.
    assert [(r.ports, str(r.location), r.unknown) for r in (web, tls)] == [
        ([(80, 80)], "site.yml:15:14", None), ([(443, 443)], "site.yml:15:18", None)]
    assert looped.unknown is not None and "loop" in looped.unknown.why
    assert rules.active  # ufw's own state: written only while ufw manages the host
    assert [(r.ports, r.sources, r.location.line) for r in rules.chains[0].rules] == [
        ([(22, 22)], None, 2), ([(5432, 5432)], ["10.0.0.0/8"], 4), ([(80, 80), (443, 443)], None, 5)]


# -- nftables -----------------------------------------------------------------------------------

NFT = """#!/usr/sbin/nft -f
flush ruleset
define OPS = { 10.8.0.0/24 }

table inet filter {
\tset admins {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 192.0.2.0/28, 198.51.100.7 }
\t}

\tchain input {
\t\ttype filter hook input priority filter; policy drop;
\t\tct state established,related accept
\t\tiif lo accept
\t\tip saddr @admins tcp dport 22 accept
\t\tip saddr != $OPS tcp dport 1985 drop
\t\ttcp dport { 80, 443, 1985 } accept
\t\tjump services
\t}

\tchain services {
\t\tudp dport 1935-1936 accept
\t\treturn
\t}

\tchain forward {
\t\ttype filter hook forward priority filter; policy accept;
\t\ttcp dport 5432 drop
\t}
}
"""


def test_nftables_rules_sets_defines_negation_and_jumps(tmp_path: Path) -> None:
    _write(tmp_path, {"nftables.conf": NFT})
    (firewall,) = nftables.load(["nftables.conf"], Workspace(tmp_path), Config())
    assert firewall.diagnostics == []
    host, allows = _layer([firewall], tmp_path)
    assert set(host.firewall_paths) == {"input", "forward"}
    assert str(host.firewall_paths["input"]) == "nftables.conf:13:3"
    assert [c for c, w in _admitted(allows, 22) if w == "nftables.conf:16:3"] == ["192.0.2.0/28", "198.51.100.7/32"]
    # "ip saddr != $OPS ... drop" takes IPv4 only: IPv6 goes on to the set rule, as in nft.
    at_1985 = _admitted(allows, 1985)
    assert [c for c, w in at_1985 if w == "nftables.conf:18:3" and "." in c] == ["10.8.0.0/24"]
    assert [c for c, w in at_1985 if w == "nftables.conf:15:3"] == ["127.0.0.0/8", "::1/128"]
    assert any(":" in c for c, w in at_1985 if w == "nftables.conf:18:3")
    assert any(":" in c for c, w in _admitted(allows, 1936, protocol="udp") if w == "nftables.conf:23:3")
    assert [w for _, w in _admitted(allows, 1937, protocol="udp")] == ["nftables.conf:15:3"] * 2
    assert _admitted(allows, 5432, path="forward") == []
    assert ("0.0.0.0/0", "nftables.conf:28:45") in _admitted(allows, 5433, path="forward")


def test_nftables_add_commands_and_includes(tmp_path: Path) -> None:
    _write(tmp_path, {
        "fw/main.nft": 'include "rules.d/*.nft"\ninclude "/etc/nftables/missing.nft"\nadd table inet f\n'
                       "add chain inet f input { type filter hook input priority 0 ; policy drop ; }\n",
        "fw/rules.d/ssh.nft": "add rule inet f input tcp dport 22 accept\n",
    })
    (firewall,) = nftables.load(["fw/main.nft"], Workspace(tmp_path), Config())
    assert [(d.rule_id, str(d.location)) for d in firewall.diagnostics] == [("BRL002", "fw/main.nft:2:9")]
    assert firewall.files == ["fw/main.nft", "fw/rules.d/ssh.nft"]
    (chain,) = firewall.chains
    assert chain.policy == "drop" and [str(r.location) for r in chain.rules] == ["fw/rules.d/ssh.nft:1:23"]


def test_an_nft_include_cannot_leave_the_tree(tmp_path: Path) -> None:
    (tmp_path / "outside.nft").write_text("add rule inet f input tcp dport 1-65535 accept\n")
    tree = tmp_path / "tree"
    _write(tree, {"nftables.conf": 'include "../outside.nft"\n'})
    (firewall,) = nftables.load(["nftables.conf"], Workspace(tree), Config())
    assert firewall.chains == [] and firewall.files == ["nftables.conf"]


# -- iptables -----------------------------------------------------------------------------------

RULES = """*raw
:PREROUTING ACCEPT [0:0]
-A PREROUTING -s 192.0.2.66/32 -j DROP
COMMIT
*filter
:INPUT DROP [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER-USER - [0:0]
:SERVICES - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A INPUT -p tcp -m recent --update --seconds 60 --hitcount 5 -j DROP
-A INPUT -j SERVICES
-A INPUT -p tcp ! -s 10.0.0.0/8 --dport 6379 -j DROP
-A INPUT -p tcp --dport 6379 -j ACCEPT
-A SERVICES -p tcp -m multiport --dports 80,443 -j ACCEPT
-A SERVICES -i eth1 -p tcp --dport 9000 -j ACCEPT
-A SERVICES -j RETURN
-I INPUT 1 -p tcp --dport 22 -j ACCEPT
-A DOCKER-USER -p tcp --dport 5432 -s 10.0.0.0/8 -j RETURN
-A DOCKER-USER -p tcp --dport 5432 -j DROP
COMMIT
"""


def test_iptables_chains_jumps_negation_and_conditions(tmp_path: Path) -> None:
    firewall = iptables.parse("rules.v4", RULES, "ipv4")
    assert firewall.diagnostics == []
    host, allows = _layer([firewall], tmp_path)
    # -I INPUT 1 comes first; raw PREROUTING's drop of 192.0.2.66 applies on every path.
    admitted_22 = _admitted(allows, 22)
    assert "::/0" in [c for c, _ in admitted_22]  # rules.v4 does not see IPv6
    assert not any(c.startswith("192.0.2.66") for c, _ in admitted_22)
    # (raw PREROUTING's policy lets the same through: every chain on the path must)
    assert [w for c, w in admitted_22 if c == "0.0.0.0/1"] == ["rules.v4:20:1", "rules.v4:2:1"]
    assert [w for c, w in _admitted(allows, 443) if c == "0.0.0.0/2"] == ["rules.v4:17:1"]
    assert [c for c, w in _admitted(allows, 6379) if w == "rules.v4:16:1"] == ["10.0.0.0/8"]
    # A rule on an interface whose addresses we do not know is a BRL002, not a guess.
    (unknown,) = [r for r in host.unknown_rules if r.port_from <= 9000 <= r.port_to and r.protocol == "tcp"]
    assert (unknown.path, str(unknown.sources.location)) == ("input", "rules.v4:18:1")
    # DOCKER-USER guards published ports: a RETURN hands the port back to Docker, which accepts it.
    assert [c for c, w in _admitted(allows, 5432, "forward") if w == "rules.v4:21:1"] == ["10.0.0.0/8"]
    (block,) = [b for b in host.firewall_blocks if b.path == "input" and b.port_from <= 5433 <= b.port_to
                and b.protocol == "tcp"]
    assert block.description == ":INPUT DROP"


# -- which traffic each layer sees: Docker --------------------------------------------------------

UFW_SCRIPT = "ufw default deny incoming\nufw allow 22/tcp\nufw deny 5432\nufw --force enable\n"


def test_docker_publishes_around_ufw_and_the_finding_says_so(tmp_path: Path) -> None:
    _write(tmp_path, {"docker-compose.yml": "services:\n  postgres:\n    image: postgres:16\n"
                                            "    ports: ['5432:5432']\n",
                      "deploy/firewall.sh": UFW_SCRIPT})
    result = scan_tree(tmp_path)
    assert "BRL103 docker-compose.yml:4:13" in brief(result)
    (finding,) = [f for f in result.active if f.rule_id == "BRL103"]
    related = [(str(r.location), r.message) for r in finding.related]
    assert ("deploy/firewall.sh:3:1", "ufw deny 5432 at deploy/firewall.sh:3:1 does not apply: Docker publishes "
            "port 5432 of all interfaces through its own DOCKER chain (FORWARD), which INPUT rules never see"
            ) in related
    assert "host firewall" not in finding.message  # known to be bypassed, not assumed open


def test_a_host_process_is_guarded_by_the_same_ufw_rules(tmp_path: Path) -> None:
    """network_mode: host binds the host's interfaces: no DNAT, so INPUT (UFW) applies."""
    compose = ("services:\n  postgres:\n    image: postgres:16\n    network_mode: host\n"
               "    command: ['postgres', '-c', 'listen_addresses=*']\n")
    _write(tmp_path, {"docker-compose.yml": compose})
    assert "BRL103 docker-compose.yml:4:19" in brief(scan_tree(tmp_path))  # without a firewall: open
    _write(tmp_path, {"deploy/firewall.sh": UFW_SCRIPT})
    assert _exposure(scan_tree(tmp_path)) == []


def test_loopback_publishes_are_local_whatever_the_firewall(tmp_path: Path) -> None:
    _write(tmp_path, {"docker-compose.yml": "services:\n  postgres:\n    image: postgres:16\n"
                                            "    ports: ['127.0.0.1:5432:5432']\n",
                      "deploy/firewall.sh": "ufw default allow incoming\nufw enable\n"})
    assert _exposure(scan_tree(tmp_path)) == []


def test_docker_user_rules_see_the_container_port(tmp_path: Path) -> None:
    """After DNAT, DOCKER-USER sees the container port: "15432:5432" is guarded by --dport 5432."""
    _write(tmp_path, {
        "docker-compose.yml": "services:\n  postgres:\n    image: postgres:16\n    ports: ['15432:5432']\n",
        "etc/iptables/rules.v4": "*filter\n:INPUT DROP [0:0]\n:DOCKER-USER - [0:0]\n"
                                 "-A DOCKER-USER -p tcp --dport 5432 ! -s 10.0.0.0/8 -j DROP\nCOMMIT\n",
        "etc/iptables/rules.v6": "*filter\n:INPUT DROP [0:0]\n:DOCKER-USER - [0:0]\n"
                                 "-A DOCKER-USER -p tcp --dport 5432 -j DROP\nCOMMIT\n",
    })
    assert _exposure(scan_tree(tmp_path)) == []
    (tmp_path / "etc/iptables/rules.v4").write_text("*filter\n:INPUT DROP [0:0]\n:DOCKER-USER - [0:0]\n"
                                                    "-A DOCKER-USER -p tcp --dport 15432 ! -s 10.0.0.0/8 -j DROP\n"
                                                    "COMMIT\n")
    # The fix goes in DOCKER-USER, whose end hands the port to Docker: the finding is there.
    assert _exposure(scan_tree(tmp_path)) == ["BRL107 docker-compose.yml:4:13", "BRL103 etc/iptables/rules.v4:3:1"]


def test_an_nft_forward_chain_guards_published_ports(tmp_path: Path) -> None:
    _write(tmp_path, {
        "docker-compose.yml": "services:\n  redis:\n    image: redis:7\n    ports: ['6379:6379']\n",
        "nftables.conf": "table inet filter {\n  chain input {\n    type filter hook input priority 0; policy drop;\n"
                         "  }\n  chain forward {\n    type filter hook forward priority 0; policy accept;\n"
                         "    ip saddr 10.0.0.0/8 accept\n    tcp dport 6379 drop\n  }\n}\n",
    })
    assert _exposure(scan_tree(tmp_path)) == []


def test_a_firewall_with_no_machine_to_guard_is_a_note(tmp_path: Path) -> None:
    _write(tmp_path, {"ops/rules.v4": "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n"})
    result = scan_tree(tmp_path)
    assert brief(result) == ["BRL002 ops/rules.v4:1:1"]
    assert "which machine the iptables firewall in ops/rules.v4 guards is unknown" in result.active[0].message


def test_a_firewall_rule_we_cannot_read_is_a_brl002_for_the_port(tmp_path: Path) -> None:
    _write(tmp_path, {"docker-compose.yml": "services:\n  postgres:\n    image: postgres:16\n    network_mode: host\n"
                                            "    command: ['postgres', '-c', 'listen_addresses=*']\n",
                      "fw.sh": "ufw allow from $DB_CLIENTS to any port 5432\nufw enable\n"})
    found = brief(scan_tree(tmp_path))
    assert "BRL002 fw.sh:1:1" in found and not any(f.startswith("BRL103") for f in found)


# -- the graph shows the layer ---------------------------------------------------------------------

def test_graph_views_show_the_host_firewall_layer() -> None:
    result_graph = _graph(FIXTURES / "iptables-docker-user")
    document = graph_document(result_graph, "single-node")
    layers = [f for f in document["firewalls"] if f["layer"] == Layer.HOST_FIREWALL.value]
    (layer,) = layers
    forward = [a for a in layer["allow"] if a.get("path") == "forward" and a["ports"] == [1985, 1985]]
    assert [(a["sources"], a["location"]["line"]) for a in forward] == [(["10.0.0.0/8"], 15)]
    mermaid = render_graph(result_graph, "single-node", "mermaid")
    assert "allows host firewall forward 1985/tcp" in mermaid
    json.loads(render_graph(result_graph, "single-node", "json"))


def _graph(root: Path) -> ServiceGraph:
    graph = scan_tree(root).graph
    assert isinstance(graph, ServiceGraph)
    return graph


# -- the real tools agree with the fixtures --------------------------------------------------------

def _tool(*command: str) -> subprocess.CompletedProcess[str] | None:
    """Run a checker; where it needs privileges it lacks, again in a user namespace."""
    if shutil.which(command[0]) is None:
        return None
    for prefix in ((), ("unshare", "-rn")):
        if prefix and shutil.which("unshare") is None:
            break
        proc = subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=60, check=False)
        if proc.returncode == 0 or "ermission" not in proc.stderr + proc.stdout:
            return proc
    return proc


NFT_FILES = sorted(p for p in FIXTURES.glob("*/etc/nftables.conf"))
IPTABLES_FILES = sorted(FIXTURES.glob("*/etc/iptables/rules.v[46]"))


@pytest.mark.parametrize("path", NFT_FILES, ids=lambda p: p.parent.parent.name)
def test_nftables_fixtures_pass_nft_check(path: Path) -> None:
    proc = _tool("nft", "-c", "-I", str(path.parent), "-f", str(path))
    if proc is None:
        pytest.skip("nft is not installed (Debian package nftables)")
    if proc.returncode and "ermission" in proc.stderr:
        pytest.skip(f"nft -c needs privileges this machine does not give: {proc.stderr.strip()[:80]}")
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("path", IPTABLES_FILES, ids=lambda p: f"{p.parent.parent.parent.name}/{p.name}")
def test_iptables_fixtures_pass_iptables_restore_test(path: Path) -> None:
    tool = "ip6tables-restore" if path.name.endswith("v6") else "iptables-restore"
    proc = _tool(tool, "--test", str(path))
    if proc is None:
        pytest.skip(f"{tool} is not installed (Debian package iptables)")
    if proc.returncode and "ermission" in proc.stderr:
        pytest.skip(f"{tool} --test needs privileges this machine does not give: {proc.stderr.strip()[:80]}")
    assert proc.returncode == 0, proc.stderr


def test_there_are_fixtures_for_every_tool() -> None:
    assert len(NFT_FILES) >= 2 and len(IPTABLES_FILES) >= 4


# -- hostile input: loader and evaluation together ---------------------------------------------------

_NFT_TOKENS = ("table inet f {", "chain c {", "type filter hook input priority 0;", "policy drop;", "}", "{", ";",
               "\n", "tcp dport", "{ 1, 2-9 }", "ip saddr", "!=", "10.0.0.0/8", "@s", "$X", "accept", "drop",
               "jump c", "return", "iif lo", "ct state new")
_IPT_TOKENS = ("*filter\n", ":INPUT DROP [0:0]\n", ":C - [0:0]\n", "-A INPUT ", "-A C ", "-p tcp ", "--dport 1:9 ",
               "! ", "-s 10.0.0.0/8 ", "-j C\n", "-j ACCEPT\n", "-j DROP\n", "-j RETURN\n", "-i lo ", "COMMIT\n")
_UFW_TOKENS = ("ufw ", "allow ", "deny ", "insert 1 ", "from ", "10.0.0.0/8 ", "to any ", "port ", "22", "1:9/tcp",
               "proto tcp ", "default allow incoming", "enable", "\n", "on lo ", "app OpenSSH ")


@settings(max_examples=40, deadline=None)
@given(kind=st.sampled_from(["nftables", "iptables", "ufw"]), data=st.data())
def test_any_firewall_text_evaluates_without_raising(tmp_path_factory: pytest.TempPathFactory, kind: str,
                                                     data: st.DataObject) -> None:
    tokens = {"nftables": _NFT_TOKENS, "iptables": _IPT_TOKENS, "ufw": _UFW_TOKENS}[kind]
    text = "".join(data.draw(st.lists(st.sampled_from(tokens), max_size=60), label="text"))
    root = tmp_path_factory.mktemp("fw")
    name = {"nftables": "nftables.conf", "iptables": "rules.v4", "ufw": "fw.sh"}[kind]
    (root / name).write_text(text)
    loader = {"nftables": nftables.load, "iptables": iptables.load, "ufw": ufw.load}[kind]
    firewalls = loader([name], Workspace(root), Config())
    host, allows = _layer([f for f in firewalls if f.active], root)
    for allow in allows:
        assert allow.location.path == name and 0 <= allow.port_from <= allow.port_to <= 65535
    for rule in host.unknown_rules:
        assert rule.sources.location.path == name


def test_a_large_blocklist_is_judged_for_the_ports_in_use(tmp_path: Path) -> None:
    """Hundreds of /32 drops beside hundreds of ports: evaluating every port range would be
    quadratic, so the ports the host's services use are judged, exactly."""
    drops = "".join(f"-A INPUT -s 198.18.{i // 250}.{i % 250 + 1}/32 -j DROP\n" for i in range(300))
    accepts = "".join(f"-A INPUT -p tcp --dport {20000 + 2 * i} -j ACCEPT\n" for i in range(200))
    _write(tmp_path, {
        "docker-compose.yml": "services:\n  postgres:\n    image: postgres:16\n    network_mode: host\n"
                              "    command: ['postgres', '-c', 'listen_addresses=*']\n",
        "etc/iptables/rules.v4": f"*filter\n:INPUT DROP [0:0]\n{drops}{accepts}"
                                 "-A INPUT -p tcp --dport 5432 -j ACCEPT\nCOMMIT\n",
        "etc/iptables/rules.v6": "*filter\n:INPUT DROP [0:0]\nCOMMIT\n",
    })
    result = scan_tree(tmp_path)
    assert _exposure(result) == ["BRL107 docker-compose.yml:4:19", "BRL103 etc/iptables/rules.v4:503:1"]
    (host,) = [h for h in result.graph.hosts() if h.firewall_paths]
    ports = {(a.port_from, a.port_to) for _, _, a in result.graph.edges("allows") if a.path == "input"}
    assert ports == {(5432, 5432)}
    (finding,) = [f for f in result.active if f.rule_id == "BRL103"]
    assert "198.18.0.1/32" not in finding.message and "198.19.0.0/16" in finding.message
    (admitted,) = [r.message for r in finding.related if str(r.location) == "etc/iptables/rules.v4:503:1"]
    assert ("allows anyone on the internet over IPv4 (0.0.0.0/0) except 21 ranges earlier rules decide "
            "on 5432/tcp") in admitted
    assert host.firewall_paths["input"] == Location("etc/iptables/rules.v4", 2, 1)


def test_rules_past_the_limit_make_the_verdict_unknown_not_the_policy(tmp_path: Path) -> None:
    from bitriver_lint.loaders.hostfw import MAX_RULES

    rules = "".join(f"-A INPUT -s 10.0.{i // 250}.{i % 250}/32 -p tcp --dport 10000 -j ACCEPT\n"
                    for i in range(MAX_RULES + 5))
    firewall = iptables.parse("rules.v4", f"*filter\n:INPUT DROP [0:0]\n{rules}COMMIT\n", "ipv4")
    assert [(d.rule_id, str(d.location)) for d in firewall.diagnostics] == [("BRL001", f"rules.v4:{MAX_RULES + 3}:1")]
    host, _ = _layer([firewall], tmp_path)
    (unknown,) = [r for r in host.unknown_rules if r.port_from <= 5432 <= r.port_to and r.protocol == "tcp"]
    assert "were not read" in unknown.sources.value.why
    assert str(unknown.sources.location) == f"rules.v4:{MAX_RULES + 3}:1"


_NETS = st.one_of(
    st.builds(lambda address, prefix: str(ipaddress.ip_network((address, prefix), strict=False)),
              st.integers(0, 2**32 - 1), st.integers(0, 32)),
    st.sampled_from(["::/0", "::1/128", "fc00::/7", "2001:db8::/32", "2001:db8:1::/48", "0.0.0.0/0", "10.0.0.0/8"]),
)


@settings(max_examples=150, deadline=None)
@given(left=st.lists(_NETS, max_size=8), right=st.lists(_NETS, max_size=8))
def test_spans_and_cidr_sets_agree(left: list[str], right: list[str]) -> None:
    """The evaluator's spans and CidrSet (whose intersection is now one merge pass) give the
    same sets as the pairwise definition."""
    from bitriver_lint.builders.hostfw import Ranges
    from bitriver_lint.netsets import CidrSet

    a, b = CidrSet(left), CidrSet(right)
    nested = []
    for x in a.networks:
        for y in b.networks:
            if x.version == y.version and x.subnet_of(y):  # type: ignore[arg-type]
                nested.append(x)
            elif x.version == y.version and y.subnet_of(x):  # type: ignore[arg-type]
                nested.append(y)
    pairwise = CidrSet(nested)
    assert a.intersection(b) == pairwise
    spans_a, spans_b = Ranges.of(left), Ranges.of(right)
    assert CidrSet(list(spans_a.intersection(spans_b).cidrs())) == pairwise
    assert CidrSet(list(spans_a.difference(spans_b).cidrs())) == a.difference(b)
    assert CidrSet(list(spans_a.union(spans_b).cidrs())) == a.union(b)
    for single in b.networks:  # the one-span fast path of difference
        assert CidrSet(list(spans_a.difference(Ranges.of([str(single)])).cidrs())) == a.difference(
            CidrSet([single]))


def test_ufw_in_a_compute_engine_startup_script_guards_that_vm(tmp_path: Path) -> None:
    _write(tmp_path, {"main.tf": '''resource "google_compute_instance" "ingest" {
  name         = "ingest"
  machine_type = "c2-standard-8"
  zone         = "europe-west1-b"
  labels       = { role = "srs" }

  network_interface {
    network = "default"
    access_config {}
  }

  metadata_startup_script = <<-EOT
    #!/bin/bash
    ufw default deny incoming
    ufw allow from 10.8.0.0/24 to any port 1985 proto tcp
    ufw --force enable
  EOT
}
'''})
    graph = _graph(tmp_path)
    (host,) = [h for h in graph.hosts() if h.firewall_paths]
    assert host.resource == "google_compute_instance.ingest"
    at_1985 = [(a.cidrs, str(a.location)) for _, _, a in graph.edges("allows")
               if a.layer == Layer.HOST_FIREWALL and a.port_from <= 1985 <= a.port_to and a.protocol == "tcp"]
    assert at_1985 == [(["10.8.0.0/24"], "main.tf:15:5")]
