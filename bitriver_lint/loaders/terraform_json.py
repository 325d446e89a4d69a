"""Terraform's JSON syntax (``*.tf.json``, ``*.tfvars.json``) mapped onto the HCL module shape.

The JSON form has no schema of its own: whether ``"ingress": [{...}]`` is an argument or a
list of nested blocks depends on the provider's schema, which we do not have. A key whose value
is an object or a list of objects is therefore kept as both: an attribute (``tags``) and nested
blocks (``ingress``, ``health_check``). Builders ask for whichever they expect.

Strings in expression position are templates (``"${var.region}a"``); they are parsed with the
same HCL parser as ``.tf`` files so both syntaxes evaluate alike. ``variable`` defaults and
tfvars values are literal, as Terraform reads them.
"""

from __future__ import annotations

from typing import Any

from bitriver_lint.loaders.terraform import Attribute, Block
from bitriver_lint.loaders.terraform_eval import JsonExpression, parse_template
from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError, load_document, plain
from bitriver_lint.model import Diagnostic, Location

# Block types and how many labels each takes in JSON: {"resource": {"aws_instance": {"api": {...}}}}.
_LABELS = {"resource": 2, "data": 2, "variable": 1, "output": 1, "module": 1, "provider": 1,
           "locals": 0, "terraform": 0, "moved": 0, "import": 0, "check": 1}
_COMMENT = "//"  # Terraform's JSON syntax reserves this key for comments


def parse_file(text: str, path: str, tfvars: bool = False) -> tuple[dict[str, Attribute], list[Block],
                                                                   list[Diagnostic]]:
    try:
        document = load_document(text, path)
    except YamlError as exc:
        return {}, [], [Diagnostic("BRL001", f"invalid JSON: {exc.message}", Location(path, exc.line, exc.column))]
    if not isinstance(document, LDict):
        where = getattr(document, "loc", Location(path, 1, 1))
        return {}, [], [Diagnostic("BRL001", "a Terraform JSON file must hold one object", where)]
    if tfvars:
        return {str(k): _attribute(document, k, literal=True) for k in document if k != _COMMENT}, [], []
    blocks: list[Block] = []
    diagnostics: list[Diagnostic] = []
    for key, value in document.items():
        if key == _COMMENT:
            continue
        labels = _LABELS.get(str(key))
        if labels is None:
            diagnostics.append(Diagnostic("BRL001", f"unknown top-level block type {key!r} in Terraform JSON",
                                          document.key_loc(key)))
            continue
        blocks.extend(_blocks(str(key), [], value, document.key_loc(key), labels))
    return {}, blocks, diagnostics


def _blocks(block_type: str, labels: list[str], value: Any, where: Location, remaining: int) -> list[Block]:
    """One block per body: labels are nested object keys, and any level may be a list of objects."""
    if isinstance(value, LList):
        return [b for i, item in enumerate(value) for b in _blocks(block_type, labels, item, value.item_loc(i),
                                                                    remaining)]
    if not isinstance(value, LDict):
        return []
    if remaining:
        return [b for key, body in value.items() if key != _COMMENT
                for b in _blocks(block_type, [*labels, str(key)], body, value.key_loc(key), remaining - 1)]
    block = Block(block_type, labels, where)
    _fill(block, value)
    return [block]


def _fill(block: Block, body: LDict) -> None:
    literal = block.type == "variable"  # a variable's default is a value, not an expression
    for key, value in body.items():
        if key == _COMMENT:
            continue
        block.attributes[str(key)] = _attribute(body, key, literal)
        if block.type == "locals":
            continue  # every local is an expression, never a nested block
        items = value if isinstance(value, LList) else [value]
        if items and all(isinstance(item, LDict) for item in items):
            for i, item in enumerate(items):
                where = value.item_loc(i) if isinstance(value, LList) else body.value_loc(key)
                child = Block(str(key), [], where)
                _fill(child, item)
                block.blocks.append(child)


def _attribute(body: LDict, key: Any, literal: bool) -> Attribute:
    value = body[key]
    expression = JsonExpression(plain(value) if literal else _expressions(value))
    scalar = isinstance(value, (str, int, float, bool)) and not (isinstance(value, str) and _is_template(value))
    return Attribute(str(key), expression, body.key_loc(key), body.value_loc(key), literal or scalar)


def _is_template(text: str) -> bool:
    return "${" in text or "%{" in text


def _expressions(value: Any) -> Any:
    """The value with every template string replaced by its parsed HCL expression."""
    if isinstance(value, dict):
        return {str(k): _expressions(v) for k, v in value.items() if k != _COMMENT}
    if isinstance(value, list):
        return [_expressions(v) for v in value]
    if isinstance(value, str) and _is_template(value):
        return _template(value)
    return value


def _template(text: str) -> Any:
    template = parse_template(text)
    return text if template is None else template  # unreadable even to Terraform: keep the text
