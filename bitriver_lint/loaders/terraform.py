"""Terraform modules, read the way ``terraform plan`` would resolve them.

Each ``.tf`` file is parsed once with python-hcl2's typed parse tree, which keeps the line and
column of every block and attribute. A directory is one module: variable defaults, then
``terraform.tfvars``, then ``*.auto.tfvars`` in name order, then the config's ``variables``;
``locals`` are evaluated on demand. Values that cannot be known (unset variables, data
sources, remote modules) are ``Unknown``s.

The parsed configuration (``ModuleSource``, with its evaluator) stays in the loader: ``load``
returns ``terraform_document.TerraformModule``s, in which every resource instance (after
``count``/``for_each``) has its arguments and nested blocks evaluated already. Every safety
limit evaluation can hit is therefore met while loading and reported as BRL001 with the
loader's other diagnostics.
"""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bitriver_lint import journal
from bitriver_lint.cache import memo
from bitriver_lint.config import Config
from bitriver_lint.loaders.terraform_document import (
    AFTER_APPLY,
    UNDEFINED,
    Body,
    ProviderConfig,
    ResourceInstance,
    SecretLiteral,
    TerraformModule,
    region_of_zone,
)
from bitriver_lint.loaders.terraform_eval import (
    Guard,
    JsonExpression,
    Scope,
    Syntax,
    evaluate_value,
    plain_string,
    syntax_of,
    token_text,
)
from bitriver_lint.model import Diagnostic, Located, Location, Unknown
from bitriver_lint.workspace import FileProblem, Refused, Workspace


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
class ModuleSource:
    """One module instance as written: its parsed blocks and what evaluates them. The loader's
    own working state; ``load`` turns each into the ``TerraformModule`` builders read."""

    directory: str
    files: list[str]
    blocks: list[Block]
    variables: dict[str, Located[Any]]
    sensitive: set[str]
    tfvars: list[tuple[str, Attribute]]  # (file, assignment) from *.tfvars
    diagnostics: list[Diagnostic] = field(default_factory=list)
    locals_: dict[str, Attribute] = field(default_factory=dict)
    # Its files that could not be parsed (a BRL001): what they define is not known, so a name
    # no other file defines may be theirs and is not called undefined.
    unreadable: list[str] = field(default_factory=list)
    _local_values: dict[str, Any] = field(default_factory=dict)
    _off: dict[int, bool] = field(default_factory=dict)  # resources switched off, by id(block)
    prefix: str = ""  # "module.cdn." for an instance of a local module
    root: str | None = None  # the directory of the root module this instance belongs to
    reader: Callable[[str], str | None] | None = None  # files of the tree, for file()/templatefile()
    called_at: Location | None = None  # the root module's ``module`` block this instance comes from
    guard: Guard = field(default_factory=Guard)  # limits and BRL001 reports, shared by a load's modules
    _instances: dict[int, tuple[Block, list[tuple[str, dict[str, Any]]]]] = field(default_factory=dict)
    _values: dict[int, tuple[Attribute, Any]] = field(default_factory=dict)
    _resolved: dict[tuple[str, ...], Any] = field(default_factory=dict)
    _resolving: list[tuple[str, ...]] = field(default_factory=list)
    _local_stack: list[str] = field(default_factory=list)
    _by_type: tuple[int, dict[tuple[str, ...], list[Block]]] = (-1, {})
    children: dict[str, ModuleSource] = field(default_factory=dict)  # local module calls, by name
    # Values of expressions that read nothing, by id(attribute): shared by every instance of the
    # module (they share its blocks), so computed once per module per scan.
    _constants: dict[int, tuple[Attribute, Any]] = field(default_factory=dict)
    # What every scope binds that is not the module itself (held here, that would be a cycle).
    _names: tuple[str | None, dict[str, Any], _Values] | None = None

    @property
    def root_directory(self) -> str:
        """The root module's directory: where this instance's environment lives."""
        return self.root if self.root is not None else self.directory

    def _index(self) -> dict[tuple[str, ...], list[Block]]:
        """Blocks by type, resources also by resource type and by (resource type, name); built
        once (plans add their blocks while loading, so a change of size builds it again)."""
        count, index = self._by_type
        if count != len(self.blocks):
            index = {}
            for block in self.blocks:
                index.setdefault((block.type,), []).append(block)
                if block.type == "resource" and block.labels:
                    index.setdefault(("resource", block.labels[0]), []).append(block)
                    index.setdefault(("resource", *block.labels[:2]), []).append(block)
            self._by_type = (len(self.blocks), index)
        return index

    def of_type(self, block_type: str) -> list[Block]:
        return self._index().get((block_type,), [])

    def _switched_off(self, block: Block) -> bool:
        off = self._off.get(id(block))
        if off is None:
            self._off[id(block)] = False  # while evaluating: a count that refers back to itself is not ours to judge
            off = self._off[id(block)] = not self.instance_scopes(block)
        return off

    def scope(self, extra: Mapping[str, Any] | None = None, origin: Location | None = None,
              exact: bool = True) -> Scope:
        names = self._names
        if names is None or names[0] != self.root:  # built once per instance, again if its root is set later
            paths = {"path": {"module": self.directory or ".", "root": self.root_directory or ".",
                              "cwd": self.root_directory or "."}}
            names = self._names = (self.root, paths, _Values(self.variables))
        _, paths, variables = names
        return Scope(variables, _Locals(self), self._resolve,
                     {**paths, "module": _ModuleOutputs(self), **(extra or {})}, self.reader,
                     guard=self.guard, origin=origin, exact=exact)

    def output(self, name: str, ref: str) -> Any:
        """The value of this module instance's output ``name`` (``ref``: how the caller names it,
        ``module.api.sg_id``), with references to its resources given their module path
        (``module.api.aws_security_group.api``), the addresses builders know them by."""
        block = next((b for b in self.of_type("output") if b.labels and b.labels[0] == name), None)
        if block is None:
            return Unknown((ref,), ref, why="is not an output of the module")
        if "value" not in block.attributes:
            return Unknown((ref,), ref)
        return self._qualified(self.value(block.attributes["value"]))

    def _qualified(self, value: Any) -> Any:
        if isinstance(value, Unknown):
            return self._qualified_unknown(value)
        if isinstance(value, list):
            return [self._qualified(v) for v in value]
        if isinstance(value, dict):
            return {k: self._qualified(v) for k, v in value.items()}
        if isinstance(value, str):
            kind, _, rest = value.split("[")[0].partition(".")
            if rest and "." not in rest and self._index().get(("resource", kind, rest)):
                return self.prefix + value
        return value

    def _qualified_unknown(self, value: Unknown) -> Unknown:
        """An unknown value the module hands out (``aws_lb.api.dns_name``, known after apply):
        the resources it names get the module path, so its caller can tell this module's
        ``module.edge.aws_lb.api`` from its own ``aws_lb.api``."""
        names = tuple(self._qualified(n) if isinstance(n, str) else n for n in value.names)
        if names == value.names:
            return value
        raw = value.raw
        for before, after in zip(value.names, names, strict=True):
            if before != after and raw.startswith(before):
                raw = after + raw[len(before):]
                break
        return Unknown(names, raw, value.location, value.why)

    def value(self, attribute: Attribute | None, extra: Mapping[str, Any] | None = None) -> Any:
        """The attribute's value; never raises: what cannot be computed, or would cost more than
        a safety limit, is an Unknown (the limit reported once as BRL001 where it is hit). A
        value with nothing bound is computed once per module instance (values are never
        changed in place, so sharing them is safe)."""
        if attribute is None:
            return None
        if not attribute.scope and not self.guard.depth:
            # At the top of an evaluation (not from within another value), where a literal's
            # step budget and the limits it may hit come out the same every time.
            if attribute.literal and isinstance(attribute.expr, tuple):
                text = plain_string(attribute.expr)
                if text is not None:
                    return text
            if self.prefix:  # an instance of a called module: its blocks are shared
                constant = self._constant(attribute)
                if constant is not _VARIES:
                    return constant
        if attribute.scope:
            extra = {**attribute.scope, **(extra or {})}
        if extra and not _names_used(attribute).intersection(extra):
            extra = None  # the same value for every instance: computed once
        if not extra:
            cached = self._values.get(id(attribute))
            if cached is not None and cached[0] is attribute:
                return cached[1]
        scope = self.scope(extra, attribute.value_location, exact=isinstance(attribute.expr, tuple))
        found = evaluate_value(attribute.expr, scope)
        if not extra:
            self._values[id(attribute)] = (attribute, found)  # holding the attribute keeps its id unique
        return found

    def _constant(self, attribute: Attribute) -> Any:
        """The value of an expression that reads nothing (literals, and lists and objects of
        them), else ``_VARIES``: one computation serves every instance of the module."""
        entry = self._constants.get(id(attribute))
        if entry is not None and entry[0] is attribute:
            return entry[1]
        found = _VARIES
        if isinstance(attribute.expr, tuple) and _reads_nothing(attribute.expr):
            found = evaluate_value(attribute.expr, self.scope(None, attribute.value_location))
        self._constants[id(attribute)] = (attribute, found)  # holding the attribute keeps its id unique
        return found

    def forget(self) -> None:
        """Drop computed values (the variables changed)."""
        for cache in (self._values, self._local_values, self._instances, self._resolved, self._off):
            cache.clear()

    def instance_scopes(self, block: Block) -> list[tuple[str, dict[str, Any]]]:
        """(address, names to evaluate it with) per instance ``count``/``for_each`` make; one
        instance, with nothing bound, when neither is set or can be known. No more than the
        safety limits allow: the first ones are kept, the cut reported at ``count``/``for_each``."""
        cached = self._instances.get(id(block))
        if cached is not None and cached[0] is block:
            return cached[1]
        scopes = self._instance_scopes(block)
        self._instances[id(block)] = (block, scopes)
        return scopes

    def _instance_scopes(self, block: Block) -> list[tuple[str, dict[str, Any]]]:
        ref = ".".join(block.labels[:2])
        count_attribute = block.attributes.get("count")
        count = self.value(count_attribute)
        if isinstance(count, str) and count.strip().isascii() and count.strip().isdigit():
            count = int(count.strip())  # Terraform converts count = "2" to the number: two instances
        if isinstance(count, int) and not isinstance(count, bool):
            keep = self._allowed(count, count_attribute, ref)
            return [(f"{ref}[{i}]", {"count": {"index": i}}) for i in range(keep)]
        each_attribute = block.attributes.get("for_each")
        each = self.value(each_attribute)
        if isinstance(each, (dict, list)):
            # Terraform walks a map (and a set of strings) in key order.
            items = sorted(each.items()) if isinstance(each, dict) else [(k, k) for k in each]
            keep = self._allowed(len(items), each_attribute, ref)
            return [(f'{ref}["{k}"]', {"each": {"key": k, "value": v}}) for k, v in items[:keep]]
        return [(ref, {})]

    def _allowed(self, wanted: int, attribute: Attribute | None, ref: str) -> int:
        """How many of ``wanted`` instances the limits leave; a cut is reported where it is asked."""
        limits = self.guard.limits
        if wanted <= 1:
            return max(wanted, 0)
        keep = min(wanted, limits.resource_instances)
        where = attribute.value_location if attribute is not None else None
        if keep < wanted:
            self.guard.report(where, f"{ref} asks for {wanted:,} instances, over the safety limit of "
                                     f"{limits.resource_instances:,} per resource; only the first {keep:,} "
                                     "are checked")
        left = max(limits.expanded_instances - self.guard.expanded, 1)
        if keep > left:
            self.guard.report(where, f"{ref} asks for {wanted:,} instances, past the safety limit of "
                                     f"{limits.expanded_instances:,} instances from count and for_each in the "
                                     f"whole scan; only the first {left:,} are checked")
            keep = left
        self.guard.expanded += keep
        return keep

    def _expand_dynamic(self, dynamic: Block) -> list[Block]:
        """A ``dynamic`` block's copies of its ``content``, one per ``for_each`` entry (one whose
        values are all Unknown when the ``for_each`` cannot be known)."""
        content = next((b for b in dynamic.blocks if b.type == "content"), None)
        if content is None:
            return []
        iterator = dynamic.attributes.get("iterator")
        name = _text(iterator.expr).strip() if iterator is not None and isinstance(iterator.expr, tuple) \
            else dynamic.labels[0]
        each_attribute = dynamic.attributes.get("for_each")
        each = self.value(each_attribute)
        if isinstance(each, Unknown):
            bindings: list[Any] = [{"key": each, "value": each}]
        elif isinstance(each, dict):
            bindings = [{"key": k, "value": v} for k, v in sorted(each.items())]
        elif isinstance(each, list):
            bindings = [{"key": v if not isinstance(v, (dict, list)) else i, "value": v} for i, v in enumerate(each)]
        else:
            return []
        limit = self.guard.limits.resource_instances
        if len(bindings) > limit:
            where = each_attribute.value_location if each_attribute is not None else dynamic.location
            self.guard.report(where, f'dynamic "{dynamic.labels[0]}" asks for {len(bindings):,} blocks, over the '
                                     f"safety limit of {limit:,}; only the first {limit:,} are checked")
            bindings = bindings[:limit]
        return [_bound(content, dynamic.labels[0], dynamic.location, {name: binding}) for binding in bindings]

    def _named(self, kind: str, name: str) -> list[Block]:
        return [b for b in self._index().get(("resource", kind, name), []) if not self._switched_off(b)]

    def _resolve(self, path: list[str]) -> Any:
        """``aws_security_group.lb.id`` -> the symbolic reference ``aws_security_group.lb``;
        another argument of that resource -> its value. Each answer computed once; one that
        depends on itself is an Unknown naming the loop."""
        key = tuple(path[:3])
        if key in self._resolved:
            return self._resolved[key]
        ref = ".".join(key)
        if key in self._resolving:
            loop = " -> ".join(".".join(k) for k in [*self._resolving[self._resolving.index(key):], key])
            return Unknown((ref,), ref, why=f"depends on itself ({loop})")
        self._resolving.append(key)
        try:
            found = self._resolve_once(path)
        finally:
            self._resolving.pop()
        self._resolved[key] = found
        return found

    def _resolve_once(self, path: list[str]) -> Any:
        kind, name = path[0], path[1]
        ref = f"{kind}.{name}"
        blocks = self._named(kind, name)
        if len(path) == 2:
            for block in blocks:
                scopes = self.instance_scopes(block)
                if "count" in block.attributes and scopes and "count" in scopes[0][1]:
                    return [address for address, _ in scopes]  # indexed as aws_instance.api[0]
                if "for_each" in block.attributes and scopes and "each" in scopes[0][1]:
                    return {str(bound["each"]["key"]): address for address, bound in scopes}
        if len(path) == 2 or path[2] in ("id", "arn", "name"):
            for block in blocks:
                if len(path) == 2 or path[2] not in block.attributes:
                    return ref
        for block in blocks:
            if len(path) > 2 and path[2] in block.attributes:
                return self.value(block.attributes[path[2]])
        if blocks:
            # The resource is defined but does not set this argument: the provider computes it
            # (a load balancer's dns_name, an instance's public_ip). The name still says which
            # resource it is, for a join by reference.
            return Unknown((ref,), ".".join(path), why=AFTER_APPLY)
        if self.unreadable:
            return Unknown((ref,), ".".join(path), why=f"is not defined in the files of this module that could be "
                                                       f"read ({', '.join(self.unreadable)} could not)")
        return Unknown((ref,), ".".join(path), why=UNDEFINED)


