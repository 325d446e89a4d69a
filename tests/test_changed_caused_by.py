"""``--changed``: findings located in, related to, or *caused by* the changed files. A finding is
caused by a file when the document it was found in was built from that file's content (an
``extends`` base, ``.env``, an ``env_file``, tfvars, a local module, an nginx include, a unit's
EnvironmentFile): the loaders record the files read together (``Workspace.groups``)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import FIXTURES, scan_tree

from bitriver_lint.report import Report


def changed(root: Path, *files: str) -> list[str]:
    report: Report = scan_tree(root, focus={(root / f).resolve() for f in files})
    return [f"{f.rule_id} {f.location}" for f in report.active]


def copy(name: str, tmp_path: Path) -> Path:
    shutil.copytree(FIXTURES / name, tmp_path / name)
    return tmp_path / name


def test_removing_restart_from_an_extends_base_shows_the_service_that_inherits_it(tmp_path: Path) -> None:
    (tmp_path / "common.yml").write_text("services:\n  base:\n    image: redis:7\n", encoding="utf-8")
    (tmp_path / "docker-compose.yml").write_text(
        "services:\n  redis:\n    extends:\n      file: common.yml\n      service: base\n"
        "    volumes: [data:/data]\n    healthcheck:\n      test: [CMD, redis-cli, ping]\n"
        "  other:\n    image: nginx:1.27\n    restart: always\n"
        "    healthcheck:\n      test: [CMD, curl, -fsS, http://localhost/]\n", encoding="utf-8")
    (tmp_path / "notes.yml").write_text("unrelated: true\n", encoding="utf-8")
    # The unit is the compose project: the findings of its other services would show too.
    assert changed(tmp_path, "common.yml") == ["BRL502 docker-compose.yml:2:3"]
    assert changed(tmp_path, "notes.yml") == []
    # With restart: in the base, nothing is left to report.
    (tmp_path / "common.yml").write_text("services:\n  base:\n    image: redis:7\n    restart: always\n",
                                         encoding="utf-8")
    assert changed(tmp_path, "common.yml") == []


@pytest.mark.parametrize("changed_file", [".env", "bitriver.env"])
def test_an_env_file_change_shows_the_compose_findings_it_feeds(tmp_path: Path, changed_file: str) -> None:
    root = copy("compose-secrets", tmp_path)
    got = changed(root, changed_file)
    assert "BRL602 docker-compose.yml:14:35" in got
    assert "BRL602 docker-compose.yml:27:9" in got
    assert "BRL602 certs/live.key:1:1" not in got  # a file no project read


def test_a_tfvars_change_shows_the_findings_of_the_modules_it_sets(tmp_path: Path) -> None:
    root = copy("terraform-module-values", tmp_path)
    assert changed(root, "terraform.tfvars") == ["BRL101 modules/ingest/main.tf:22:3",
                                                 "BRL002 modules/ingest/main.tf:29:3"]
    # The root module passes the inputs: a change there reaches the module's findings too.
    assert changed(root, "main.tf") == ["BRL101 modules/ingest/main.tf:22:3", "BRL002 modules/ingest/main.tf:29:3"]
    (root / "README.tf.md").write_text("nothing\n", encoding="utf-8")
    assert changed(root, "README.tf.md") == []


def test_an_nginx_include_change_shows_the_findings_of_the_config_that_includes_it(tmp_path: Path) -> None:
    root = copy("origin-edge-nginx-mistakes", tmp_path)
    conf = root / "edge/nginx.conf"
    text = conf.read_text(encoding="utf-8")
    block = "        location /static/ {\n            proxy_pass http://viewer_pool;\n        }\n"
    assert block in text
    conf.write_text(text.replace(block, "        include snippets/*.conf;\n"), encoding="utf-8")
    (root / "edge/snippets").mkdir()
    (root / "edge/snippets/static.conf").write_text(block, encoding="utf-8")
    got = changed(root, "edge/snippets/static.conf")
    assert got == ["BRL302 edge/nginx.conf:6:5", "BRL304 edge/nginx.conf:7:9", "BRL302 edge/nginx.conf:12:5",
                   "BRL204 edge/nginx.conf:17:9", "BRL203 edge/nginx.conf:29:13", "BRL301 edge/nginx.conf:35:13",
                   "BRL101 edge/nginx.conf:44:9"]
    assert changed(root, "viewers/notes.yml") == []


def test_adding_a_units_missing_environment_file_shows_the_unit(tmp_path: Path) -> None:
    root = copy("systemd-environment", tmp_path)
    assert changed(root, "etc/bitriver/bitriver-live.env") == [
        "BRL002 units/bitriver-live.service:9:1", "BRL601 units/bitriver-live.service:9:1",
        "BRL601 units/bitriver-live.service:10:1", "BRL602 units/bitriver-live.service:10:13"]
    # The viewer's env file feeds the viewer unit only.
    assert changed(root, "etc/bitriver/viewer.env") == ["BRL602 etc/bitriver/viewer.env:3:23"]


def test_a_template_that_file_reads_belongs_to_its_terraform_root(tmp_path: Path) -> None:
    root = copy("terraform-user-data", tmp_path)
    got = changed(root, "fetch-settings.sh")
    assert "BRL002 main.tf:57:19" in got  # the settings that script fetches are unknown
    assert got == changed(root, "main.tf")  # the module is one document with what it reads
    (root / "other.sh").write_text("#!/bin/sh\n", encoding="utf-8")
    assert changed(root, "other.sh") == []
