"""The format registry: one entry per format carries its sniffing; loaders and builders load lazily."""

from __future__ import annotations

import importlib
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bitriver_lint import formats
from bitriver_lint.builders.common import BuildContext
from bitriver_lint.config import Config
from bitriver_lint.discovery import discover, might_be_ours, sniff
from bitriver_lint.engine import scan
from bitriver_lint.formats import REGISTRY, Claim, FileFormat, FileName
from bitriver_lint.graph import Component, Role
from bitriver_lint.model import Diagnostic, Location
from bitriver_lint.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent


def test_every_entry_names_a_loader_and_a_builder() -> None:
    names = [fmt.name for fmt in REGISTRY]
    assert len(names) == len(set(names))
    for fmt in REGISTRY:
        assert isinstance(fmt, FileFormat)
        assert callable(importlib.import_module(fmt.loader).load)
        builder = importlib.import_module(fmt.builder)
        assert callable(builder.nodes) and callable(builder.edges)


@pytest.mark.parametrize(("rel", "text", "expected"), [
    # SRS's own config is nginx-like but SRS's, even with a line HAProxy would take.
    ("ingest/srs.conf", "vhost __defaultVhost__ {\n}\nfrontend fe\n", "srs"),
    ("ingest/origin.conf", "listen 1935;\nhttp_server {\n}\nserver {\n}\n", "srs"),
    # Named for HAProxy: HAProxy's or nobody's, whatever nginx-like blocks it has.
    ("lb/haproxy-edge.conf", "server {\n listen 80;\n}\n", None),
    ("lb/edge.cfg", "server {\n}\nbackend api\n", "haproxy"),
    # Elsewhere nginx is asked first, then HAProxy.
    ("proxy/site.conf", "server {\n}\nbackend api\n", "nginx"),
    ("proxy/stats.conf", "listen stats\n  bind :8404\n", "haproxy"),
    # A unit's section header makes a .conf or .cfg systemd's before anything else looks.
    ("etc/odd.cfg", "[Service]\nExecStart=/bin/true\nbackend x\n", "systemd"),
    # JSON: a plan before Envoy, Envoy before Caddy.
    ("plan.json", '{"format_version": "1.2", "planned_values": {}, "static_resources": {}}', "tfplan"),
    ("envoy.json", '{"static_resources": {}, "apps": {"http": {}}}', "envoy"),
    ("caddy.json", '{"apps": {"http": {"servers": {}}}}', "caddy"),
    # A template is nginx's or nobody's; a key file is a private key or nobody's.
    ("t/motd.template", "Welcome\n", None),
    ("t/live.conf.template", "server {\n listen ${PORT};\n}\n", "nginx"),
    ("certs/chain.pem", "-----BEGIN CERTIFICATE-----\n", None),
    # Names decide before content does.
    ("Caddyfile.yml", "services:\n  a:\n    image: x\n", "caddy"),
    ("units/caddyfile.service", "[Service]\n", "systemd"),
    # Host firewalls: ufw commands in scripts, cloud-init and Ansible; nft and iptables-save files.
    ("deploy/firewall.sh", "#!/bin/sh\nset -e\nsudo ufw allow 22/tcp\n", "ufw"),
    ("deploy/build.sh", "#!/bin/sh\necho 'run ufw allow 22 later'\n", None),
    ("cloud-init.yaml", "#cloud-config\nruncmd:\n  - [ufw, allow, '22/tcp']\n", "ufw"),
    ("roles/fw/tasks/main.yml", "- name: ssh\n  community.general.ufw:\n    rule: allow\n", "ufw"),
    ("etc/ufw/user.rules", "*filter\n", "ufw"),
    ("etc/nftables.conf", "flush ruleset\n", "nftables"),
    ("etc/fw/edge.conf", "table inet filter {\n}\n", "nftables"),
    ("etc/iptables/rules.v4", "*filter\n:INPUT DROP [0:0]\nCOMMIT\n", "iptables"),
    ("etc/iptables/rules.v6", "# nothing here\n", None),
    ("backup/iptables.save", "*filter\n-A INPUT -j ACCEPT\nCOMMIT\n", "iptables"),
    # A compose file that runs ufw in a command stays compose's.
    ("compose.yaml", "services:\n  fw:\n    image: x\n    command: ufw allow 22\n", "compose"),
])
def test_sniffing_order(tmp_path: Path, rel: str, text: str, expected: str | None) -> None:
    (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / rel).write_text(text)
    assert sniff(rel, Workspace(tmp_path)) == expected