_VARIES = object()  # an expression whose value depends on what it reads

# The parse-tree nodes of literals; an identifier only as an object's key (``{ a = 1 }``).
_LITERAL_NODES = frozenset({"ExprTermRule", "TupleRule", "ObjectRule", "ObjectElemRule", "ObjectElemKeyRule",
                            "StringRule", "StringPartRule", "IntLitRule", "FloatLitRule", "LiteralValueRule",
                            "UnaryOpRule"})


def _reads_nothing(expr: Syntax) -> bool:
    """Whether the expression is built of literals only: no reference, call, template or
    loop, so its value is the same wherever it is evaluated (without recursion: trees may be deep)."""
    stack = [expr]
    while stack:
        node = stack.pop()
        kids = node[3]
        if isinstance(kids, str):
            continue  # a token
        if node[0] not in _LITERAL_NODES:
            return False
        for kid in kids:
            if kid[0] != "IdentifierRule" or node[0] != "ObjectElemKeyRule":
                stack.append(kid)
    return True


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_USED: dict[int, tuple[Attribute, frozenset[str]]] = {}


def _names_used(attribute: Attribute) -> frozenset[str]:
    """Every name the expression's text mentions (a superset of the names it reads): a value
    that mentions none of an instance's bound names (``count``, ``each``) is the same for all."""
    cached = _USED.get(id(attribute))
    if cached is not None and cached[0] is attribute:
        return cached[1]
    names = frozenset(_NAME.findall(_expression_text(attribute)))
    if len(_USED) > 100_000:
        _USED.clear()
    _USED[id(attribute)] = (attribute, names)
    return names


