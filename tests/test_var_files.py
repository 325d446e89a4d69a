"""``var_files:``: the files a Terraform root's plans pass with ``-var-file``, which the tree
alone does not say. Named in the config, their values are applied after the files Terraform
reads by itself, in the order given, and the BRL002 note about them goes away."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import brief, scan_tree

from bitriver_lint.config import load_config
from bitriver_lint.errors import ConfigError

MAIN = """variable "operator_cidr" {
  type    = string
  default = "0.0.0.0/0"
}

resource "aws_security_group" "media" {
  name = "media"
  ingress {
    from_port   = 1985
    to_port     = 1985
    protocol    = "tcp"
    cidr_blocks = [var.operator_cidr]
  }
}

resource "aws_instance" "srs" {
  ami                    = "ami-123"
  instance_type          = "m6i.2xlarge"
  vpc_security_group_ids = [aws_security_group.media.id]
  tags                   = { Name = "srs" }
}
"""


def _tree(tmp_path: Path, config: str) -> Path:
    root = tmp_path / "envs" / "app"
    root.mkdir(parents=True)
    (root / "main.tf").write_text(MAIN)
    (root / "operators.auto.tfvars").write_text('operator_cidr = "0.0.0.0/0"\n')
    (root / "prod.tfvars").write_text('operator_cidr = "198.51.100.7/32"\n')
    (root / "staging.tfvars").write_text('operator_cidr = "203.0.113.0/24"\n')
    (tmp_path / ".bitriver-lint.yaml").write_text("networks:\n  operators: [198.51.100.7/32]\n" + config)
    return tmp_path




def test_without_var_files_the_named_files_are_notes_and_the_defaults_are_checked(tmp_path: Path) -> None:
    result = scan_tree(_tree(tmp_path, ""))
    assert brief(result) == [
        "BRL102 envs/app/main.tf:8:3",  # 0.0.0.0/0, from operators.auto.tfvars
        "BRL107 envs/app/main.tf:16:1",
        "BRL002 envs/app/prod.tfvars:1:1",
        "BRL002 envs/app/staging.tfvars:1:1",
    ]
    note = next(f for f in result.findings if f.location.path == "envs/app/prod.tfvars")
    assert "`var_files:` in the config can" in note.message


def test_a_var_file_the_config_passes_is_applied_after_the_auto_files(tmp_path: Path) -> None:
    result = scan_tree(_tree(tmp_path, "var_files:\n  envs/app: [prod.tfvars]\n"))
    # prod.tfvars overrides operators.auto.tfvars, as -var-file does: the API is open to the
    # operators only (BRL107 is about the port bound on every interface, whoever may reach it).
    # staging.tfvars, which no plan is said to pass, is still a note.
    assert brief(result) == ["BRL107 envs/app/main.tf:16:1", "BRL002 envs/app/staging.tfvars:1:1"]


def test_var_files_are_applied_in_their_order(tmp_path: Path) -> None:
    result = scan_tree(_tree(tmp_path, "var_files:\n  envs/app: [prod.tfvars, staging.tfvars]\n"))
    # The last file wins: staging's range reaches the SRS API.
    assert brief(result) == ["BRL102 envs/app/main.tf:8:3", "BRL107 envs/app/main.tf:16:1"]
    assert "reachable from 203.0.113.0/24, outside operators" in result.findings[0].message


def test_a_var_file_that_does_not_exist_is_a_note_on_the_root(tmp_path: Path) -> None:
    result = scan_tree(_tree(tmp_path, "var_files:\n  envs/app: [prod.tfvars, vars/live.tfvars]\n"))
    assert brief(result) == ["BRL002 envs/app/main.tf:1:1", "BRL107 envs/app/main.tf:16:1",
                             "BRL002 envs/app/staging.tfvars:1:1"]
    missing = result.findings[0]
    assert missing.message == ("`var_files:` in the config passes envs/app/vars/live.tfvars to this root module "
                               "with -var-file, but there is no such file: the module is checked without it")


def test_paths_are_relative_to_the_config(tmp_path: Path) -> None:
    tree = _tree(tmp_path, "")
    (tree / ".bitriver-lint.yaml").unlink()
    (tree / "envs" / ".bitriver-lint.yaml").write_text(
        "networks:\n  operators: [198.51.100.7/32]\nvar_files:\n  app: [prod.tfvars]\n")
    assert brief(scan_tree(tree / "envs")) == ["BRL107 app/main.tf:16:1", "BRL002 app/staging.tfvars:1:1"]


@pytest.mark.parametrize("text", ["var_files:\n  /srv/app: [prod.tfvars]\n",
                                  "var_files:\n  app: [/etc/prod.tfvars]\n",
                                  "var_files:\n  app: prod.tfvars\n"])
def test_var_files_must_be_relative_lists(tmp_path: Path, text: str) -> None:
    path = tmp_path / ".bitriver-lint.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r":[12]: var_files"):
        load_config(path)