def test_unreadable_files_are_listed_when_a_format_might_claim_them() -> None:
    for rel in ("a/compose.yaml", "x.yml", "x.JSON", "site.conf", "lb.cfg", "k.key", "c.pem", "t.template",
                "main.tf", "Caddyfile", "api.service", "script.sh", "rules.v4", "nftables.conf", "user.rules"):
        assert might_be_ours(rel), rel  # a shell script may run ufw
    for rel in ("README.md", "x.txt", "Makefile", "build.py"):
        assert not might_be_ours(rel), rel


# -- a format added from outside: the Format protocol, nothing else ---------------------------

@dataclass
class Motd:
    path: str
    diagnostics: list[Diagnostic] = field(default_factory=list)


@dataclass(frozen=True)
class MotdFormat:
    """A toy format: ``*.motd`` files, each a component of its own."""

    name: str = "motd"
    stage: int = 0

    def by_name(self, file: FileName) -> Claim:
        return Claim.LOOK if file.endswith(".motd") else Claim.PASS

    def looks_inside(self, file: FileName) -> bool:
        return False

    def by_content(self, file: FileName, head: str) -> Claim:
        return Claim.YES if head.startswith("Welcome") else Claim.NO

    def load(self, files: list[str], ws: Workspace, config: Config) -> list[Motd]:
        return [Motd(rel) for rel in files]

    def nodes(self, docs: list[Any], ctx: BuildContext) -> None:
        for doc in docs:
            ctx.graph.add(Component(id=f"motd:{doc.path}", name="motd", role=Role.OTHER, role_reason="motd file",
                                    origin="motd", location=Location(doc.path, 1, 1)))

    def edges(self, docs: list[Any], ctx: BuildContext) -> None:
        pass


def test_a_format_is_one_registry_entry(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hello.motd").write_text("Welcome to the edge\n")
    (tmp_path / "other.motd").write_text("not a greeting\n")
    (tmp_path / "compose.yaml").write_text("services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.5.0\n")
    monkeypatch.setattr(formats, "REGISTRY", (*REGISTRY, MotdFormat()))
    found = discover([tmp_path], Workspace(tmp_path), [])
    assert found.by_format == {"compose": ["compose.yaml"], "motd": ["hello.motd"]}
    report = scan([tmp_path], Config(), root=tmp_path)
    assert report.files["motd"] == ("hello.motd",)
    assert [c.id for c in report.graph.components() if c.origin == "motd"] == ["motd:hello.motd"]


def test_loaders_are_imported_only_for_formats_found(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  api:\n    image: ghcr.io/bitriver/bitriver-live:1.5.0\n")
    code = (
        "import sys; from pathlib import Path\n"
        "from bitriver_lint.config import Config\n"
        "from bitriver_lint.engine import scan\n"
        f"root = Path({str(tmp_path)!r}); scan([root], Config(), root=root)\n"
        "heavy = [m for m in ('crossplane', 'hcl2', 'bitriver_lint.loaders.nginx', 'bitriver_lint.loaders.terraform',"
        " 'bitriver_lint.builders.terraform') if m in sys.modules]\n"
        "assert 'bitriver_lint.loaders.compose' in sys.modules\n"
        "print(heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True)
    assert done.stdout.strip() == "[]"