def _expression_text(attribute: Attribute) -> str:
    """The text of the expression's code (JSON syntax: of its template strings)."""
    expr = attribute.expr
    if isinstance(expr, tuple):
        return token_text(expr)
    if not isinstance(expr, JsonExpression):
        return ""
    texts: list[str] = []
    todo: list[Any] = [expr.value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo.extend(item.values())
        elif isinstance(item, list):
            todo.extend(item)
        elif isinstance(item, tuple):
            texts.append(token_text(item))
    return " ".join(texts)


_LOCAL_REFERENCE = re.compile(r"\blocal\.([A-Za-z_][A-Za-z0-9_-]*)")


class _Outputs(dict[str, Any]):
    """``module.<name>``: the outputs of one module call, each evaluated when read; not known
    when the module is not a local one read with the tree (a registry module)."""

    def __init__(self, child: ModuleSource | None, name: str) -> None:
        super().__init__()
        self.child, self.name = child, name

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __getitem__(self, key: str) -> Any:
        ref = f"module.{self.name}.{key}"
        if self.child is None:
            return Unknown((ref,), ref)
        return self.child.output(key, ref)


class _ModuleOutputs(dict[str, Any]):
    """``module``: the module calls of a module instance, by name."""

    def __init__(self, module: ModuleSource) -> None:
        super().__init__()
        self.module = module

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str)

    def __getitem__(self, key: str) -> Any:
        return _Outputs(self.module.children.get(key), key)


