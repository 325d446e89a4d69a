"""Terraform: positions from python-hcl2's typed tree and plan-like evaluation of values."""

from __future__ import annotations

from pathlib import Path

import pytest

from bitriver_lint.config import Config
from bitriver_lint.loaders.terraform import TerraformModule, load
from bitriver_lint.model import Unknown
from bitriver_lint.workspace import Workspace

MAIN = """variable "region" {
  default = "eu-west-1"
}
variable "api_count" {}
locals {
  az     = "${var.region}a"
  ports  = concat([80], local.extra)
  extra  = [443]
  name   = format("%s-api", "bitriver")
  size   = var.region == "eu-west-1" ? "large" : "small"
  subnet = cidrsubnet("10.0.0.0/16", 8, 2)
  merged = merge({a = 1}, {b = 2})
  first  = element(local.ports, 0)
  n      = length(local.ports) * 2
  maybe  = var.api_count + 1
  remote = data.aws_ami.ubuntu.id
}
resource "aws_security_group" "lb" {
  name = "lb"
}
resource "aws_db_instance" "pg" {
  engine                 = "postgres"
  password               = "s3cr3t"
  vpc_security_group_ids = [aws_security_group.lb.id]
  availability_zone      = local.az
}
"""


def _module(tmp_path: Path, files: dict[str, str], config: Config | None = None) -> TerraformModule:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    tf = sorted(n for n in files if n.endswith((".tf", ".tf.json")))
    (module,) = load(tf, Workspace(tmp_path), config or Config())
    return module


def test_locals_functions_conditionals_and_references(tmp_path: Path) -> None:
    module = _module(tmp_path, {"main.tf": MAIN})
    local = {name: located.value for name, located in module.locals.items()}
    assert local["az"] == "eu-west-1a"
    assert local["ports"] == [80, 443]
    assert local["name"] == "bitriver-api"
    assert local["size"] == "large"
    assert local["subnet"] == "10.0.2.0/24"
    assert local["merged"] == {"a": 1, "b": 2}
    assert local["first"] == 80
    assert local["n"] == 4
    assert isinstance(local["maybe"], Unknown) and local["maybe"].names == ("var.api_count",)
    assert isinstance(local["remote"], Unknown)
    (pg,) = module.of_type("aws_db_instance")
    assert str(pg.location) == "main.tf:21:1"
    assert pg.attributes["vpc_security_group_ids"].value == ["aws_security_group.lb"]
    assert pg.attributes["availability_zone"].value == "eu-west-1a"
    assert str(pg.attributes["password"].location) == "main.tf:23:28"
    # Written as a literal, the password is a secret of the document; the computed zone is not.
    assert [(s.name, str(s.location)) for s in module.secrets] == [("password", "main.tf:23:28")]


def test_tfvars_precedence_and_config_variables(tmp_path: Path) -> None:
    files = {"main.tf": MAIN, "terraform.tfvars": 'region = "us-east-1"\n',
             "b.auto.tfvars": 'region = "ap-south-1"\napi_count = 3\n'}
    module = _module(tmp_path, files)
    assert module.variables["region"].value == "ap-south-1"  # *.auto.tfvars after terraform.tfvars
    assert module.locals["maybe"].value == 4
    assert str(module.variables["region"].location) == "b.auto.tfvars:1:10"
    overridden = _module(tmp_path, files, Config(variables={"region": "eu-central-1"}))
    assert overridden.locals["az"].value == "eu-central-1a"


def test_a_var_file_only_var_file_reads_is_a_note_and_its_values_are_not_applied(tmp_path: Path) -> None:
    # prod.tfvars takes effect only with "terraform plan -var-file=prod.tfvars": which file a
    # plan passes is not in the tree, so neither is taken and each says so where it is.
    files = {"main.tf": MAIN, "terraform.tfvars": 'api_count = 3\n', "prod.tfvars": 'region = "us-east-1"\n',
             "staging.tfvars.json": '{"region": "eu-central-1"}\n'}
    module = _module(tmp_path, files)
    assert module.variables["region"].value == "eu-west-1"
    notes = [(str(d.location), d.message) for d in module.diagnostics if d.rule_id == "BRL002"]
    assert notes == [(name + ":1:1", f"{name} is read by Terraform only when -var-file names it, which the tree "
                      "does not say (`var_files:` in the config can): this module is checked with its variables' "
                      "defaults and terraform.tfvars, "
                      "not with the values it sets") for name in ("prod.tfvars", "staging.tfvars.json")]


