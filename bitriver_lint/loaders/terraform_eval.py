"""Evaluate Terraform expressions from python-hcl2's typed parse tree.

Only what deployments use to compute addresses, ports, sizes and flags: literals, string
templates, lists and objects, references to variables, locals and other resources' arguments,
``count.index``/``each``, conditionals, arithmetic and comparisons, and the common functions.
Anything else (data sources, remote modules, unsupported syntax) evaluates to an ``Unknown``
naming what could not be resolved, so rules stay silent instead of guessing.
"""

from __future__ import annotations

import ipaddress
import json
import posixpath
import re
from collections.abc import Callable, Mapping
from typing import Any

from bitriver_lint.model import Unknown


class Scope:
    """What names resolve to while evaluating one expression."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        locals_: Mapping[str, Any],
        resolve: Callable[[list[str]], Any],
        extra: Mapping[str, Any] | None = None,
        read: Callable[[str], str | None] | None = None,
    ) -> None:
        self.variables = variables
        self.locals = locals_
        self.resolve = resolve  # for resource and data references: ["aws_instance", "api", "id"]
        self.extra = dict(extra or {})  # count, each, path, and for-expression iterators
        self.read = read  # a file of the scanned tree by root-relative path, for file()/templatefile()

    def binding(self, names: Mapping[str, Any]) -> Scope:
        """This scope with more names bound (a for expression's iterators)."""
        return Scope(self.variables, self.locals, self.resolve, {**self.extra, **names}, self.read)


class FileText(str):
    """Text read from a file of the tree by file()/templatefile(), which remembers the file, so
    positions inside it can be reported (``exact``: its lines are the file's lines)."""

    path: str
    exact: bool

    def __new__(cls, text: str, path: str, exact: bool) -> FileText:
        value = super().__new__(cls, text)
        value.path, value.exact = path, exact
        return value


# python-hcl2's parse tree reduced to plain tuples, ``(kind, line, column, content)``: content
# is the token's text for a token and a tuple of child nodes for a rule. Plain tuples cost
# little to build and to send between processes (``--jobs`` parses files in parallel), which
# python-hcl2's own objects cannot do. Comments and newlines are dropped.
Syntax = tuple[str, int, int, Any]


def to_syntax(rule: Any) -> Syntax:
    """python-hcl2's tree (from ``hcl2.parses``) as ``Syntax`` nodes."""
    meta = getattr(rule, "_meta", None)
    line, column = getattr(meta, "line", None) or 0, getattr(meta, "column", None) or 0
    kids = getattr(rule, "children", None)
    if kids is None:
        return (type(rule).__name__, line, column, str(getattr(rule, "value", "")))
    return (type(rule).__name__, line, column,
            tuple(to_syntax(c) for c in kids if c is not None and type(c).__name__ != "NewLineOrCommentRule"))


def _name(node: Syntax) -> str:
    return node[0]


def _children(node: Syntax | None) -> tuple[Syntax, ...]:
    return node[3] if node is not None and isinstance(node[3], tuple) else ()


def _token_text(node: Syntax) -> str:
    content = node[3]
    return content if isinstance(content, str) else "".join(_token_text(c) for c in content)


def source_text(node: Syntax) -> str:
    """The expression's text, for messages."""
    return _token_text(node).strip()


class Literal:
    """An already-known value standing in for an expression (plan JSON has values, not code)."""

    def __init__(self, value: Any) -> None:
        self.value = value


class JsonExpression:
    """A value written in Terraform's JSON syntax: plain JSON whose leaves may be parsed template
    expressions (any leaf that is not a str, number, bool or null)."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _json_value(value: Any, scope: Scope) -> Any:
    if isinstance(value, dict):
        return {k: _json_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_value(v, scope) for v in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return evaluate(value, scope)


def evaluate(rule: Any, scope: Scope) -> Any:
    """The value of an expression rule, or an Unknown."""
    if isinstance(rule, Literal):
        return rule.value
    if isinstance(rule, JsonExpression):
        return _json_value(rule.value, scope)
    name = _name(rule)
    kids = _children(rule)
    if name == "ExprTermRule":
        inner = [k for k in kids if not _name(k).endswith("_TOKEN")]
        if len(inner) == 1:
            return evaluate(inner[0], scope)
        return Unknown((), source_text(rule))
    if name == "IntLitRule":
        return int(_token_text(rule))
    if name == "FloatLitRule":
        return float(_token_text(rule))
    if name == "LiteralValueRule":
        text = _token_text(rule)
        return {"true": True, "false": False, "null": None}.get(text, text)
    if name == "StringRule":
        return _string(rule, scope)
    if name in ("HeredocTemplateRule", "HeredocTrimTemplateRule"):
        return _heredoc(_token_text(rule), scope, trim=name == "HeredocTrimTemplateRule")
    if name == "TupleRule":
        return [evaluate(k, scope) for k in kids if not _name(k).endswith("_TOKEN")]
    if name == "ObjectRule":
        out: dict[str, Any] = {}
        for elem in kids:
            if _name(elem) != "ObjectElemRule":
                continue
            parts = [c for c in _children(elem) if not _name(c).endswith("_TOKEN")]
            key_rule, value_rule = parts[0], parts[-1]
            key = _object_key(key_rule, scope)
            out[str(key)] = evaluate(value_rule, scope)
        return out
    if name == "IdentifierRule":
        return _reference([_token_text(rule)], scope, rule)
    if name == "GetAttrExprTermRule":
        path = _path(rule)
        if path is not None:
            return _reference(path, scope, rule)
        # ``aws_instance.api[0].id``: an attribute of one copy of a resource.
        base = evaluate(kids[0], scope)
        attr = [c for c in _children(kids[-1]) if _name(c) == "IdentifierRule"]
        if isinstance(base, str) and attr and _token_text(attr[0]) in ("id", "arn", "name"):
            return base
        if isinstance(base, dict) and attr:
            return _walk(base, [_token_text(attr[0])], rule)
        return base if isinstance(base, Unknown) else Unknown((), source_text(rule))
    if name == "IndexExprTermRule":
        base, index = kids[0], kids[-1]
        container = evaluate(base, scope)
        key = evaluate(_index_expr(index), scope)
        return _index(container, key, rule)
    if name == "FunctionCallRule":
        return _call(rule, scope)
    if name == "ConditionalRule":
        parts = [k for k in kids if not _name(k).endswith("_TOKEN")]
        condition = evaluate(parts[0], scope)
        if isinstance(condition, Unknown):
            return condition
        return evaluate(parts[1] if condition else parts[2], scope)
    if name == "BinaryOpRule":
        return _binary(rule, scope)
    if name == "UnaryOpRule":
        operand = evaluate(kids[-1], scope)
        op = _token_text(kids[0]).strip()
        if isinstance(operand, Unknown):
            return operand
        return -operand if op == "-" else (not operand)
    if name == "InterpolationRule":
        inner = [k for k in kids if not _name(k).endswith("_TOKEN")]
        return evaluate(inner[0], scope) if inner else Unknown((), source_text(rule))
    if name in ("ForTupleExprRule", "ForObjectExprRule"):
        return _for(rule, scope)
    if name == "FullSplatExprTermRule":
        return _splat(rule, scope)
    return Unknown((), source_text(rule))


def _for(rule: Syntax, scope: Scope) -> Any:
    """``[for k, v in coll : expr if cond]`` and ``{for ... : key => value}`` (``...`` groups)."""
    kids = _children(rule)
    intro = next(k for k in kids if _name(k) == "ForIntroRule")
    intro_kids = [k for k in _children(intro) if not _name(k).endswith("_TOKEN")]
    names, collection = [_token_text(k) for k in intro_kids[:-1]], evaluate(intro_kids[-1], scope)
    if isinstance(collection, Unknown):
        return collection
    if not isinstance(collection, (list, dict)) or not names:
        return Unknown((), source_text(rule))
    cond = next((k for k in kids if _name(k) == "ForCondRule"), None)
    cond_expr = next((k for k in _children(cond) if not _name(k).endswith("_TOKEN")), None)
    body = [k for k in kids if not _name(k).endswith("_TOKEN") and _name(k) not in ("ForIntroRule", "ForCondRule")]
    grouping = any(_name(k) == "ELLIPSIS_TOKEN" for k in kids)
    pairs = list(collection.items()) if isinstance(collection, dict) else list(enumerate(collection))
    as_object = _name(rule) == "ForObjectExprRule"
    tuple_out: list[Any] = []
    object_out: dict[str, Any] = {}
    for key, value in pairs:
        bound = {names[-1]: value, **({names[0]: key} if len(names) > 1 else {})}
        inner = scope.binding(bound)
        if cond_expr is not None:
            keep = evaluate(cond_expr, inner)
            if isinstance(keep, Unknown):
                return keep
            if not keep:
                continue
        if not as_object:
            tuple_out.append(evaluate(body[0], inner))
            continue
        out_key = evaluate(body[0], inner)
        if isinstance(out_key, Unknown):
            return out_key
        out_value = evaluate(body[1], inner)
        if grouping:
            object_out.setdefault(_render(out_key), []).append(out_value)
        else:
            object_out[_render(out_key)] = out_value
    return object_out if as_object else tuple_out


def _splat(rule: Syntax, scope: Scope) -> Any:
    """``list[*].attr``: the attribute of every element."""
    kids = _children(rule)
    base = evaluate(kids[0], scope)
    if isinstance(base, Unknown):
        return base
    items = base if isinstance(base, list) else [base]
    attrs = [_token_text(i) for g in _children(kids[-1]) if _name(g) == "GetAttrRule"
             for i in _children(g) if _name(i) == "IdentifierRule"]
    out: list[Any] = []
    for item in items:
        for attr in attrs:
            if isinstance(item, dict):
                item = _walk(item, [attr], rule)
            elif not (isinstance(item, str) and attr in ("id", "arn", "name")):
                return Unknown((), source_text(rule))  # a resource's other attributes are not known before apply
        out.append(item)
    return out


def _object_key(rule: Any, scope: Scope) -> Any:
    inner = [c for c in _children(rule) if not _name(c).endswith("_TOKEN")]
    target = inner[0] if inner else rule
    if _name(target) == "IdentifierRule":
        return _token_text(target)
    return evaluate(target, scope)


def _string(rule: Any, scope: Scope) -> Any:
    pieces = [piece for part in _children(rule) if _name(part) == "StringPartRule" for piece in _children(part)]
    if len(pieces) == 1 and _name(pieces[0]) == "InterpolationRule":
        # As in Terraform, "${expr}" alone is expr itself, type and all: "${var.ports}" is a list.
        return evaluate(pieces[0], scope)
    parts: list[str] = []
    unknowns: list[Unknown] = []
    for piece in pieces:
        if _name(piece) == "InterpolationRule":
            value = evaluate(piece, scope)
            if isinstance(value, Unknown):
                unknowns.append(value)
            else:
                parts.append(_render(value))
        else:
            parts.append(_unescape(_token_text(piece), quoted=_name(rule) == "StringRule"))
    if unknowns:
        names = tuple(dict.fromkeys(n for u in unknowns for n in (u.names or (u.raw,))))
        whys = {u.why for u in unknowns}
        if len(whys) == 1:
            return Unknown(names, source_text(rule), why=whys.pop())
        return Unknown(names, source_text(rule))
    return "".join(parts)


def parse_template(text: str) -> Any:
    """``text`` as a quoted template expression (JSON syntax strings, heredoc bodies), or None
    where Terraform could not read it either."""
    import hcl2

    try:
        tree = to_syntax(hcl2.parses(f"x = {json.dumps(text, ensure_ascii=False)}\n"))
    except Exception:
        return None
    for body in _children(tree):
        for attribute in _children(body):
            if _name(attribute) == "AttributeRule":
                return _children(attribute)[-1]
    return None


def _heredoc(text: str, scope: Scope, trim: bool) -> Any:
    """``<<EOT`` bodies (``<<-EOT`` without their common indent); python-hcl2 keeps them as one token."""
    header, _, rest = text.partition("\n")
    tag = header.lstrip("<-").strip()
    lines = rest.split("\n")
    end = next((i for i, line in enumerate(lines) if line.strip() == tag), len(lines))
    lines = lines[:end]
    if trim:
        indent = min((len(line) - len(line.lstrip()) for line in lines if line.strip()), default=0)
        lines = [line[indent:] for line in lines]
    body = "".join(line + "\n" for line in lines)
    if "{" not in body:
        return body
    # No backslash escapes in heredocs: JSON-encoding the body keeps backslashes literal.
    template = parse_template(body)
    return evaluate(template, scope) if template is not None else Unknown((), text)


_ESCAPE = re.compile(r'\\(?:[nrt"\\]|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8})|\$\$\{|%%\{')
_SIMPLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}


def _unescape(text: str, quoted: bool) -> str:
    """HCL's escapes: backslash sequences in quoted strings only; ``$${``/``%%{`` everywhere."""
    def one(match: re.Match[str]) -> str:
        token = match.group()
        if token in ("$${", "%%{"):
            return token[1:]
        if not quoted:
            return token
        if token[1] in "uU":
            return chr(int(token[2:], 16))
        return _SIMPLE_ESCAPES[token[1]]

    return _ESCAPE.sub(one, text)


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _path(rule: Any) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain contains something else."""
    name = _name(rule)
    if name == "ExprTermRule":
        inner = [k for k in _children(rule) if not _name(k).endswith("_TOKEN")]
        return _path(inner[0]) if len(inner) == 1 else None
    if name == "IdentifierRule":
        return [_token_text(rule)]
    if name == "GetAttrExprTermRule":
        kids = _children(rule)
        head = _path(kids[0])
        attr = [c for c in _children(kids[-1]) if _name(c) == "IdentifierRule"]
        if head is None or not attr:
            return None
        return [*head, _token_text(attr[0])]
    return None


def _index_expr(rule: Any) -> Any:
    inner = [c for c in _children(rule) if not _name(c).endswith("_TOKEN")]
    return inner[0] if inner else rule


def _index(container: Any, key: Any, rule: Any) -> Any:
    if isinstance(container, Unknown):
        return container
    if isinstance(key, Unknown):
        return key
    try:
        if isinstance(container, list) and isinstance(key, int):
            return container[key]
        if isinstance(container, dict):
            return container[str(key)]
    except (IndexError, KeyError):
        pass
    return Unknown((), source_text(rule))


def _reference(path: list[str], scope: Scope, rule: Any) -> Any:
    head = path[0]
    if head == "var" and len(path) >= 2:
        value = scope.variables.get(path[1], Unknown((f"var.{path[1]}",), f"var.{path[1]}"))
        return _walk(value, path[2:], rule)
    if head == "local" and len(path) >= 2:
        value = scope.locals.get(path[1], Unknown((f"local.{path[1]}",), f"local.{path[1]}"))
        return _walk(value, path[2:], rule)
    if head in scope.extra:
        return _walk(scope.extra[head], path[1:], rule)
    if head in ("data", "module"):
        return Unknown((".".join(path[:3]),), ".".join(path))
    if head in ("count", "each", "path", "terraform", "self"):
        return Unknown((".".join(path),), ".".join(path))
    if len(path) >= 2:
        return scope.resolve(path)
    return Unknown((head,), head)


def _walk(value: Any, rest: list[str], rule: Any) -> Any:
    for key in rest:
        if isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, Unknown):
            return value
        else:
            return Unknown((), source_text(rule))
    return value


_COMPARE: dict[str, Callable[[Any, Any], Any]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "%": lambda a, b: a % b,
    "&&": lambda a, b: a and b,
    "||": lambda a, b: a or b,
}


def _binary(rule: Any, scope: Scope) -> Any:
    kids = _children(rule)
    left = evaluate(kids[0], scope)
    term = kids[-1]
    term_kids = _children(term)
    op = _token_text(term_kids[0]).strip()
    right = evaluate(term_kids[-1], scope)
    if isinstance(left, Unknown):
        return left
    if isinstance(right, Unknown):
        return right
    fn = _COMPARE.get(op)
    if fn is None:
        return Unknown((), source_text(rule))
    try:
        return fn(left, right)
    except TypeError:
        return Unknown((), source_text(rule))


def _flatten(value: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in value:
        out.extend(_flatten(item) if isinstance(item, list) else [item])
    return out


def _cidrsubnet(prefix: str, newbits: int, netnum: int) -> str:
    network = ipaddress.ip_network(prefix, strict=False)
    return str(list(network.subnets(prefixlen_diff=newbits))[netnum])


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": lambda *lists: [x for item in lists for x in item],
    "merge": lambda *maps: {k: v for m in maps for k, v in m.items()},
    "lookup": lambda m, k, *default: m[k] if k in m else default[0],
    "element": lambda items, i: items[i % len(items)],
    "format": lambda fmt, *args: fmt.replace("%d", "%s") % tuple(args),
    "tolist": list,
    "toset": lambda items: list(dict.fromkeys(items)),
    "tostring": str,
    "tonumber": lambda v: int(v) if str(v).isdigit() else float(v),
    "flatten": _flatten,
    "length": len,
    "cidrsubnet": _cidrsubnet,
    "lower": lambda s: s.lower(),
    "upper": lambda s: s.upper(),
    "join": lambda sep, items: sep.join(str(i) for i in items),
    "coalesce": lambda *values: next(v for v in values if v not in (None, "")),
    "max": max,
    "min": min,
    # Containers are read as values: the JSON text itself is not needed. Likewise encoded text
    # is read as the text (user data is base64encode(templatefile(...))).
    "jsonencode": lambda value: value,
    "base64encode": lambda text: text,
    "base64gzip": lambda text: text,
    "jsondecode": lambda text: json.loads(text),
}


def _read_file(name: str, args: list[Any], scope: Scope, rule: Syntax) -> Any:
    """file(path) and templatefile(path, vars) over the files of the scanned tree."""
    path = args[0] if args else None
    if isinstance(path, Unknown):
        return path
    text = scope.read(posixpath.normpath(path)) if isinstance(path, str) and scope.read else None
    if text is None:
        return Unknown((f"{name}()",), source_text(rule), why="reads a file that is not in the scanned tree")
    if name != "templatefile":
        return FileText(text, posixpath.normpath(str(path)), exact=True)
    names = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
    template = parse_template(text)
    if template is None:
        return Unknown((f"{name}()",), source_text(rule), why="is a template we cannot read")
    rendered = evaluate(template, Scope({}, {}, scope.resolve, names, scope.read))
    if not isinstance(rendered, str):
        return rendered
    # Interpolations keep the template's lines unless a directive (%{ for }) repeats some.
    return FileText(rendered, posixpath.normpath(str(path)), exact="%{" not in text)


def _call(rule: Any, scope: Scope) -> Any:
    kids = _children(rule)
    name = _token_text(kids[0])
    args_rule = next((k for k in kids if _name(k) == "ArgumentsRule"), None)
    args = [evaluate(a, scope) for a in _children(args_rule) if not _name(a).endswith("_TOKEN")] if args_rule else []
    if name in ("file", "filebase64", "templatefile"):
        return _read_file(name, args, scope, rule)
    if name == "try":
        # try() skips arguments that fail (a missing key: an Unknown naming nothing); one that
        # rests on a value we cannot know (it names it) makes the result unknowable too.
        return next((a for a in args if not (isinstance(a, Unknown) and not a.names)),
                    Unknown(("try()",), source_text(rule)))
    for arg in args:
        if isinstance(arg, Unknown):
            return arg
        if isinstance(arg, list) and any(isinstance(x, Unknown) for x in arg) and name not in ("concat", "flatten"):
            return next(x for x in arg if isinstance(x, Unknown))
    fn = _FUNCTIONS.get(name)
    if fn is None:
        return Unknown((f"{name}()",), source_text(rule))
    try:
        return fn(*args)
    except (TypeError, ValueError, KeyError, IndexError, StopIteration, ZeroDivisionError):
        return Unknown((f"{name}()",), source_text(rule))