def _settle_locals(module: ModuleSource) -> None:
    """Evaluate the locals in the order they depend on each other (without recursion), so a
    long chain of locals never nests evaluation deeply; a cycle is left to ``_Locals``, which
    names it."""
    depends = {name: [d for d in dict.fromkeys(_LOCAL_REFERENCE.findall(_expression_text(a))) if d in module.locals_]
               for name, a in module.locals_.items()}
    locals_ = module.scope().locals
    done: set[str] = set()
    for start in depends:
        if start in done:
            continue
        stack = [(start, iter(depends[start]))]
        visiting = {start}
        while stack:
            name, pending = stack[-1]
            following = next(pending, None)
            if following is None:
                stack.pop()
                visiting.discard(name)
                if name not in done:
                    done.add(name)
                    locals_.get(name)
            elif following not in done and following not in visiting:
                visiting.add(following)
                stack.append((following, iter(depends[following])))


def _bound(block: Block, block_type: str, location: Location, scope: dict[str, Any]) -> Block:
    """A copy of ``block`` as ``block_type`` whose values are evaluated with ``scope`` bound."""
    copy = Block(block_type, list(block.labels), location)
    copy.attributes = {k: replace(a, scope={**(a.scope or {}), **scope}) for k, a in block.attributes.items()}
    copy.blocks = [_bound(b, b.type, b.location, scope) for b in block.blocks]
    return copy


class _Values(Mapping[str, Any]):
    """The variables' values, read where they are needed (no copy per evaluation)."""

    def __init__(self, located: dict[str, Located[Any]]) -> None:
        self.located = located

    def __getitem__(self, key: str) -> Any:
        return self.located[key].value

    def __iter__(self) -> Iterator[str]:
        return iter(self.located)

    def __len__(self) -> int:
        return len(self.located)


