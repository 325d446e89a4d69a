"""Terraform modules, read the way ``terraform plan`` would resolve them.

Each ``.tf`` file is parsed once with python-hcl2's typed parse tree, which keeps the line and
column of every block and attribute. A directory is one module: variable defaults, then
``terraform.tfvars``, then ``*.auto.tfvars`` in name order, then the config's ``variables``;
``locals`` are evaluated on demand. Values that cannot be known (unset variables, data
sources, remote modules) are ``Unknown``s.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bitriver_lint.config import Config
from bitriver_lint.loaders.terraform_eval import Literal, Scope, Syntax, evaluate, to_syntax
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.workspace import FileProblem, Workspace


@dataclass
class Attribute:
    name: str
    expr: Any  # a Syntax node, or a Literal/JsonExpression for plans and JSON syntax
    location: Location  # the attribute name
    value_location: Location
    literal: bool  # a plain string/number written as is, not computed
    scope: dict[str, Any] | None = None  # names bound around it (a dynamic block's iterator)


@dataclass
class Block:
    type: str
    labels: list[str]
    location: Location
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)


@dataclass
class TerraformModule:
    directory: str
    files: list[str]
    blocks: list[Block]
    variables: dict[str, Located[Any]]
    sensitive: set[str]
    tfvars: list[tuple[str, Attribute]]  # (file, assignment) from *.tfvars
    diagnostics: list[Diagnostic] = field(default_factory=list)
    locals_: dict[str, Attribute] = field(default_factory=dict)
    _local_values: dict[str, Any] = field(default_factory=dict)
    _off: dict[int, bool] = field(default_factory=dict)  # resources switched off, by id(block)
    prefix: str = ""  # "module.cdn." for an instance of a local module
    root: str | None = None  # the directory of the root module this instance belongs to
    reader: Callable[[str], str | None] | None = None  # files of the tree, for file()/templatefile()
    called_at: Location | None = None  # the root module's ``module`` block this instance comes from

    @property
    def root_directory(self) -> str:
        """The root module's directory: where this instance's environment lives."""
        return self.root if self.root is not None else self.directory

    def of_type(self, block_type: str) -> list[Block]:
        return [b for b in self.blocks if b.type == block_type]

    def resources(self, resource_type: str | None = None) -> list[Block]:
        """Resources Terraform would create: not those switched off with ``count = 0`` or an
        empty ``for_each`` (community modules guard everything with ``var.create ? 1 : 0``)."""
        return [b for b in self.of_type("resource")
                if (resource_type is None or b.labels[0] == resource_type) and not self._switched_off(b)]

    def _switched_off(self, block: Block) -> bool:
        off = self._off.get(id(block))
        if off is None:
            self._off[id(block)] = False  # while evaluating: a count that refers back to itself is not ours to judge
            off = self._off[id(block)] = not self.instance_scopes(block)
        return off

    def scope(self, extra: Mapping[str, Any] | None = None) -> Scope:
        values = {k: v.value for k, v in self.variables.items()}
        paths = {"path": {"module": self.directory or ".", "root": self.root_directory or ".",
                          "cwd": self.root_directory or "."}}
        return Scope(values, _Locals(self), self._resolve, {**paths, **(extra or {})}, self.reader)

    def value(self, attribute: Attribute | None, extra: Mapping[str, Any] | None = None) -> Any:
        if attribute is None:
            return None
        if attribute.scope:
            extra = {**attribute.scope, **(extra or {})}
        return evaluate(attribute.expr, self.scope(extra))

    def instance_scopes(self, block: Block) -> list[tuple[str, dict[str, Any]]]:
        """(address, names to evaluate it with) per instance ``count``/``for_each`` make; one
        instance, with nothing bound, when neither is set or can be known."""
        ref = ".".join(block.labels[:2])
        count = self.value(block.attributes.get("count"))
        if isinstance(count, int) and not isinstance(count, bool):
            return [(f"{ref}[{i}]", {"count": {"index": i}}) for i in range(count)]
        each = self.value(block.attributes.get("for_each"))
        if isinstance(each, (dict, list)):
            items = each.items() if isinstance(each, dict) else [(k, k) for k in each]
            return [(f'{ref}["{k}"]', {"each": {"key": k, "value": v}}) for k, v in items]
        return [(ref, {})]

    def instances(self, block: Block) -> list[tuple[str, Block]]:
        """(address, copy) per instance, each copy evaluated with its own ``count``/``each``."""
        return [(address, _bound(block, block.type, block.location, scope) if scope else block)
                for address, scope in self.instance_scopes(block)]

    def nested(self, block: Block, *block_types: str) -> list[Block]:
        """The nested blocks of these types, ``dynamic`` ones expanded with this module's values
        (a ``for_each`` that cannot be known gives one copy whose values are all Unknown)."""
        out: list[Block] = []
        for child in block.blocks:
            if child.type in block_types:
                out.append(child)
            elif child.type == "dynamic" and child.labels[:1] and child.labels[0] in block_types:
                out.extend(self._expand_dynamic(child))
        for block_type in block_types:
            if not any(b.type == block_type for b in out) and block_type in block.attributes:
                out.extend(self._attribute_blocks(block.attributes[block_type]))
        return out

    def _attribute_blocks(self, attribute: Attribute) -> list[Block]:
        """``ingress = [{...}]``: the attribute form of nested blocks the AWS provider accepts."""
        value = self.value(attribute)
        items = value if isinstance(value, list) else [value]
        if not all(isinstance(i, (dict, Unknown)) for i in items):
            return []
        blocks: list[Block] = []
        for item in items:
            copy = Block(attribute.name, [], attribute.value_location)
            # An entry we cannot know makes every value of its copy unknown: rules note, not guess.
            fields = item if isinstance(item, dict) else dict.fromkeys(_UNKNOWN_ENTRY_KEYS, item)
            copy.attributes = {k: Attribute(k, Literal(v), attribute.location, attribute.value_location,
                                            isinstance(v, (str, int, float, bool)))
                               for k, v in fields.items()}
            blocks.append(copy)
        return blocks

    def _expand_dynamic(self, dynamic: Block) -> list[Block]:
        content = next((b for b in dynamic.blocks if b.type == "content"), None)
        if content is None:
            return []
        iterator = dynamic.attributes.get("iterator")
        name = _text(iterator.expr).strip() if iterator is not None and isinstance(iterator.expr, tuple) \
            else dynamic.labels[0]
        each = self.value(dynamic.attributes.get("for_each"))
        if isinstance(each, Unknown):
            bindings: list[Any] = [{"key": each, "value": each}]
        elif isinstance(each, dict):
            bindings = [{"key": k, "value": v} for k, v in each.items()]
        elif isinstance(each, list):
            bindings = [{"key": v if not isinstance(v, (dict, list)) else i, "value": v} for i, v in enumerate(each)]
        else:
            return []
        return [_bound(content, dynamic.labels[0], dynamic.location, {name: binding}) for binding in bindings]

    def _resolve(self, path: list[str]) -> Any:
        """``aws_security_group.lb.id`` -> the symbolic reference ``aws_security_group.lb``;
        another argument of that resource -> its value."""
        kind, name = path[0], path[1]
        ref = f"{kind}.{name}"
        if len(path) == 2:
            for block in self.resources(kind):
                if block.labels[1:2] != [name]:
                    continue
                count = self.value(block.attributes.get("count"))
                if isinstance(count, int):
                    return [f"{ref}[{i}]" for i in range(count)]  # indexed as aws_instance.api[0]
                each = self.value(block.attributes.get("for_each"))
                if isinstance(each, (list, dict)):
                    return {str(k): f'{ref}["{k}"]' for k in each}
        if len(path) == 2 or path[2] in ("id", "arn", "name"):
            for block in self.resources(kind):
                if block.labels[1:2] == [name] and (len(path) == 2 or path[2] not in block.attributes):
                    return ref
        for block in self.resources(kind):
            if block.labels[1:2] == [name] and len(path) > 2 and path[2] in block.attributes:
                return self.value(block.attributes[path[2]])
        return Unknown((ref,), ".".join(path), why="is not defined in this module")


# The fields rules read from a nested block (ports, sources, paths, targets).
_UNKNOWN_ENTRY_KEYS = ("from_port", "to_port", "protocol", "cidr_blocks", "ipv6_cidr_blocks", "security_groups",
                       "prefix_list_ids", "path", "port", "target_group_arn", "container_port")


def _bound(block: Block, block_type: str, location: Location, scope: dict[str, Any]) -> Block:
    """A copy of ``block`` as ``block_type`` whose values are evaluated with ``scope`` bound."""
    copy = Block(block_type, list(block.labels), location)
    copy.attributes = {k: replace(a, scope={**(a.scope or {}), **scope}) for k, a in block.attributes.items()}
    copy.blocks = [_bound(b, b.type, b.location, scope) for b in block.blocks]
    return copy


class _Locals(Mapping[str, Any]):
    """Locals evaluated on first use, so they may refer to each other in any order."""

    def __init__(self, module: TerraformModule) -> None:
        self.module = module
        self.active: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        cache = self.module._local_values
        if key in cache:
            return cache[key]
        attribute = self.module.locals_.get(key)
        if attribute is None or key in self.active:
            raise KeyError(key)
        self.active.add(key)
        try:
            cache[key] = evaluate(attribute.expr, self.module.scope())
        finally:
            self.active.discard(key)
        return cache[key]

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __iter__(self) -> Iterator[str]:
        return iter(self.module.locals_)

    def __len__(self) -> int:
        return len(self.module.locals_)


def _name(node: Syntax) -> str:
    return node[0]


def _kids(node: Syntax) -> tuple[Syntax, ...]:
    return node[3] if isinstance(node[3], tuple) else ()


def _text(node: Syntax) -> str:
    return node[3] if isinstance(node[3], str) else "".join(_text(c) for c in node[3])


def _pos(node: Syntax, path: str) -> Location:
    return Location(path, node[1] or 1, node[2] or 1)


def _is_literal(expr: Syntax) -> bool:
    """A value written as a plain literal: no references, calls or interpolation."""
    inner = [k for k in _kids(expr) if not _name(k).endswith("_TOKEN")] if _name(expr) == "ExprTermRule" else [expr]
    if len(inner) != 1:
        return False
    node = inner[0]
    if _name(node) in ("IntLitRule", "FloatLitRule", "LiteralValueRule"):
        return True
    if _name(node) == "StringRule":
        return not any(_name(p) == "InterpolationRule" for part in _kids(node) for p in _kids(part))
    return False


def _body(rule: Syntax, path: str) -> tuple[dict[str, Attribute], list[Block]]:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for item in _kids(rule):
        kind = _name(item)
        if kind == "AttributeRule":
            parts = _kids(item)
            name = _text(parts[0])
            expr = parts[-1]
            attributes[name] = Attribute(name, expr, _pos(item, path), _pos(expr, path), _is_literal(expr))
        elif kind == "BlockRule":
            blocks.append(_block(item, path))
    return attributes, blocks


def _block(rule: Syntax, path: str) -> Block:
    parts = _kids(rule)
    block_type = _text(parts[0])
    labels = [_text(p).strip('"') for p in parts[1:] if _name(p) in ("StringRule", "IdentifierRule")]
    body = next((p for p in parts if _name(p) == "BodyRule"), None)
    block = Block(block_type, labels, _pos(rule, path))
    if body is not None:
        block.attributes, block.blocks = _body(body, path)
    return block


def parse_file(text: str, path: str) -> tuple[dict[str, Attribute], list[Block], list[Diagnostic]]:
    import hcl2

    try:
        tree = to_syntax(hcl2.parses(text))
    except Exception as exc:
        line = getattr(exc, "line", None) or 1
        column = getattr(exc, "column", None) or 1
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = re.sub(r"\s*at line \d+, column \d+\.?$", "", message)
        return {}, [], [Diagnostic("BRL001", f"invalid HCL: {message}", Location(path, int(line), int(column)))]
    body = next((c for c in _kids(tree) if _name(c) == "BodyRule"), None)
    if body is None:
        return {}, [], []
    attributes, blocks = _body(body, path)
    return attributes, blocks, []


_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}
MAX_MODULE_DEPTH = 8


def load(files: list[str], ws: Workspace, config: Config) -> list[TerraformModule]:
    """Every root module, with the local modules it calls instantiated inside it. A directory
    that another module calls is read through its callers (with their inputs), not on its own."""
    by_dir: dict[str, list[str]] = {}
    for rel in files:
        by_dir.setdefault(posixpath.dirname(rel), []).append(rel)
    parsed = _parse_all(files, ws)
    standalone = {d: _load_module(d, sorted(rels), ws, config, parsed) for d, rels in sorted(by_dir.items())}
    called = {target for module in standalone.values() for _, target in _calls(module) if target in standalone}
    out: list[TerraformModule] = []
    emitted: set[str] = set()  # callee directories whose parse errors were already reported
    for directory, module in standalone.items():
        if directory not in called:
            module.root = directory
            out.extend(_with_children(module, standalone, ws, config, 0, emitted))
    return out


def _calls(module: TerraformModule) -> list[tuple[Block, str]]:
    found = []
    for block in module.of_type("module"):
        source = module.value(block.attributes.get("source"))
        if isinstance(source, str) and source.startswith(("./", "../")):
            target = posixpath.normpath(posixpath.join(module.directory, source))
            found.append((block, "" if target == "." else target))  # "" is the scan root's module
    return found


def _with_children(module: TerraformModule, standalone: dict[str, TerraformModule], ws: Workspace,
                   config: Config, depth: int, emitted: set[str]) -> list[TerraformModule]:
    out = [module]
    if depth >= MAX_MODULE_DEPTH:
        return out
    for block, target in _calls(module):
        if target not in standalone or not block.labels:
            continue
        # One parse per file: instances share the callee's blocks, with their own variables.
        callee = standalone[target]
        child = TerraformModule(callee.directory, callee.files, callee.blocks, dict(callee.variables),
                                set(callee.sensitive), list(callee.tfvars), [], dict(callee.locals_))
        if target not in emitted:
            child.diagnostics = list(callee.diagnostics)
            emitted.add(target)
        child.prefix = f"{module.prefix}module.{block.labels[0]}."
        child.root = module.root
        child.reader = callee.reader
        child.called_at = module.called_at or block.location
        for name, attribute in block.attributes.items():
            if name not in _META_ARGUMENTS:
                child.variables[name] = Located(module.value(attribute), attribute.value_location)
        out.extend(_with_children(child, standalone, ws, config, depth + 1, emitted))
    return out


def _reader(ws: Workspace) -> Callable[[str], str | None]:
    def read(rel: str) -> str | None:
        if rel.startswith(("/", "../")) or rel == "..":
            return None  # outside the scanned tree: not ours to read
        try:
            return ws.read_text(rel)
        except (FileProblem, OSError):
            return None

    return read


def _tfvars_files(directory: str, ws: Workspace) -> list[str]:
    """In Terraform's order: ``terraform.tfvars``, its JSON twin, then ``*.auto.tfvars[.json]`` by name."""
    base = ws.abspath(directory) if directory else ws.root
    names = sorted(p.name for p in base.iterdir() if p.is_file())
    ordered: list[str] = [n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
    ordered += [n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json"))]
    return [posixpath.join(directory, n) if directory else n for n in ordered]


def _parse_text(text: str, rel: str, tfvars: bool = False) -> Parsed:
    """One file in either syntax."""
    if rel.endswith(".json"):
        from bitriver_lint.loaders import terraform_json

        return terraform_json.parse_file(text, rel, tfvars=tfvars)
    return parse_file(text, rel)


Parsed = tuple[dict[str, Attribute], list[Block], list[Diagnostic]]

# Below this much HCL, starting worker processes costs more than parsing in this one.
PARALLEL_MIN_BYTES = 256 * 1024


def _parse_all(files: list[str], ws: Workspace) -> dict[str, Parsed]:
    """Every file parsed once; HCL in ``ws.jobs`` processes when there is enough of it, since
    python-hcl2 is the slowest step of a Terraform scan."""
    parsed: dict[str, Parsed] = {}
    hcl: list[tuple[str, str]] = []
    for rel in files:
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            parsed[rel] = ({}, [], [Diagnostic("BRL001", exc.message, Location(rel, exc.line, exc.column))])
            continue
        if rel.endswith(".json"):
            parsed[rel] = _parse_text(text, rel)
        else:
            hcl.append((text, rel))
    if ws.jobs > 1 and len(hcl) > 1 and sum(len(t) for t, _ in hcl) >= PARALLEL_MIN_BYTES:
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        try:
            with ProcessPoolExecutor(max_workers=min(ws.jobs, len(hcl))) as pool:
                results = list(pool.map(parse_file, [t for t, _ in hcl], [r for _, r in hcl], chunksize=4))
            parsed.update(zip((r for _, r in hcl), results, strict=True))
            return parsed
        except (OSError, BrokenProcessPool):
            pass  # no process pool here (a sandbox without shared memory): parse in this process
    parsed.update((rel, parse_file(text, rel)) for text, rel in hcl)
    return parsed


def _load_module(directory: str, rels: list[str], ws: Workspace, config: Config,
                 parsed: dict[str, Parsed]) -> TerraformModule:
    diagnostics: list[Diagnostic] = []
    blocks: list[Block] = []
    for rel in rels:
        _, file_blocks, problems = parsed[rel]
        blocks.extend(file_blocks)
        diagnostics.extend(problems)
    module = TerraformModule(directory, rels, blocks, {}, set(), [], diagnostics)
    module.reader = _reader(ws)
    for block in module.of_type("variable"):
        if not block.labels:
            continue
        name = block.labels[0]
        sensitive = block.attributes.get("sensitive")
        if sensitive is not None and module.value(sensitive) is True:
            module.sensitive.add(name)
        default = block.attributes.get("default")
        if default is not None:
            module.variables[name] = Located(module.value(default), default.value_location)
        else:
            module.variables[name] = Located(Unknown((f"var.{name}",), f"var.{name}", why="has no value"),
                                             block.location)
    for rel in _tfvars_files(directory, ws):
        try:
            attributes, _, problems = _parse_text(ws.read_text(rel), rel, tfvars=True)
        except FileProblem as exc:
            diagnostics.append(Diagnostic("BRL001", exc.message, Location(rel, exc.line, exc.column)))
            continue
        module.diagnostics.extend(problems)
        for name, attribute in attributes.items():
            module.tfvars.append((rel, attribute))
            module.variables[name] = Located(module.value(attribute), attribute.value_location)
    for name, value in config.variables.items():
        if name in module.variables:
            module.variables[name] = Located(value, module.variables[name].location)
    for block in module.of_type("locals"):
        module.locals_.update(block.attributes)
    return module


SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_?key|private_?key|access_?key|auth_?key)", re.I)