def test_malformed_file_is_brl001_and_the_rest_of_the_module_loads(tmp_path: Path) -> None:
    module = _module(tmp_path, {"main.tf": MAIN, "broken.tf": 'resource "aws_instance" "x" {\n  ami = \n}\n'})
    assert [(d.rule_id, str(d.location)) for d in module.diagnostics] == [("BRL001", "broken.tf:2:9")]
    assert "invalid HCL" in module.diagnostics[0].message
    assert [[r.type, r.name] for r in module.resources] == [["aws_security_group", "lb"], ["aws_db_instance", "pg"]]


MAIN_JSON = """{
  "//": "the same shapes in Terraform's JSON syntax",
  "variable": {"region": {"default": "eu-west-1"}, "ports": {"default": [80, 443]}},
  "locals": {"az": "${var.region}a", "all_ports": "${var.ports}", "literal": "$${not.a.ref}"},
  "resource": {
    "aws_security_group": {
      "lb": {
        "name": "lb",
        "tags": {"Role": "lb"},
        "ingress": [{"from_port": 443, "to_port": 443, "cidr_blocks": ["0.0.0.0/0"]}]
      }
    },
    "aws_lb_target_group": {
      "api": {"port": 8080, "health_check": {"path": "/healthz"}}
    }
  }
}
"""


def test_json_syntax_evaluates_like_hcl_with_json_positions(tmp_path: Path) -> None:
    module = _module(tmp_path, {"main.tf.json": MAIN_JSON, "terraform.tfvars.json": '{"region": "us-east-1"}\n'})
    assert module.diagnostics == []
    local = {name: located.value for name, located in module.locals.items()}
    assert local["az"] == "us-east-1a"
    assert local["all_ports"] == [80, 443]  # "${expr}" alone keeps the value's type
    assert local["literal"] == "${not.a.ref}"
    assert str(module.variables["region"].location) == "terraform.tfvars.json:1:12"
    (sg,) = module.of_type("aws_security_group")
    assert str(sg.location) == "main.tf.json:7:7"
    assert sg.attributes["tags"].value == {"Role": "lb"}  # an object argument...
    (ingress,) = [b for b in sg.blocks if b.type == "ingress"]  # ...and a list of nested blocks
    assert str(ingress.location) == "main.tf.json:10:21"
    assert ingress.attributes["cidr_blocks"].value == ["0.0.0.0/0"]
    (tg,) = module.of_type("aws_lb_target_group")
    (check,) = [b for b in tg.blocks if b.type == "health_check"]  # a single object is one block
    assert check.attributes["path"].value == "/healthz"
    assert str(check.attributes["path"].location) == "main.tf.json:14:54"


def test_malformed_json_is_brl001_and_the_rest_of_the_module_loads(tmp_path: Path) -> None:
    module = _module(tmp_path, {"main.tf.json": MAIN_JSON, "broken.tf.json": '{"resource": {\n  "x": [1,\n}\n',
                                "odd.tf.json": '{"resources": {}}\n'})
    assert [(d.rule_id, str(d.location)) for d in module.diagnostics] == [
        ("BRL001", "broken.tf.json:3:1"), ("BRL001", "odd.tf.json:1:2")]
    assert "invalid JSON" in module.diagnostics[0].message
    assert "'resources'" in module.diagnostics[1].message
    assert [[r.type, r.name] for r in module.resources] == [["aws_security_group", "lb"],
                                                            ["aws_lb_target_group", "api"]]


def test_string_escapes_and_heredocs(tmp_path: Path) -> None:
    text = ('locals {\n'
            '  quoted = "a\\"b\\tc $${not.a.ref} \\u00e9"\n'
            '  doc    = <<-EOT\n'
            '    region=${var.region}\n'
            '      kept \\n literally\n'
            '    EOT\n'
            '}\n'
            'variable "region" {\n  default = "eu-west-1"\n}\n')
    local = {name: located.value for name, located in _module(tmp_path, {"main.tf": text}).locals.items()}
    assert local["quoted"] == 'a"b\tc ${not.a.ref} é'
    assert local["doc"] == "region=eu-west-1\n  kept \\n literally\n"