class _Locals(Mapping[str, Any]):
    """Locals evaluated on first use, so they may refer to each other in any order. Locals that
    refer to each other in a loop are Unknowns naming the loop (reported once as BRL001)."""

    def __init__(self, module: ModuleSource) -> None:
        self.module = module

    def __getitem__(self, key: str) -> Any:
        module = self.module
        cache = module._local_values
        if key in cache:
            return cache[key]
        attribute = module.locals_.get(key)
        if attribute is None:
            raise KeyError(key)
        stack = module._local_stack
        if key in stack:
            return self._cycle(stack[stack.index(key):])
        stack.append(key)
        try:
            cache[key] = module.value(attribute)
        finally:
            stack.pop()
        return cache[key]

    def _cycle(self, members: list[str]) -> Unknown:
        # Named from its first member in name order, so every way into the loop says the same.
        first = members.index(min(members))
        members = members[first:] + members[:first]
        loop = " -> ".join(f"local.{m}" for m in [*members, members[0]])
        attribute = self.module.locals_[members[0]]
        self.module.guard.report(attribute.location, f"locals refer to each other in a cycle ({loop}); "
                                                     "their values are treated as unknown")
        return Unknown(tuple(f"local.{m}" for m in members), f"local.{members[0]}", why=f"is part of a cycle ({loop})")

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
    import gc

    # Parsing allocates millions of small objects and no cycles: the cyclic collector, run again
    # and again over the growing tree, would take three quarters of the time on a large file.
    collecting = gc.isenabled()
    gc.disable()
    try:
        tree = syntax_of(text)
    except RecursionError:
        message = "expressions nested too deeply to read (over a safety limit)"
        return {}, [], [Diagnostic("BRL001", f"invalid HCL: {message}", Location(path, 1, 1))]
    except Exception as exc:
        line = getattr(exc, "line", None) or 1
        column = getattr(exc, "column", None) or 1
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        message = re.sub(r"\s*at line \d+, column \d+\.?$", "", message)
        return {}, [], [Diagnostic("BRL001", f"invalid HCL: {message}", Location(path, int(line), int(column)))]
    finally:
        if collecting:
            gc.enable()
    body = next((c for c in _kids(tree) if _name(c) == "BodyRule"), None)
    if body is None:
        return {}, [], []
    attributes, blocks = _body(body, path)
    return attributes, blocks, []


# A line that starts a top-level block: where a large file may be cut into pieces parsed apart.
_TOP_LEVEL = re.compile(r"^(?:resource|data|module|variable|output|locals|provider|terraform|moved|import|check|"
                        r"removed)\b", re.M)


