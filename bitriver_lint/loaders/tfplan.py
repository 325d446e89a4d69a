"""``terraform show -json`` plans: resolved values mapped onto the same module shape.

A plan carries what ``terraform plan`` resolved, so no evaluation is needed; values that are
only known after apply (IDs) come back as the references the configuration section records
(``aws_security_group.api``), which is all joins need. Locations point into the plan file.
Each planned resource is one block of its own (named as its address, ``api[0]``), turned into
the same documents as ``.tf`` files.
"""

from __future__ import annotations

from typing import Any

from bitriver_lint.config import Config
from bitriver_lint.loaders.terraform import Attribute, Block, ModuleSource, documents
from bitriver_lint.loaders.terraform_document import TerraformModule
from bitriver_lint.loaders.terraform_eval import Literal
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document, plain
from bitriver_lint.workspace import FileProblem, Workspace


def load(files: list[str], ws: Workspace, config: Config) -> list[TerraformModule]:
    del config
    out: list[ModuleSource] = []
    for rel in files:
        module = ModuleSource(rel, [rel], [], {}, set(), [])
        out.append(module)
        try:
            plan = load_document(ws.read_text(rel), rel)
        except (YamlError, FileProblem) as exc:
            module.diagnostics.append(exc.diagnostic(rel))
            continue
        if not isinstance(plan, LDict):
            continue
        references = _references(plan.get("configuration"))
        _collect(module, plan.get("planned_values", {}).get("root_module") if isinstance(
            plan.get("planned_values"), LDict) else None, references)
    return documents(out)


def _references(configuration: Any) -> dict[str, dict[str, list[str]]]:
    """address -> attribute -> the references its expression makes (for after-apply values)."""
    found: dict[str, dict[str, list[str]]] = {}
    root = configuration.get("root_module") if isinstance(configuration, LDict) else None
    for resource in _list(root.get("resources") if isinstance(root, LDict) else None):
        if not isinstance(resource, LDict):
            continue
        expressions = resource.get("expressions")
        refs: dict[str, list[str]] = {}
        for name, expression in (expressions.items() if isinstance(expressions, LDict) else []):
            if isinstance(expression, LDict) and isinstance(expression.get("references"), LList):
                # "aws_security_group.api.id" and "aws_security_group.api": keep the resources.
                refs[name] = [r for r in expression["references"] if str(r).count(".") == 1]
        found[str(resource.get("address"))] = refs
    return found


def _collect(module: ModuleSource, node: Any, references: dict[str, dict[str, list[str]]]) -> None:
    if not isinstance(node, LDict):
        return
    for resource in _list(node.get("resources")):
        if isinstance(resource, LDict) and resource.get("mode", "managed") == "managed":
            module.blocks.append(_block(resource, references))
    for child in _list(node.get("child_modules")):
        _collect(module, child, references)


def _list(value: Any) -> list[Any]:
    """A list the plan should hold there; anything else (null, an object, a number) holds nothing."""
    return list(value) if isinstance(value, LList) else []


def _block(resource: LDict, references: dict[str, dict[str, list[str]]]) -> Block:
    address = str(resource.get("address", ""))
    name = address.split(".")[-1] if address else str(resource.get("name"))
    block = Block("resource", [str(resource.get("type")), name], resource.loc)
    values = resource.get("values")
    config_refs = references.get(address.split("[")[0], {})
    if isinstance(values, LDict):
        _fill(block, values, config_refs)
    return block


def _fill(block: Block, values: LDict, refs: dict[str, list[str]]) -> None:
    for key, value in values.items():
        where = values.value_loc(key)
        if isinstance(value, LList) and value and all(isinstance(v, LDict) for v in value):
            for i, item in enumerate(value):
                child = Block(str(key), [], value.item_loc(i))
                _fill(child, item, {})
                block.blocks.append(child)
            continue
        if value in (None, "") and refs.get(str(key)):
            value = refs[str(key)] if len(refs[str(key)]) > 1 or str(key).endswith("s") else refs[str(key)][0]
        elif isinstance(value, LList) and not value and refs.get(str(key)):
            value = refs[str(key)]
        block.attributes[str(key)] = Attribute(str(key), Literal(plain(value)), values.key_loc(key), where,
                                               literal=isinstance(value, (str, int, float, bool)))