def test_parallel_parsing_gives_the_same_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    from bitriver_lint.loaders import terraform

    files = {f"m{i}/main.tf": MAIN.replace('"lb"', f'"lb{i}"') for i in range(3)}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir()
        (tmp_path / name).write_text(text)
    (tmp_path / "m0" / "broken.tf").write_text('resource "aws_instance" "x" {\n  ami = \n}\n')
    rels = sorted([*files, "m0/broken.tf"])

    def shape(modules: list[TerraformModule]) -> list[object]:
        return [(m.directory, [(r.address, str(r.location)) for r in m.resources],
                 [(d.rule_id, str(d.location)) for d in m.diagnostics], m.locals["ports"].value) for m in modules]

    serial = shape(load(rels, Workspace(tmp_path), Config()))
    pools: list[int] = []
    real_pool = concurrent.futures.ProcessPoolExecutor

    def counting_pool(*args: object, **kwargs: object) -> concurrent.futures.ProcessPoolExecutor:
        pools.append(1)
        return real_pool(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(terraform, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", counting_pool)
    parallel = shape(load(rels, Workspace(tmp_path, jobs=2), Config()))
    assert pools == [1]
    assert parallel == serial
    assert serial[0][2] == [("BRL001", "m0/broken.tf:2:9")]


def test_parsing_falls_back_to_one_process_when_no_pool_can_start(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    from bitriver_lint.loaders import terraform

    for i in range(2):
        (tmp_path / f"m{i}").mkdir()
        (tmp_path / f"m{i}" / "main.tf").write_text(MAIN)

    def no_pool(*args: object, **kwargs: object) -> None:
        raise OSError(38, "Function not implemented")  # what a sandbox without /dev/shm raises

    monkeypatch.setattr(terraform, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", no_pool)
    modules = load(["m0/main.tf", "m1/main.tf"], Workspace(tmp_path, jobs=2), Config())
    assert [m.locals["az"].value for m in modules] == ["eu-west-1a", "eu-west-1a"]


def test_modules_calling_the_root_and_resources_switched_off(tmp_path: Path) -> None:
    (tmp_path / "examples" / "complete").mkdir(parents=True)
    (tmp_path / "main.tf").write_text(
        'variable "create" {\n  default = true\n}\n'
        'resource "aws_lb" "this" {\n  count = var.create ? 1 : 0\n}\n'
        'resource "aws_security_group" "lb" {\n  for_each = var.create ? {a = 1} : {}\n}\n')
    (tmp_path / "examples" / "complete" / "main.tf").write_text(
        'module "on" {\n  source = "../../"\n}\n'
        'module "off" {\n  source = "../../"\n  create = false\n}\n')
    modules = load(["examples/complete/main.tf", "main.tf"], Workspace(tmp_path), Config())
    # The root directory is read through its callers (as Terraform would), once per call.
    assert [m.prefix for m in modules] == ["", "module.on.", "module.off."]
    on, off = modules[1], modules[2]
    assert [[r.type, r.name] for r in on.resources] == [["aws_lb", "this"], ["aws_security_group", "lb"]]
    assert off.resources == []  # count = 0 and an empty for_each create nothing


def test_for_expressions_and_splats(tmp_path: Path) -> None:
    text = ('variable "rules" {\n  default = {web = {port = 80}, api = {port = 8080}}\n}\n'
            'locals {\n'
            '  ports   = [for name, rule in var.rules : rule.port if name != "web"]\n'
            '  by_port = {for name, rule in var.rules : rule.port => name}\n'
            '  grouped = {for s in ["a", "b", "a"] : s => s...}\n'
            '  indexed = [for i, s in ["p", "q"] : "${i}-${s}"]\n'
            '  ids     = [{id = 1}, {id = 2}][*].id\n'
            '  unknown = [for s in var.nope : s]\n'
            '}\n')
    local = {name: located.value for name, located in _module(tmp_path, {"main.tf": text}).locals.items()}
    assert local["ports"] == [8080]
    assert local["by_port"] == {"80": "web", "8080": "api"}
    assert local["grouped"] == {"a": ["a", "a"], "b": ["b"]}
    assert local["indexed"] == ["0-p", "1-q"]
    assert local["ids"] == [1, 2]
    assert isinstance(local["unknown"], Unknown) and local["unknown"].names == ("var.nope",)


def test_file_functions_read_only_the_scanned_tree(tmp_path: Path) -> None:
    (tmp_path / "infra").mkdir()
    (tmp_path / "infra" / "boot.sh.tftpl").write_text("export ORIGIN=${origin}\n")
    (tmp_path / "outside.txt").write_text("not in the module's tree, but in the scan root\n")
    text = ('locals {\n'
            '  rendered = templatefile("${path.module}/boot.sh.tftpl", { origin = "https://x" })\n'
            '  sibling  = file("${path.module}/../outside.txt")\n'
            '  absolute = file("/etc/hostname")\n'
            '  escaping = file("../../etc/hostname")\n'
            '  missing  = file("${path.module}/nope.sh")\n'
            '}\n')
    (tmp_path / "infra" / "main.tf").write_text(text)
    (module,) = load(["infra/main.tf"], Workspace(tmp_path), Config())
    local = {name: located.value for name, located in module.locals.items()}
    assert local["rendered"] == "export ORIGIN=https://x\n" and local["rendered"].path == "infra/boot.sh.tftpl"
    assert local["sibling"].startswith("not in the module's tree")
    for name in ("absolute", "escaping", "missing"):
        assert isinstance(local[name], Unknown) and local[name].why == "reads a file that is not in the scanned tree"