def split_file(text: str, pieces: int) -> list[tuple[int, str]]:
    """(lines before it, text) for about ``pieces`` parts of a file, each cut just before a
    line that starts a top-level block. A cut that falls inside a heredoc or a comment leaves
    a part Terraform could not read either, and the whole file is parsed again instead."""
    target = max(len(text) // max(pieces, 1), 1)
    cuts = [0]
    for match in _TOP_LEVEL.finditer(text):
        if match.start() - cuts[-1] >= target:
            cuts.append(match.start())
    cuts.append(len(text))
    out: list[tuple[int, str]] = []
    line = 0
    for start, end in itertools.pairwise(cuts):
        if start == end:
            continue
        out.append((line, text[start:end]))
        line += text.count("\n", start, end)
    return out


def _parse_piece(text: str, path: str, lines_before: int) -> Parsed:
    # Blank lines in front keep every position where it is in the whole file.
    return parse_file("\n" * lines_before + text, path)


def _merge(parts: list[Parsed]) -> Parsed:
    attributes: dict[str, Attribute] = {}
    blocks: list[Block] = []
    for part_attributes, part_blocks, _ in parts:
        attributes.update(part_attributes)
        blocks.extend(part_blocks)
    return attributes, blocks, []


_META_ARGUMENTS = {"source", "version", "count", "for_each", "providers", "depends_on"}


def load(files: list[str], ws: Workspace, config: Config) -> list[TerraformModule]:
    """Every root module, with the local modules it calls instantiated inside it, every value
    evaluated (see ``documents``)."""
    with ws.recording() as read:
        docs = documents(load_sources(files, ws, config))
    # A root module is built from its files, the local modules it calls, its tfvars and the
    # templates file() reads: each root's files are one group (``--changed``); the files read
    # outside any module's own (tfvars, templates) are joined to the root of their directory.
    roots: dict[str, set[str]] = {}
    for doc in docs:
        roots.setdefault(doc.root if doc.root is not None else doc.directory, set()).update(doc.files)
    modules = set().union(*roots.values()) if roots else set()
    for rel in sorted(read - modules):
        owner = max((r for r in roots if not r or rel.startswith(r + "/")), key=len, default=None)
        if owner is not None:
            roots[owner].add(rel)
    for members in roots.values():
        ws.group(members)
    return docs


def load_sources(files: list[str], ws: Workspace, config: Config) -> list[ModuleSource]:
    """Every root module, with the local modules it calls instantiated inside it, as written.
    A directory that another module calls is read through its callers (with their inputs), not
    on its own; modules calling each other in a loop are read from the first of them, the loop
    reported."""
    by_dir: dict[str, list[str]] = {}
    for rel in files:
        by_dir.setdefault(posixpath.dirname(rel), []).append(rel)
    parsed = _parse_all(files, ws)
    guard = Guard()
    standalone = {d: _load_module(d, sorted(rels), ws, config, parsed, guard) for d, rels in sorted(by_dir.items())}
    calls = {d: [t for _, t in _calls(m) if t in standalone] for d, m in standalone.items()}
    out: list[ModuleSource] = []
    emitted: set[str] = set()  # callee directories whose parse errors were already reported
    covered: set[str] = set()
    called = {t for d, targets in calls.items() for t in targets if t != d}
    # Roots: directories nobody else calls; then, in name order, the first of each group of
    # modules that only call each other (their loop is reported where it closes).
    for directory in [d for d in standalone if d not in called] + list(standalone):
        if directory in covered:
            continue
        covered |= _reachable(directory, calls)
        module = standalone[directory]
        module.root = directory
        out.extend(_with_children(module, standalone, ws, config, (directory,), emitted))
    return out


def _reachable(start: str, calls: dict[str, list[str]]) -> set[str]:
    seen = {start}
    todo = [start]
    while todo:
        for target in calls.get(todo.pop(), []):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _calls(module: ModuleSource) -> list[tuple[Block, str]]:
    found = []
    for block in module.of_type("module"):
        source = module.value(block.attributes.get("source"))
        if isinstance(source, str) and source.startswith(("./", "../")):
            target = posixpath.normpath(posixpath.join(module.directory, source))
            found.append((block, "" if target == "." else target))  # "" is the scan root's module
    return found


def _with_children(module: ModuleSource, standalone: dict[str, ModuleSource], ws: Workspace,
                   config: Config, chain: tuple[str, ...], emitted: set[str]) -> list[ModuleSource]:
    """``module`` and, depth first, the instances of the local modules it calls. ``chain`` is the
    directories from the root down to ``module``: a call back into one of them is a cycle."""
    out = [module]
    guard = module.guard
    limits = guard.limits
    _settle_locals(module)
    for block, target in _calls(module):
        if target not in standalone or not block.labels:
            continue
        label = f"module.{block.labels[0]}"
        if target in chain:
            loop = " -> ".join(d or "." for d in (*chain[chain.index(target):], target))
            guard.report(block.location, f"{label} calls a module that is already being read, a cycle "
                                         f"({loop}); Terraform rejects it and it is not read again here")
            continue
        if len(chain) > limits.module_depth:
            guard.report(block.location, f"{label} nests modules deeper than the safety limit of "
                                         f"{limits.module_depth} levels; it is not read")
            continue
        if guard.modules >= limits.module_instances:
            if guard.modules == limits.module_instances:  # once: every later call is cut the same way
                guard.modules += 1
                guard.report(block.location, f"{label} is past the safety limit of {limits.module_instances:,} "
                                             "module instances in the whole scan; it and the module calls "
                                             "after it are not read")
            continue
        guard.modules += 1
        # One parse per file: instances share the callee's blocks, with their own variables.
        callee = standalone[target]
        child = ModuleSource(callee.directory, callee.files, callee.blocks, dict(callee.variables),
                                set(callee.sensitive), list(callee.tfvars), [], dict(callee.locals_))
        child._constants = callee._constants
        child.unreadable = callee.unreadable
        child.guard = guard
        if target not in emitted:
            child.diagnostics = list(callee.diagnostics)
            emitted.add(target)
        child.prefix = f"{module.prefix}{label}."
        child.root = module.root
        child.reader = callee.reader
        child.called_at = module.called_at or block.location
        module.children[block.labels[0]] = child
        for name, attribute in block.attributes.items():
            if name not in _META_ARGUMENTS:
                child.variables[name] = Located(module.value(attribute), attribute.value_location)
        out.extend(_with_children(child, standalone, ws, config, (*chain, target), emitted))
    if module.children:
        # Values computed before the calls were read saw their outputs as not known: again.
        for cache in (module._values, module._local_values, module._resolved):
            cache.clear()
    return out


def documents(sources: list[ModuleSource]) -> list[TerraformModule]:
    """Each module instance with every value evaluated, for each resource instance: a value
    that hits a safety limit is reported now, with the loader's other diagnostics (on the
    first module of the load), whether or not a rule reads it later."""
    out = [_document(source) for source in sources]
    regions: dict[str, str | None] = {}
    for document in out:
        own = None
        for provider in document.providers:
            value = provider.arg("region")
            own = value if isinstance(value, str) else own
        if document.prefix:
            document.region = own or regions.get(document.root_directory)  # providers live in the root
        else:
            document.region = regions[document.root_directory] = own
        configured = {p.ref: p.arg("region") for p in document.providers}  # the last block of a name wins
        for instance in document.resources + document.data:
            # Its provider configuration's region; else the module's (a provider from the root).
            region = configured.get(instance.provider)
            instance.region = region if isinstance(region, str) else document.region
            if instance.region is None:
                # No provider block says: the zone it is placed in does (as plan would fail otherwise).
                instance.region = region_of_zone(instance.arg("availability_zone"))
    families: dict[str, list[TerraformModule]] = {}
    for document in out:
        families.setdefault(document.root_directory, []).append(document)
        document.family = families[document.root_directory]
    reported: set[int] = set()
    for source, document in zip(sources, out, strict=True):
        if id(source.guard) not in reported:  # a guard is shared by all modules of one load
            reported.add(id(source.guard))
            document.diagnostics.extend(source.guard.diagnostics)
    return out


def _document(source: ModuleSource) -> TerraformModule:
    document = TerraformModule(source.directory, source.files, prefix=source.prefix, root=source.root,
                               called_at=source.called_at, variables=dict(source.variables),
                               sensitive=set(source.sensitive), diagnostics=source.diagnostics)
    document.environment = not source.prefix and bool(
        source.tfvars or source.of_type("provider") or source.of_type("terraform"))
    for block in source.blocks:
        if block.type in ("resource", "data"):
            scopes = source.instance_scopes(block)
            for address, extra in scopes:
                if not block.labels:
                    _evaluated(source, block, extra)  # nothing to name it by: evaluated for its limits only
                    continue
                instance = _instance(source, block, address, extra)
                instance.siblings = len(scopes)
                (document.resources if instance.mode == "managed" else document.data).append(instance)
        elif block.type == "provider":
            body = _evaluated(source, block, {})
            alias = body.arg("alias")
            document.providers.append(ProviderConfig(
                block.type, block.location, body.attributes, body.blocks, body.keys,
                name=block.labels[0] if block.labels else "", alias=alias if isinstance(alias, str) else None))
        elif block.type not in ("locals", "variable"):
            _evaluated(source, block, {})  # outputs, module calls...: evaluated for the limits they hit
    locals_ = source.scope().locals
    document.locals = {name: Located(locals_.get(name), attribute.value_location)
                       for name, attribute in source.locals_.items()}
    document.secrets = _secrets(source)
    return document


def _instance(source: ModuleSource, block: Block, address: str, extra: dict[str, Any]) -> ResourceInstance:
    body = _evaluated(source, block, extra)
    key: int | str | None = None
    if "count" in extra:
        key = extra["count"]["index"]
    elif "each" in extra:
        key = extra["each"]["key"]
    resource_type = block.labels[0]
    name = block.labels[1] if len(block.labels) > 1 else ""
    data = block.type == "data"
    return ResourceInstance(resource_type, block.location, body.attributes, body.blocks, body.keys, name=name,
                            address=f"data.{address}" if data else address, module=source.prefix,
                            mode="data" if data else "managed", key=key,
                            provider=_provider_of(block) or resource_type.split("_")[0])


def _provider_of(block: Block) -> str | None:
    """The ``provider`` meta-argument as written (``aws.west``): a reference, not a value."""
    attribute = block.attributes.get("provider")
    if attribute is None:
        return None
    if isinstance(attribute.expr, tuple):
        return token_text(attribute.expr).strip() or None
    value = getattr(attribute.expr, "value", None)
    return value if isinstance(value, str) else None


def _evaluated(source: ModuleSource, block: Block, extra: dict[str, Any]) -> Body:
    """The block with every argument evaluated (``extra``: its instance's ``count``/``each``)
    and its nested blocks likewise, ``dynamic`` ones expanded."""
    attributes = {name: Located(source.value(a, extra), a.value_location) for name, a in block.attributes.items()}
    keys = {name: a.location for name, a in block.attributes.items()}
    blocks: list[Body] = []
    for child in block.blocks:
        if child.type == "dynamic":
            for attribute in child.attributes.values():
                source.value(attribute, extra)  # its for_each, iterator...: for the limits they hit
            blocks.extend(_evaluated(source, expanded, extra) for expanded in source._expand_dynamic(child))
        else:
            blocks.append(_evaluated(source, child, extra))
    return Body(block.type, block.location, attributes, blocks, keys)


def _secret_literals(blocks: list[Block]) -> list[Attribute]:
    found: list[Attribute] = []
    for block in blocks:
        for name, attribute in block.attributes.items():
            if attribute.literal and SECRET_NAME.search(name):
                found.append(attribute)
        found.extend(_secret_literals(block.blocks))
    return found


def _secrets(source: ModuleSource) -> list[SecretLiteral]:
    """Literal values under secret-looking names: in every resource as written (also one
    switched off: the secret is committed all the same) and provider, in variable defaults
    (unless declared sensitive) and in tfvars."""
    found: list[SecretLiteral] = []
    for attribute in _secret_literals(source.of_type("resource") + source.of_type("provider")):
        value = source.value(attribute)
        if isinstance(value, str) and value:
            found.append(SecretLiteral(attribute.name, value, attribute.value_location))
    for variable in source.of_type("variable"):
        name = variable.labels[0] if variable.labels else ""
        default = variable.attributes.get("default")
        if default is None or not default.literal or not SECRET_NAME.search(name) or name in source.sensitive:
            continue
        value = source.value(default)
        if isinstance(value, str) and value:
            found.append(SecretLiteral(name, value, default.value_location))
    for path, attribute in source.tfvars:
        if not attribute.literal or not SECRET_NAME.search(attribute.name):
            continue
        value = source.value(attribute)
        if isinstance(value, str) and value:
            found.append(SecretLiteral(attribute.name, value, attribute.value_location, tfvars=path))
    return found


def _reader(ws: Workspace) -> Callable[[str], str | None]:
    def read(rel: str) -> str | None:
        if rel.startswith(("/", "../")) or rel == "..":
            return None  # outside the scanned tree: not ours to read
        try:
            return ws.read_text(rel)
        except (FileProblem, OSError):
            return None

    return read


def _tfvars_files(directory: str, ws: Workspace) -> tuple[list[str], list[str]]:
    """The var files Terraform reads by itself, in its order (``terraform.tfvars``, its JSON
    twin, then ``*.auto.tfvars[.json]`` by name), and the others beside them (``prod.tfvars``),
    which it reads only when ``-var-file`` names them."""
    base = ws.abspath(directory) if directory else ws.root
    journal.note_listing(base)
    # By name first: a stat for the few tfvars files, not for every file of the directory.
    names = sorted(p.name for p in base.iterdir() if p.name.endswith((".tfvars", ".tfvars.json")) and p.is_file())
    ordered: list[str] = [n for n in ("terraform.tfvars", "terraform.tfvars.json") if n in names]
    ordered += [n for n in names if n.endswith((".auto.tfvars", ".auto.tfvars.json"))]
    named = [n for n in names if n not in ordered]

    def rel(name: str) -> str:
        return posixpath.join(directory, name) if directory else name

    return [rel(n) for n in ordered], [rel(n) for n in named]


def _var_files(directory: str, ws: Workspace, config: Config) -> list[str]:
    """The files the config's ``var_files:`` passes to the root module in ``directory`` (as
    ``-var-file``), root-relative, in their order."""
    if not config.var_files:
        return []
    base = ws.rel(config.source.parent) if config.source is not None else ""
    base = "" if base == "." else base
    for written, files in config.var_files.items():
        root = posixpath.normpath(posixpath.join(base, written))
        if (root if root != "." else "") == directory:
            return [posixpath.normpath(posixpath.join(directory, f)) for f in files]
    return []


def _parse_tfvars(text: str, rel: str) -> Parsed:
    return _parse_text(text, rel, tfvars=True)


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
    python-hcl2 is the slowest step of a Terraform scan. A large file is cut into pieces at
    top-level blocks, so one big file is parsed in parallel too."""
    parsed: dict[str, Parsed] = {}
    hcl: list[tuple[str, str]] = []
    for rel in files:
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            parsed[rel] = ({}, [], [exc.diagnostic(rel)])
            continue
        if ws.cache is not None:
            found, value = ws.cache.get(ws.cache.key(_PARSE_KIND, rel, text))
            if found:
                parsed[rel] = value
                continue
        if rel.endswith(".json"):
            parsed[rel] = _parse_text(text, rel)
            _keep(ws, rel, text, parsed[rel])
        else:
            hcl.append((text, rel))
    _parse_hcl(hcl, parsed, ws)
    for text, rel in hcl:
        _keep(ws, rel, text, parsed[rel])
    return parsed


_PARSE_KIND = "terraform-file"


def _keep(ws: Workspace, rel: str, text: str, result: Parsed) -> None:
    if ws.cache is not None:
        ws.cache.put(ws.cache.key(_PARSE_KIND, rel, text), result)


def _parse_hcl(hcl: list[tuple[str, str]], parsed: dict[str, Parsed], ws: Workspace) -> dict[str, Parsed]:
    tasks: list[tuple[str, str, int]] = []  # (text, file, lines before it)
    for text, rel in hcl:
        pieces = split_file(text, 4 * ws.jobs) if ws.jobs > 1 and len(text) >= PARALLEL_MIN_BYTES else [(0, text)]
        tasks.extend((piece, rel, before) for before, piece in pieces)
    if ws.jobs > 1 and len(tasks) > 1 and sum(len(t) for t, _ in hcl) >= PARALLEL_MIN_BYTES:
        import gc
        from concurrent.futures import ProcessPoolExecutor
        from concurrent.futures.process import BrokenProcessPool

        collecting = gc.isenabled()
        gc.disable()  # unpickling the trees allocates as much as parsing them
        try:
            with ProcessPoolExecutor(max_workers=min(ws.jobs, len(tasks))) as pool:
                results = list(pool.map(_parse_piece, [t for t, _, _ in tasks], [r for _, r, _ in tasks],
                                        [b for _, _, b in tasks], chunksize=1))
        except (OSError, BrokenProcessPool):
            results = []  # no process pool here (a sandbox without shared memory): parse in this process
        finally:
            if collecting:
                gc.enable()
        if results:
            by_file: dict[str, list[Parsed]] = {}
            for (_, rel, _), result in zip(tasks, results, strict=True):
                by_file.setdefault(rel, []).append(result)
            for text, rel in hcl:
                parts = by_file[rel]
                if len(parts) == 1:
                    parsed[rel] = parts[0]
                elif any(problems for _, _, problems in parts):
                    parsed[rel] = parse_file(text, rel)  # a cut in the wrong place, or a real error: the whole file
                else:
                    parsed[rel] = _merge(parts)
            return parsed
    parsed.update((rel, parse_file(text, rel)) for text, rel in hcl)
    return parsed


def _load_module(directory: str, rels: list[str], ws: Workspace, config: Config,
                 parsed: dict[str, Parsed], guard: Guard) -> ModuleSource:
    diagnostics: list[Diagnostic] = []
    blocks: list[Block] = []
    for rel in rels:
        _, file_blocks, problems = parsed[rel]
        blocks.extend(file_blocks)
        diagnostics.extend(problems)
    module = ModuleSource(directory, rels, blocks, {}, set(), [], diagnostics)
    module.unreadable = [rel for rel in rels if any(p.rule_id == "BRL001" for p in parsed[rel][2])]
    module.guard = guard
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
    applied, named = _tfvars_files(directory, ws)
    passed = _var_files(directory, ws, config)
    for rel in named:
        if rel in passed:
            continue
        # Which -var-file a plan passes is not in the tree: its values are not guessed.
        diagnostics.append(Diagnostic(
            "BRL002", f"{posixpath.basename(rel)} is read by Terraform only when -var-file names it, which the "
            "tree does not say (`var_files:` in the config can): this module is checked with its variables' "
            "defaults" + (" and " + ", ".join(posixpath.basename(a) for a in applied) if applied else "")
            + ", not with the values it sets", Location(rel, 1, 1)))
    applied += passed  # -var-file values come after the files Terraform reads by itself
    for rel in applied:
        try:
            attributes, _, problems = memo(ws.cache, "terraform-tfvars", rel, ws.read_text(rel), _parse_tfvars)
        except Refused as exc:
            if rel not in passed or exc.kind != "missing":
                diagnostics.append(exc.diagnostic(rel))
                continue
            # Terraform refuses the plan; the scan goes on without the file, and says so.
            diagnostics.append(Diagnostic(
                "BRL002", f"`var_files:` in the config passes {rel} to this root module with -var-file, but there "
                "is no such file: the module is checked without it", Location(rels[0], 1, 1)))
            continue
        except FileProblem as exc:
            diagnostics.append(exc.diagnostic(rel))
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
    module.forget()  # values computed while the variables were still being read
    return module


SECRET_NAME = re.compile(r"(password|passwd|secret|token|api_?key|private_?key|access_?key|auth_?key)", re.I)
