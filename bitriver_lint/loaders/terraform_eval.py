"""Evaluate Terraform expressions from python-hcl2's typed parse tree.

Only what deployments use to compute addresses, ports, sizes and flags: literals, string
templates, lists and objects, references to variables, locals and other resources' arguments,
``count.index``/``each``, conditionals, arithmetic and comparisons, and the common functions.
Anything else (data sources, remote modules, unsupported syntax) evaluates to an ``Unknown``
naming what could not be resolved, so rules stay silent instead of guessing.

The trees come from pull requests, so evaluation is bounded (``LIMITS``) and never raises:
an expression Terraform would reject (``1 / 0``, ``-"abc"``) is an ``Unknown`` saying why, and
one that would cost more than a safety limit (``format("%01000000000d", 1)``) is an ``Unknown``
too, reported once as BRL001 where it is written.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import math
import posixpath
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from bitriver_lint.loaders.terraform_document import AFTER_APPLY, FileText
from bitriver_lint.model import Diagnostic, Location, Unknown


@dataclass
class Limits:
    """Safety limits of one scan: what a hostile tree could otherwise blow up."""

    resource_instances: int = 1_000  # instances of one resource (or dynamic block) from count/for_each
    expanded_instances: int = 10_000  # instances made by count/for_each, all resources of the scan together
    module_instances: int = 10_000  # local module instances of the scan (1,000 sites of ten modules each)
    module_depth: int = 16  # modules calling modules
    elements: int = 10_000  # elements of a list or map a function or for expression produces
    string_length: int = 1_000_000  # characters of a string a template or function produces
    number_bits: int = 512  # whole numbers beyond 2**512 (Terraform's own precision)
    nesting: int = 100  # expressions (and decoded values) nested deeper than this
    steps: int = 200_000  # expression nodes and loop iterations evaluated for one value
    loop_steps: int = 2_000_000  # loop iterations and produced elements of the whole scan


LIMITS = Limits()


class EvalError(Exception):
    """Terraform would reject this expression; its value is unknown."""


class LimitExceeded(Exception):
    """Evaluating this would cost more than a safety limit; ``what`` says which, for BRL001."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


class BudgetExhausted(LimitExceeded):
    """The step budget of one value (or of the scan's loops) is spent: the whole value is unknown."""


class Guard:
    """Limits, budgets and BRL001 reports shared by every module instance of one load."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or LIMITS
        self.depth = 0  # evaluation nesting, across locals and resource references
        self.steps = 0  # steps of the value being evaluated
        self.loop_steps = 0  # loop iterations and produced elements so far, whole scan
        self.expanded = 0  # resource instances made by count/for_each so far
        self.modules = 0  # module instances so far
        self.diagnostics: list[Diagnostic] = []
        self._seen: set[tuple[Location, str]] = set()

    def report(self, location: Location | None, message: str) -> None:
        """One BRL001 per place and message, however many instances meet it."""
        if location is None or (location, message) in self._seen:
            return
        self._seen.add((location, message))
        self.diagnostics.append(Diagnostic("BRL001", message, location))

    def tick(self) -> None:
        self.steps += 1
        if self.steps > self.limits.steps:
            raise BudgetExhausted(f"more than {self.limits.steps:,} evaluation steps for one value")

    def loop(self, amount: int = 1) -> None:
        """Work a loop or a producing function does: counted for the value and for the scan."""
        self.steps += amount
        self.loop_steps += amount
        if self.loop_steps > self.limits.loop_steps:
            raise BudgetExhausted(f"more than {self.limits.loop_steps:,} loop iterations in the whole scan")
        if self.steps > self.limits.steps:
            raise BudgetExhausted(f"more than {self.limits.steps:,} evaluation steps for one value")


class Scope:
    """What names resolve to while evaluating one expression."""

    def __init__(
        self,
        variables: Mapping[str, Any],
        locals_: Mapping[str, Any],
        resolve: Callable[[list[str]], Any],
        extra: Mapping[str, Any] | None = None,
        read: Callable[[str], str | None] | None = None,
        *,
        guard: Guard | None = None,
        origin: Location | None = None,
        exact: bool = True,
        in_template: bool = False,
    ) -> None:
        self.variables = variables
        self.locals = locals_
        self.resolve = resolve  # for resource and data references: ["aws_instance", "api", "id"]
        self.extra = dict(extra or {})  # count, each, path, and for-expression iterators
        self.read = read  # a file of the scanned tree by root-relative path, for file()/templatefile()
        self.guard = guard if guard is not None else Guard()
        self.origin = origin  # where the expression is written, for BRL001 reports
        self.exact = exact  # the nodes' lines and columns are positions in origin's file
        self.in_template = in_template  # rendering a templatefile(): it may not call templatefile()

    def binding(self, names: Mapping[str, Any]) -> Scope:
        """This scope with more names bound (a for expression's iterators)."""
        return self._derive(extra={**self.extra, **names})

    def _derive(self, **changes: Any) -> Scope:
        fields: dict[str, Any] = {"extra": self.extra, "read": self.read, "guard": self.guard, "origin": self.origin,
                                  "exact": self.exact, "in_template": self.in_template, **changes}
        return Scope(self.variables, self.locals, self.resolve, **fields)

    def where(self, rule: Any) -> Location | None:
        """The position of a node, in the file the expression is written in."""
        if self.origin is None:
            return None
        if self.exact and isinstance(rule, tuple) and rule[1]:
            return Location(self.origin.path, rule[1], rule[2] or 1)
        return self.origin


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


class Unhandled(Exception):
    """A construct ``from_lark`` leaves to python-hcl2's transformer."""


# Lark rules python-hcl2's transformer turns into one rule object each, children as they are
# (less ``None`` placeholders, which ``to_syntax`` drops): the rule's class name. The others
# (template directives, for expressions) are reshaped there: ``from_lark`` leaves them to it.
_RULE_CLASSES = {
    "start": "StartRule", "body": "BodyRule", "identifier": "IdentifierRule", "keyword": "KeywordRule",
    "literal_value": "LiteralValueRule", "int_lit": "IntLitRule", "float_lit": "FloatLitRule",
    "string": "StringRule", "string_part": "StringPartRule", "interpolation": "InterpolationRule",
    "heredoc_template": "HeredocTemplateRule", "heredoc_template_trim": "HeredocTrimTemplateRule",
    "expr_term": "ExprTermRule", "binary_operator": "BinaryOperatorRule", "unary_op": "UnaryOpRule",
    "binary_op": "BinaryOpRule", "tuple": "TupleRule", "object": "ObjectRule", "object_elem": "ObjectElemRule",
    "arguments": "ArgumentsRule", "function_call": "FunctionCallRule", "index_expr_term": "IndexExprTermRule",
    "braces_index": "SqbIndexRule", "short_index": "ShortIndexRule", "get_attr_expr_term": "GetAttrExprTermRule",
    "attr_splat": "AttrSplatRule", "attr_splat_expr_term": "AttrSplatExprTermRule", "full_splat": "FullSplatRule",
    "full_splat_expr_term": "FullSplatExprTermRule",
    # Reshaped below, as the transformer does:
    "block": "BlockRule", "attribute": "AttributeRule", "get_attr": "GetAttrRule", "conditional": "ConditionalRule",
    "binary_term": "BinaryTermRule", "object_elem_key": "ObjectElemKeyRule",
}
# Deeper than this, the transformer's recursion (several frames a level) may run out where
# ours would not: such a file takes the transformer's path, which fails the same way as before.
_LARK_DEPTH = 150
_TOKEN_NAMES: dict[tuple[str, str], str] = {}


def _token_name(kind: str, value: str) -> str:
    """The class name python-hcl2's transformer gives a token (``RuleTransformer.__default_token__``)."""
    name = _TOKEN_NAMES.get((kind, value))
    if name is None:
        from hcl2.rules.tokens import NAME, FloatLiteral, IntLiteral, StaticStringToken, StringToken

        if kind == "NAME":
            name = NAME.__name__
        elif kind == "INT_LITERAL":
            name = IntLiteral.__name__
        elif kind == "FLOAT_LITERAL":
            name = FloatLiteral.__name__
        elif kind not in ("STRING_CHARS", "ESCAPED_INTERPOLATION", "ESCAPED_DIRECTIVE") \
                and value in StaticStringToken.classes_by_value:
            name = StaticStringToken.classes_by_value[value].__name__
        else:
            name = StringToken[kind].__name__  # type: ignore[misc]
        if len(_TOKEN_NAMES) < 10_000:  # token kinds and punctuation: few, but values are the tree's
            _TOKEN_NAMES[(kind, value)] = name
    return name


def syntax_of(text: str) -> Syntax:
    """``to_syntax(hcl2.parses(text))``: straight from Lark's tree where ``from_lark`` knows
    every construct, else through python-hcl2's transformer."""
    from hcl2.api import parses_to_tree, transform

    lark_tree = parses_to_tree(text)
    if _mirrors_installed_hcl2() and not _RESHAPED.search(text):
        try:
            return from_lark(lark_tree)
        except Unhandled:
            pass
    return to_syntax(transform(lark_tree))


@functools.lru_cache(maxsize=1)
def _mirrors_installed_hcl2() -> bool:
    """``from_lark`` copies the reshaping of python-hcl2 8.1's transformer (its grammar's rule
    names included); under any other release the transformer itself is used."""
    import hcl2

    return str(getattr(hcl2, "__version__", "")).startswith("8.1.")


# Text that may hold a construct ``from_lark`` leaves to the transformer (a for expression, a
# template directive): such a file goes there first, without a conversion begun in vain.
_RESHAPED = re.compile(r"\bfor\b|%\{")


def from_lark(tree: Any) -> Syntax:
    """Lark's parse tree (``hcl2.api.parses_to_tree``) as the ``Syntax`` that ``to_syntax``
    makes of python-hcl2's transformed tree, without building that tree: a third of the
    parse. Raises ``Unhandled`` for what it leaves to the transformer."""
    return _lark_node(tree, 0)


def _lark_meta(tree: Any) -> tuple[int, int]:
    meta = tree.meta
    return getattr(meta, "line", None) or 0, getattr(meta, "column", None) or 0


def _lark_token(token: Any, value: str | None = None) -> Syntax:
    text = str(token.value) if value is None else value
    return (_token_name(token.type, str(token.value)), 0, 0, text)


def _as_identifier(node: Syntax, meta: tuple[int, int], kinds: tuple[str, ...] = ("KeywordRule", "LiteralValueRule")
                   ) -> Syntax:
    """A keyword or ``true``/``false``/``null`` where a name is expected: an identifier of the
    same text, at the enclosing rule's position (as the transformer makes it)."""
    if node[0] in kinds:
        token = node[3][0]
        from hcl2.rules.tokens import NAME

        return ("IdentifierRule", meta[0], meta[1], ((NAME.__name__, 0, 0, token[3]),))
    return node


def _lark_node(tree: Any, depth: int) -> Syntax:
    from lark import Token

    if isinstance(tree, Token):
        return _lark_token(tree)
    rule = tree.data
    kind = _RULE_CLASSES.get(rule)
    if kind is None or depth > _LARK_DEPTH:
        raise Unhandled(rule)
    line, column = meta = _lark_meta(tree)
    if rule == "object_elem_key":
        return _lark_object_key(tree, meta, depth)
    kids: list[Syntax] = []
    for child in tree.children:
        if child is None:
            continue
        if isinstance(child, Token):
            kids.append(_lark_token(child))
        elif child.data == "new_line_or_comment":
            continue  # dropped by to_syntax
        else:
            kids.append(_lark_node(child, depth + 1))
    if rule == "block":
        kids = [_as_identifier(k, meta) for k in kids]
    elif rule == "attribute" and kids:
        kids[0] = _as_identifier(kids[0], meta)
    elif rule == "get_attr" and len(kids) >= 2:
        kids[1] = _as_identifier(kids[1], meta, ("LiteralValueRule",))
    elif rule in ("conditional", "binary_term"):
        kids = _lark_strip_newline(tree, kids)
    return (kind, line, column, tuple(kids))


def _lark_strip_newline(tree: Any, kids: list[Syntax]) -> list[Syntax]:
    """The postlexer folds a line break before ``?`` or an operator into its token; the
    transformer takes it off again (``_extract_nl_prefix``)."""
    from lark import Token

    children = [c for c in tree.children if c is not None]
    if tree.data == "conditional":
        token = children[1] if len(children) > 1 else None
        if not isinstance(token, Token):
            raise Unhandled("conditional")
        kids[1] = _lark_token(token, str(token.value).lstrip("\n \t"))  # after the condition
        return kids
    operator = children[0] if children else None
    if operator is None or isinstance(operator, Token) or operator.data != "binary_operator" \
            or not operator.children or not isinstance(operator.children[0], Token):
        raise Unhandled("binary_term")
    token = operator.children[0]
    first = kids[0]
    kids[0] = (first[0], first[1], first[2], (_lark_token(token, str(token.value).lstrip("\n \t")), *first[3][1:]))
    return kids


def _lark_object_key(tree: Any, meta: tuple[int, int], depth: int) -> Syntax:
    """``RuleTransformer.object_elem_key``: a literal key (``a``, ``"a"``, ``1``) without its
    expression wrapper, ``true``/``null`` and keywords as names; any other key as written."""
    from lark import Token

    children = [c for c in tree.children if c is not None]
    if len(children) != 1 or isinstance(children[0], Token):
        raise Unhandled("object_elem_key")
    expr = children[0]
    node = _lark_node(expr, depth + 1) if expr.data != "keyword" else None
    if expr.data == "keyword":
        token = expr.children[0]
        from hcl2.rules.tokens import NAME

        return ("ObjectElemKeyRule", meta[0], meta[1],
                (("IdentifierRule", meta[0], meta[1], ((NAME.__name__, 0, 0, str(token.value)),)),))
    assert node is not None
    if node[0] == "ExprTermRule":
        inner = _expr_term_middle(expr)
        if inner is not None:
            inner_node = _lark_node(inner, depth + 2)
            if inner_node[0] in ("IdentifierRule", "StringRule", "IntLitRule", "FloatLitRule", "LiteralValueRule"):
                if inner_node[0] == "LiteralValueRule":
                    inner_node = _as_identifier(inner_node, meta)
                return ("ObjectElemKeyRule", meta[0], meta[1], (inner_node,))
    return ("ObjectElemKeyExpressionRule", meta[0], meta[1], (node,))


def _expr_term_middle(expr: Any) -> Any:
    """What ``ExprTermRule`` puts at index 2 of its children when it has five (its optional
    parentheses and line breaks as placeholders), else None."""
    from lark import Token

    children: list[Any] = [c for c in expr.children if c is not None]
    if not children:
        return None

    def token_named(child: Any, name: str) -> bool:
        return isinstance(child, Token) and _token_name(child.type, str(child.value)) == f"{name}_TOKEN"

    if not (token_named(children[0], "LPAR") and token_named(children[-1], "RPAR")):
        children = [None, *children, None]
    for index in (1, 3):  # a placeholder where there is no line break (InlineCommentMixIn._insert_optionals)
        after = children[index] if index < len(children) else None
        if not (isinstance(after, type(expr)) and after.data == "new_line_or_comment"):
            children.insert(index, None)
    if len(children) != 5 or isinstance(children[2], Token) or children[2] is None:
        return None
    return children[2]


def _name(node: Syntax) -> str:
    return node[0]


def _children(node: Syntax | None) -> tuple[Syntax, ...]:
    return node[3] if node is not None and isinstance(node[3], tuple) else ()


def _token_text(node: Syntax) -> str:
    """The text of every token under ``node``, without recursion (trees may be deep)."""
    if isinstance(node[3], str):
        return node[3]
    out: list[str] = []
    stack: list[Syntax] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current[3], str):
            out.append(current[3])
        else:
            stack.extend(reversed(current[3]))
    return "".join(out)


def token_text(node: Syntax) -> str:
    """The expression's whole text, as written less its whitespace and comments."""
    return _token_text(node)


_MESSAGE_TEXT = 60


def source_text(node: Syntax) -> str:
    """The expression's text, for messages (long ones shortened)."""
    text = _token_text(node).strip()
    return text if len(text) <= _MESSAGE_TEXT else text[:_MESSAGE_TEXT - 1] + "…"


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


def evaluate_value(rule: Any, scope: Scope) -> Any:
    """The value of a whole expression (an argument, a local): ``evaluate`` within a fresh step
    budget; a budget spent makes the whole value unknown, reported once where it is written."""
    guard = scope.guard
    saved = guard.steps
    guard.steps = 0
    try:
        return evaluate(rule, scope)
    except BudgetExhausted as exc:
        text = source_text(rule) if isinstance(rule, tuple) else "this value"
        where = scope.where(rule) if isinstance(rule, tuple) else scope.origin
        guard.report(where, f"{text} needs {exc.what}, over a safety limit; its value is treated as unknown")
        return Unknown((text,), text, why=f"exceeds a safety limit ({exc.what})")
    except Exception as exc:  # a last resort: a value we cannot compute never stops the scan
        text = source_text(rule) if isinstance(rule, tuple) else "this value"
        return Unknown((), text, why=f"cannot be evaluated ({_describe(exc)})")
    finally:
        guard.steps = saved


def _describe(exc: BaseException) -> str:
    if isinstance(exc, RecursionError):
        return "nested too deeply"
    if isinstance(exc, MemoryError):
        return "out of memory"
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text if len(text) <= _MESSAGE_TEXT else text[:_MESSAGE_TEXT - 1] + "…"


def evaluate(rule: Any, scope: Scope) -> Any:
    """The value of an expression rule, or an Unknown. A node that fails is the Unknown, not
    the whole expression; a limit it hits is reported where the node is written."""
    if isinstance(rule, Literal):
        return rule.value
    if isinstance(rule, JsonExpression):
        return _json_value(rule.value, scope)
    guard = scope.guard
    guard.tick()
    guard.depth += 1
    try:
        if guard.depth > guard.limits.nesting:
            raise LimitExceeded(f"expressions nested more than {guard.limits.nesting} levels deep")
        return _evaluate(rule, scope)
    except BudgetExhausted:
        raise
    except LimitExceeded as exc:
        text = source_text(rule)
        guard.report(scope.where(rule), f"{text} exceeds a safety limit ({exc.what}); its value is treated as unknown")
        return Unknown((text,), text, why=f"exceeds a safety limit ({exc.what})")
    except Exception as exc:  # division by zero, a wrong type, RecursionError, MemoryError...
        return Unknown((), source_text(rule), why=f"cannot be evaluated ({_describe(exc)})")
    finally:
        guard.depth -= 1


def _evaluate(rule: Syntax, scope: Scope) -> Any:
    name = _name(rule)
    kids = _children(rule)
    if name == "ExprTermRule":
        if len(kids) == 1 and not kids[0][0].endswith("_TOKEN"):
            return evaluate(kids[0], scope)  # the usual shape: no parentheses
        inner = [k for k in kids if not _name(k).endswith("_TOKEN")]
        if len(inner) == 1:
            return evaluate(inner[0], scope)
        return Unknown((), source_text(rule))
    if name == "IntLitRule":
        return _int_literal(_token_text(rule))
    if name == "FloatLitRule":
        return _number(_parse_number(_token_text(rule)))
    if name == "LiteralValueRule":
        text = _token_text(rule)
        return {"true": True, "false": False, "null": None}.get(text, text)
    if name == "StringRule":
        return _string(rule, scope)
    if name in ("HeredocTemplateRule", "HeredocTrimTemplateRule"):
        return _heredoc(rule, scope, trim=name == "HeredocTrimTemplateRule")
    if name == "TupleRule":
        return [evaluate(k, scope) for k in kids if not _name(k).endswith("_TOKEN")]
    if name == "ObjectRule":
        return _object(kids, scope, rule)
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
        return _checked(_call(rule, scope), scope.guard)
    if name == "ConditionalRule":
        parts = [k for k in kids if not _name(k).endswith("_TOKEN")]
        condition = evaluate(parts[0], scope)
        if isinstance(condition, Unknown):
            return condition
        return evaluate(parts[1] if _to_bool(condition) else parts[2], scope)
    if name == "BinaryOpRule":
        return _binary(rule, scope)
    if name == "UnaryOpRule":
        operand = evaluate(kids[-1], scope)
        op = _token_text(kids[0]).strip()
        if isinstance(operand, Unknown):
            return operand
        if op == "-":
            return _number(-_to_number(operand))
        if op == "!":
            return not _to_bool(operand)
        return Unknown((), source_text(rule))
    if name == "InterpolationRule":
        inner = [k for k in kids if not _name(k).endswith("_TOKEN")]
        return evaluate(inner[0], scope) if inner else Unknown((), source_text(rule))
    if name in ("ForTupleExprRule", "ForObjectExprRule"):
        return _checked(_for(rule, scope), scope.guard)
    if name == "FullSplatExprTermRule":
        return _splat(rule, scope)
    return Unknown((), source_text(rule))


def _checked(value: Any, guard: Guard) -> Any:
    """A produced value within the limits (what function calls and for expressions make)."""
    limits = guard.limits
    if isinstance(value, str) and len(value) > limits.string_length:
        raise LimitExceeded(f"strings longer than {limits.string_length:,} characters")
    if isinstance(value, (list, dict)):
        if len(value) > limits.elements:
            raise LimitExceeded(f"more than {limits.elements:,} elements")
        guard.loop(len(value))
    return value


# Numbers ------------------------------------------------------------------------------------

_NUMBER = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _int_literal(text: str) -> int:
    # Past Terraform's own 512-bit precision, and before Python's int/str conversion limit.
    if len(text.lstrip("-")) > LIMITS.number_bits * 0.302 + 2:
        raise LimitExceeded(f"numbers with more than {LIMITS.number_bits} bits")
    value = int(text)
    if value.bit_length() > LIMITS.number_bits:
        raise LimitExceeded(f"numbers with more than {LIMITS.number_bits} bits")
    return value


def _parse_number(text: str) -> int | float:
    """A number as Terraform reads one from a string (``"8080"``, ``"1.5"``, ``"1e3"``)."""
    if not _NUMBER.fullmatch(text):
        raise EvalError(f"{text[:40]!r} is not a number")
    mantissa = text.split("e")[0].split("E")[0]
    if any(c in text for c in ".eE"):
        if len(mantissa) > 1000:
            raise LimitExceeded(f"numbers written with more than {1000:,} digits")
        exponent = re.search(r"[eE]([+-]?\d+)", text)
        value = 0.0 if exponent and len(exponent.group(1).lstrip("+-")) > 6 else float(text)
        if not math.isfinite(value) or (exponent and value == 0.0 and any(c in mantissa.strip("-.0") for c in
                                                                           "123456789")):
            raise LimitExceeded(f"numbers with more than {LIMITS.number_bits} bits")
        return value
    return _int_literal(text)


def _number(value: int | float) -> int | float:
    """A computed number as the evaluator keeps it: whole numbers as ints, within the limit."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise EvalError("the result is not a finite number")
        if value.is_integer():
            if abs(value) >= 2.0 ** LIMITS.number_bits:
                raise LimitExceeded(f"numbers with more than {LIMITS.number_bits} bits")
            return int(value)
        return value
    if value.bit_length() > LIMITS.number_bits:
        raise LimitExceeded(f"numbers with more than {LIMITS.number_bits} bits")
    return value


def _to_number(value: Any) -> int | float:
    """Terraform's conversion to number: numbers, and strings that spell one."""
    if isinstance(value, bool) or value is None:
        raise EvalError(f"a number is required, not {_type_name(value)}")
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, str):
        return _number(_parse_number(value))
    raise EvalError(f"a number is required, not {_type_name(value)}")


def _whole(value: Any) -> int:
    number = _to_number(value)
    if isinstance(number, float):
        raise EvalError(f"{number} is not a whole number")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return bool(value == "true")
    raise EvalError(f"a bool is required, not {_type_name(value)}")


def _to_string(value: Any) -> str:
    """Terraform's conversion to string: strings, numbers and bools."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _render_number(value)
    raise EvalError(f"a string is required, not {_type_name(value)}")


def _render_number(value: int | float) -> str:
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text or "E" in text:
        from decimal import Decimal

        text = format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _render(value: Any) -> str:
    """A value inside a string template or as an object key."""
    if value is None:
        raise EvalError("a null value cannot be used in a string")
    return _to_string(value)


# Expressions --------------------------------------------------------------------------------

def _object(kids: tuple[Syntax, ...], scope: Scope, rule: Syntax) -> Any:
    out: dict[str, Any] = {}
    for elem in kids:
        if _name(elem) != "ObjectElemRule":
            continue
        parts = [c for c in _children(elem) if not _name(c).endswith("_TOKEN")]
        key_rule, value_rule = parts[0], parts[-1]
        key = _object_key(key_rule, scope)
        if isinstance(key, Unknown):
            return key
        out[_render(key)] = evaluate(value_rule, scope)
    return out


def _for(rule: Syntax, scope: Scope) -> Any:
    """``[for k, v in coll : expr if cond]`` and ``{for ... : key => value}`` (``...`` groups)."""
    kids = _children(rule)
    intro = next(k for k in kids if _name(k) == "ForIntroRule")
    intro_kids = [k for k in _children(intro) if not _name(k).endswith("_TOKEN")]
    names, collection = [_token_text(k) for k in intro_kids[:-1]], evaluate(intro_kids[-1], scope)
    if isinstance(collection, Unknown):
        return collection
    if not isinstance(collection, (list, dict)) or not names:
        raise EvalError(f"a for expression needs a list, set or map, not {_type_name(collection)}")
    cond = next((k for k in kids if _name(k) == "ForCondRule"), None)
    cond_expr = next((k for k in _children(cond) if not _name(k).endswith("_TOKEN")), None)
    body = [k for k in kids if not _name(k).endswith("_TOKEN") and _name(k) not in ("ForIntroRule", "ForCondRule")]
    grouping = any(_name(k) == "ELLIPSIS_TOKEN" for k in kids)
    # Terraform walks a map in key order.
    pairs = sorted(collection.items()) if isinstance(collection, dict) else list(enumerate(collection))
    as_object = _name(rule) == "ForObjectExprRule"
    limit = scope.guard.limits.elements
    tuple_out: list[Any] = []
    object_out: dict[str, Any] = {}
    for key, value in pairs:
        scope.guard.loop()
        bound = {names[-1]: value, **({names[0]: key} if len(names) > 1 else {})}
        inner = scope.binding(bound)
        if cond_expr is not None:
            keep = evaluate(cond_expr, inner)
            if isinstance(keep, Unknown):
                return keep
            if not _to_bool(keep):
                continue
        if not as_object:
            tuple_out.append(evaluate(body[0], inner))
            if len(tuple_out) > limit:
                raise LimitExceeded(f"more than {limit:,} elements")
            continue
        out_key = evaluate(body[0], inner)
        if isinstance(out_key, Unknown):
            return out_key
        out_value = evaluate(body[1], inner)
        text = _render(out_key)
        if grouping:
            object_out.setdefault(text, []).append(out_value)
        elif text in object_out:
            raise EvalError(f"duplicate key {text[:40]!r} in a for expression")
        else:
            object_out[text] = out_value
        if len(object_out) > limit:
            raise LimitExceeded(f"more than {limit:,} elements")
    return object_out if as_object else tuple_out


def _splat(rule: Syntax, scope: Scope) -> Any:
    """``list[*].attr``: the attribute of every element."""
    kids = _children(rule)
    base = evaluate(kids[0], scope)
    if isinstance(base, Unknown):
        return base
    items = base if isinstance(base, list) else ([] if base is None else [base])
    attrs = [_token_text(i) for g in _children(kids[-1]) if _name(g) == "GetAttrRule"
             for i in _children(g) if _name(i) == "IdentifierRule"]
    out: list[Any] = []
    for item in items:
        scope.guard.loop()
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


def _plain(pieces: list[Syntax]) -> str | None:
    """The text of a string's parts when it is one piece of plain text (most strings): nothing
    to interpolate or unescape."""
    if len(pieces) == 1 and isinstance(pieces[0][3], str) and "\\" not in pieces[0][3] \
            and "$${" not in pieces[0][3] and "%%{" not in pieces[0][3]:
        return pieces[0][3]
    return None


def plain_string(expr: Syntax) -> str | None:
    """The value of an expression that is a quoted string of plain text, else None: what
    ``evaluate`` gives it, without a scope."""
    kids = _children(expr)
    if _name(expr) != "ExprTermRule" or len(kids) != 1 or _name(kids[0]) != "StringRule":
        return None
    quoted = _children(kids[0])  # the quotes around one part, in a string of plain text
    if len(quoted) != 3 or [_name(k) for k in quoted] != ["DBLQUOTE_TOKEN", "StringPartRule", "DBLQUOTE_TOKEN"]:
        return None
    return _plain(list(_children(quoted[1])))


def _string(rule: Any, scope: Scope) -> Any:
    pieces = [piece for part in _children(rule) if _name(part) == "StringPartRule" for piece in _children(part)]
    plain = _plain(pieces)
    if plain is not None:
        return plain
    if len(pieces) == 1 and _name(pieces[0]) == "InterpolationRule":
        # As in Terraform, "${expr}" alone is expr itself, type and all: "${var.ports}" is a list.
        return evaluate(pieces[0], scope)
    parts: list[str] = []
    unknowns: list[Unknown] = []
    size = 0
    limit = scope.guard.limits.string_length
    for piece in pieces:
        if _name(piece) == "InterpolationRule":
            value = evaluate(piece, scope)
            if isinstance(value, Unknown):
                unknowns.append(value)
                continue
            text = _render(value)
        else:
            text = _unescape(_token_text(piece), quoted=_name(rule) == "StringRule")
        size += len(text)
        if size > limit:
            raise LimitExceeded(f"strings longer than {limit:,} characters")
        parts.append(text)
    if unknowns:
        names = tuple(dict.fromkeys(n for u in unknowns for n in (u.names or (u.raw,))))
        whys = {u.why for u in unknowns}
        if len(whys) == 1:
            return Unknown(names, source_text(rule), why=whys.pop())
        return Unknown(names, source_text(rule))
    return "".join(parts)


@functools.lru_cache(maxsize=256)
def parse_template(text: str) -> Any:
    """``text`` as a quoted template expression (JSON syntax strings, heredoc bodies), or None
    where Terraform could not read it either. One parse per distinct text."""
    try:
        tree = syntax_of(f"x = {json.dumps(text, ensure_ascii=False)}\n")
    except Exception:
        return None
    for body in _children(tree):
        for attribute in _children(body):
            if _name(attribute) == "AttributeRule":
                return _children(attribute)[-1]
    return None


def _heredoc(rule: Syntax, scope: Scope, trim: bool) -> Any:
    """``<<EOT`` bodies (``<<-EOT`` without their common indent); python-hcl2 keeps them as one token."""
    text = _token_text(rule)
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
    if template is None:
        return Unknown((), source_text(rule))
    return evaluate(template, scope._derive(origin=scope.where(rule), exact=False))


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
            code = int(token[2:], 16)
            return chr(code) if code <= 0x10FFFF else token
        return _SIMPLE_ESCAPES[token[1]]

    return _ESCAPE.sub(one, text)


_PATHS: dict[int, tuple[Syntax, list[str] | None]] = {}


def _path(rule: Any) -> list[str] | None:
    """``a.b.c`` as ["a", "b", "c"]; None when the chain contains something else. Read once
    per node (the same reference is evaluated for every instance of its module), so the list
    is shared: callers only read it."""
    cached = _PATHS.get(id(rule))
    if cached is not None and cached[0] is rule:
        return cached[1]
    path = _read_path(rule)
    if len(_PATHS) > 100_000:
        _PATHS.clear()
    _PATHS[id(rule)] = (rule, path)  # holding the node keeps its id unique
    return path


def _read_path(rule: Any) -> list[str] | None:
    name = _name(rule)
    if name == "ExprTermRule":
        inner = [k for k in _children(rule) if not _name(k).endswith("_TOKEN")]
        return _read_path(inner[0]) if len(inner) == 1 else None
    if name == "IdentifierRule":
        return [_token_text(rule)]
    if name == "GetAttrExprTermRule":
        kids = _children(rule)
        head = _read_path(kids[0])
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
    if isinstance(container, list):
        index = _whole(key)
        if 0 <= index < len(container):
            return container[index]
    elif isinstance(container, dict) and key is not None and not isinstance(key, (list, dict)):
        text = _to_string(key)
        if text in container:
            return container[text]
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
        elif isinstance(value, str) and value:
            # A string with attributes is a whole resource passed on (a module output or local
            # whose value is ``google_compute_backend_bucket.site``, read as ``module.x.out.id``):
            # its id, arn or name stands for it, as written directly; another attribute is
            # computed at apply but still names it.
            if key not in ("id", "arn", "name"):
                return Unknown((value,), source_text(rule), why=AFTER_APPLY)
        else:
            return Unknown((), source_text(rule))
    return value


# Operators ----------------------------------------------------------------------------------

class _UnknownInside(Exception):
    """A comparison reached a value that is not known."""


def _equal(a: Any, b: Any) -> bool:
    """Terraform's ``==``: same type and value (``1 == "1"`` and ``true == 1`` are false)."""
    if isinstance(a, Unknown) or isinstance(b, Unknown):
        raise _UnknownInside
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if type(a) is not type(b) and not (isinstance(a, str) and isinstance(b, str)):
        return False
    return bool(a == b)


def _divide(a: int | float, b: int | float) -> int | float:
    if b == 0:
        raise EvalError("division by zero")
    if isinstance(a, int) and isinstance(b, int):
        exact = Fraction(a, b)
        return exact.numerator if exact.denominator == 1 else float(exact)
    return a / b


def _modulo(a: int | float, b: int | float) -> int | float:
    """Terraform's remainder keeps the sign of the dividend (``-5 % 3`` is -2)."""
    if b == 0:
        raise EvalError("division by zero")
    if isinstance(a, int) and isinstance(b, int):
        remainder = abs(a) % abs(b)
        return -remainder if a < 0 else remainder
    return math.fmod(a, b)


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": _divide,
    "%": _modulo,
}
_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
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
    if op in ("==", "!="):
        try:
            same = _equal(left, right)
        except _UnknownInside:
            return Unknown((), source_text(rule), why="compares values that are not known")
        return same if op == "==" else not same
    if op in _ARITHMETIC:
        a, b = _to_number(left), _to_number(right)
        if op == "*" and isinstance(a, int) and isinstance(b, int) \
                and a.bit_length() + b.bit_length() > LIMITS.number_bits + 1:
            raise LimitExceeded(f"numbers with more than {LIMITS.number_bits} bits")
        return _number(_ARITHMETIC[op](a, b))
    if op in _ORDER:
        return _ORDER[op](_to_number(left), _to_number(right))
    if op == "&&":
        return _to_bool(left) and _to_bool(right)
    if op == "||":
        return _to_bool(left) or _to_bool(right)
    return Unknown((), source_text(rule))


# Functions ----------------------------------------------------------------------------------

def _list(value: Any, function: str) -> list[Any]:
    if not isinstance(value, list):
        raise EvalError(f"{function}() needs a list, not {_type_name(value)}")
    return value


def _map(value: Any, function: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EvalError(f"{function}() needs a map, not {_type_name(value)}")
    return value


def _flatten(value: Any) -> list[Any]:
    """Nested lists as one list, without recursion, and no longer than the element limit."""
    limit = LIMITS.elements
    out: list[Any] = []
    stack: list[Iterator[Any]] = [iter(_list(value, "flatten"))]
    while stack:
        item = next(stack[-1], _END)
        if item is _END:
            stack.pop()
        elif isinstance(item, list):
            if len(stack) > LIMITS.nesting:
                raise LimitExceeded(f"values nested more than {LIMITS.nesting} levels deep")
            stack.append(iter(item))
        else:
            out.append(item)
            if len(out) > limit:
                raise LimitExceeded(f"more than {limit:,} elements")
    return out


_END = object()


def _concat(*lists: Any) -> list[Any]:
    total = sum(len(_list(item, "concat")) for item in lists)
    if total > LIMITS.elements:
        raise LimitExceeded(f"more than {LIMITS.elements:,} elements")
    return [x for item in lists for x in item]


def _merge(*maps: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in maps:
        if item is not None:
            out.update(_map(item, "merge"))
    return out


def _lookup(mapping: Any, key: Any, *default: Any) -> Any:
    if len(default) > 1:
        raise EvalError("lookup() takes at most three arguments")
    found = _map(mapping, "lookup")
    text = _to_string(key)
    if text in found:
        return found[text]
    if default:
        return default[0]
    raise EvalError(f"lookup() found no key {text[:40]!r}")


def _element(items: Any, index: Any) -> Any:
    found = _list(items, "element")
    position = _whole(index)
    if not found:
        raise EvalError("element() of an empty list")
    if position < 0:
        raise EvalError("element() with a negative index")
    return found[position % len(found)]


def _join(separator: Any, *lists: Any) -> str:
    if not lists:
        raise EvalError("join() needs at least one list")
    sep = _to_string(separator)
    items = [_render(x) for item in lists for x in _list(item, "join")]
    size = sum(len(i) for i in items) + len(sep) * max(len(items) - 1, 0)
    if size > LIMITS.string_length:
        raise LimitExceeded(f"strings longer than {LIMITS.string_length:,} characters")
    return sep.join(items)


def _coalesce(*values: Any) -> Any:
    for value in values:
        if value is not None and value != "":
            return value
    raise EvalError("coalesce() found no non-null, non-empty argument")


def _extreme(pick: Callable[..., Any]) -> Callable[..., Any]:
    def function(*values: Any) -> Any:
        if not values:
            raise EvalError("needs at least one number")
        return pick(_to_number(v) for v in values)

    return function


def _tolist(value: Any) -> list[Any]:
    return list(_list(value, "tolist"))


def _toset(value: Any) -> list[Any]:
    """A set, as Terraform orders one: strings and numbers sorted, duplicates gone."""
    items = _list(value, "toset")
    if all(isinstance(i, (str, int, float)) and not isinstance(i, bool) for i in items):
        if all(isinstance(i, str) for i in items):
            return sorted(set(items))
        if all(not isinstance(i, str) for i in items):
            return sorted(set(items))
        return sorted({_to_string(i) for i in items})
    out: list[Any] = []
    for item in items:
        if not any(_equal(item, seen) for seen in out):
            out.append(item)
    return out


def _tostring(value: Any) -> str | None:
    return None if value is None else _to_string(value)


def _tonumber(value: Any) -> int | float | None:
    return None if value is None else _to_number(value)


def _length(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise EvalError(f"length() of {_type_name(value)}")


def _text_function(method: Callable[[str], str]) -> Callable[[Any], str]:
    return lambda value: method(_to_string(value))


def _range(*args: Any) -> list[int | float]:
    """Terraform's range(), which itself refuses to make more than 1024 numbers."""
    numbers = [_to_number(a) for a in args]
    start: int | float
    limit: int | float
    step: int | float
    if len(numbers) == 1:
        start, limit, step = 0, numbers[0], 1 if numbers[0] >= 0 else -1
    elif len(numbers) == 2:
        start, limit = numbers
        step = 1 if limit >= start else -1
    elif len(numbers) == 3:
        start, limit, step = numbers
    else:
        raise EvalError("range() takes one to three arguments")
    if step == 0:
        raise EvalError("range() with a step of zero")
    if (limit - start) * step < 0:
        raise EvalError("range() step goes the wrong way")
    count = math.ceil((limit - start) / step)
    if count > 1024:
        raise EvalError("range() would make more than 1024 numbers")
    return [_number(start + i * step) for i in range(count)]


def _cidrsubnet(prefix: Any, newbits: Any, netnum: Any) -> str:
    """Computed, never listed: ``cidrsubnet("10.0.0.0/8", 24, 1)`` is one addition."""
    text = _to_string(prefix)
    if not re.fullmatch(r"[0-9A-Fa-f:.]+/\d{1,3}", text):
        raise EvalError(f"invalid CIDR address {text[:60]!r}")
    try:
        network = ipaddress.ip_network(text, strict=False)
    except ValueError as exc:
        raise EvalError(f"invalid CIDR address {text[:60]!r}") from exc
    bits, number = _whole(newbits), _whole(netnum)
    if bits < 0:
        raise EvalError("cidrsubnet() with negative newbits")
    length = network.prefixlen + bits
    if length > network.max_prefixlen:
        raise EvalError(f"insufficient address space to extend prefix of {network.prefixlen} by {bits}")
    if number < 0 or number >= 1 << bits:
        raise EvalError(f"prefix extension of {bits} does not accommodate a subnet numbered {number}")
    address = int(network.network_address) + (number << (network.max_prefixlen - length))
    return f"{ipaddress.ip_address(address) if network.version == 4 else ipaddress.IPv6Address(address)}/{length}"


def _jsondecode(text: Any) -> Any:
    def constant(name: str) -> Any:
        raise EvalError(f"{name} is not JSON")

    def whole(digits: str) -> int:
        return _int_literal(digits)

    try:
        value = json.loads(_to_string(text), parse_constant=constant, parse_int=whole)
    except RecursionError as exc:
        raise LimitExceeded(f"values nested more than {LIMITS.nesting} levels deep") from exc
    except ValueError as exc:
        raise EvalError(f"invalid JSON: {str(exc).splitlines()[0][:80]}") from exc
    # The decoded value may be deep or large: count it without recursion.
    stack: list[tuple[Any, int]] = [(value, 1)]
    nodes = 0
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if depth > LIMITS.nesting:
            raise LimitExceeded(f"values nested more than {LIMITS.nesting} levels deep")
        if nodes > LIMITS.elements:
            raise LimitExceeded(f"more than {LIMITS.elements:,} elements")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, float):
            _number(item)
    return _number(value) if isinstance(value, float) else value


# format() -----------------------------------------------------------------------------------

_VERB = re.compile(r"%([-+# 0]*)(\d*)(?:\.(\d*))?(?:\[(\d+)\])?(.)", re.S)


def _format(spec: Any, *args: Any) -> str:
    """Terraform's format(): Go's verbs %v %#v %t %s %q %d %b %o %x %X %e %E %f %g %G %%, with
    flags, width, precision and ``%[n]`` argument indexes. Anything else is an error there too."""
    text = _to_string(spec)
    limit = LIMITS.string_length
    out: list[str] = []
    size = 0
    position = 0
    next_arg = 0
    used: set[int] = set()
    while True:
        percent = text.find("%", position)
        chunk = text[position:] if percent < 0 else text[position:percent]
        out.append(chunk)
        size += len(chunk)
        if percent < 0:
            break
        match = _VERB.match(text, percent)
        if match is None:
            raise EvalError("format() string ends with an incomplete verb")
        flags, width_text, precision_text, index_text, verb = match.groups()
        position = match.end()
        if verb == "%" and not (flags or width_text or precision_text is not None or index_text):
            out.append("%")
            size += 1
            continue
        for number in (width_text, precision_text or "", index_text or ""):
            if len(number) > len(str(limit)) or (number and int(number) > limit):
                raise LimitExceeded(f"strings longer than {limit:,} characters")
        if index_text:
            next_arg = int(index_text) - 1
        if not 0 <= next_arg < len(args):
            raise EvalError("format() has more verbs than arguments")
        used.add(next_arg)
        piece = _format_one(verb, flags, int(width_text) if width_text else 0,
                            int(precision_text) if precision_text else (0 if precision_text == "" else None),
                            args[next_arg])
        next_arg += 1
        out.append(piece)
        size += len(piece)
        if size > limit:
            raise LimitExceeded(f"strings longer than {limit:,} characters")
    if len(used) < len(args) and not any(m.group(4) for m in _VERB.finditer(text)):
        raise EvalError("format() has more arguments than verbs")
    return "".join(out)


def _pad(text: str, flags: str, width: int, zero_ok: bool = False) -> str:
    if len(text) >= width:
        return text
    if "-" in flags:
        return text + " " * (width - len(text))
    if "0" in flags and zero_ok:
        sign = text[0] if text[:1] in "+- " else ""
        return sign + "0" * (width - len(text)) + text[len(sign):]
    return " " * (width - len(text)) + text


def _json_text(value: Any) -> str:
    def refuse(item: Any) -> Any:
        raise EvalError(f"{_type_name(item)} cannot be encoded")

    return json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False, default=refuse)


def _format_one(verb: str, flags: str, width: int, precision: int | None, arg: Any) -> str:
    if isinstance(arg, Unknown):
        raise EvalError("a value that is not known")
    if verb == "v":
        if "#" in flags:
            return _pad(_json_text(arg), flags, width)
        text = _json_text(arg) if isinstance(arg, (list, dict)) else "null" if arg is None else _to_string(arg)
        return _pad(text, flags, width)
    if verb == "s":
        if arg is None:
            raise EvalError("format() of null with %s")
        text = _to_string(arg)
        return _pad(text[:precision] if precision is not None else text, flags, width)
    if verb == "q":
        if arg is None:
            raise EvalError("format() of null with %q")
        return _pad(json.dumps(_to_string(arg), ensure_ascii=False), flags, width)
    if verb == "t":
        return _pad("true" if _to_bool(arg) else "false", flags, width)
    if verb in "bdoxX":
        number = _whole(arg)
        digits = {"b": format(abs(number), "b"), "d": str(abs(number)), "o": format(abs(number), "o"),
                  "x": format(abs(number), "x"), "X": format(abs(number), "X")}[verb]
        if precision is not None and len(digits) < precision:
            digits = "0" * (precision - len(digits)) + digits
        if "#" in flags:
            digits = {"b": "0b", "o": "0", "x": "0x", "X": "0X"}.get(verb, "") + digits
        sign = "-" if number < 0 else "+" if "+" in flags else " " if " " in flags else ""
        return _pad(sign + digits, flags, width, zero_ok=precision is None)
    if verb in "eEfgG":
        real = float(_to_number(arg))
        if verb in "gG" and precision is None:
            text = _shortest_g(real, upper=verb == "G")
        else:
            python_flags = "".join(f for f in "+ #" if f in flags)
            text = f"%{python_flags}.{6 if precision is None else precision}{verb}" % real
        if "+" in flags and not text.startswith(("-", "+")):
            text = "+" + text
        elif " " in flags and not text.startswith(("-", " ")):
            text = " " + text
        return _pad(text, flags, width, zero_ok=True)
    raise EvalError(f"format() has no verb %{verb}")


def _shortest_g(number: float, upper: bool) -> str:
    """Go's %g without a precision: the shortest digits, in exponent form from 1e+06 and below 1e-04."""
    if number == 0:
        return "0"
    from decimal import Decimal

    sign, digit_tuple, exponent = Decimal(repr(abs(number))).normalize().as_tuple()
    digits = "".join(str(d) for d in digit_tuple)
    assert isinstance(exponent, int)
    leading = len(digits) - 1 + exponent  # the power of ten of the first digit
    if leading < -4 or leading >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        text = f"{mantissa}e{'-' if leading < 0 else '+'}{abs(leading):02d}"
    else:
        text = _render_number(abs(number))
    del sign
    text = ("-" + text) if number < 0 else text
    return text.upper() if upper else text


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": _concat,
    "merge": _merge,
    "lookup": _lookup,
    "element": _element,
    "format": _format,
    "tolist": _tolist,
    "toset": _toset,
    "tostring": _tostring,
    "tonumber": _tonumber,
    "flatten": _flatten,
    "length": _length,
    "cidrsubnet": _cidrsubnet,
    "lower": _text_function(str.lower),
    "upper": _text_function(str.upper),
    "join": _join,
    "coalesce": _coalesce,
    "max": _extreme(max),
    "min": _extreme(min),
    "range": _range,
    # Containers are read as values: the JSON text itself is not needed. Likewise encoded text
    # is read as the text (user data is base64encode(templatefile(...))).
    "jsonencode": lambda value: value,
    "base64encode": lambda text: text,
    "base64gzip": lambda text: text,
    "jsondecode": _jsondecode,
}


def _read_file(name: str, args: list[Any], scope: Scope, rule: Syntax) -> Any:
    """file(path) and templatefile(path, vars) over the files of the scanned tree."""
    path = args[0] if args else None
    if isinstance(path, Unknown):
        return path
    if name == "templatefile" and scope.in_template:
        raise EvalError("templatefile() cannot be called from a template")
    text = scope.read(posixpath.normpath(path)) if isinstance(path, str) and scope.read else None
    if text is None:
        return Unknown((f"{name}()",), source_text(rule), why="reads a file that is not in the scanned tree")
    if name != "templatefile":
        return FileText(text, posixpath.normpath(str(path)), exact=True)
    names = args[1] if len(args) > 1 and isinstance(args[1], dict) else {}
    template = parse_template(text)
    if template is None:
        return Unknown((f"{name}()",), source_text(rule), why="is a template we cannot read")
    inner = Scope({}, {}, scope.resolve, names, scope.read, guard=scope.guard, origin=scope.where(rule), exact=False,
                  in_template=True)
    rendered = evaluate(template, inner)
    if not isinstance(rendered, str):
        return rendered
    # Interpolations keep the template's lines unless a directive (%{ for }) repeats some.
    return FileText(rendered, posixpath.normpath(str(path)), exact="%{" not in text)


def _call(rule: Any, scope: Scope) -> Any:
    kids = _children(rule)
    name = _token_text(kids[0])
    args_rule = next((k for k in kids if _name(k) == "ArgumentsRule"), None)
    args = [evaluate(a, scope) for a in _children(args_rule) if not _name(a).endswith("_TOKEN")] if args_rule else []
    if any(_name(a) == "ELLIPSIS_TOKEN" for a in _children(args_rule)) and args:
        # f(list...): the last argument's elements are the arguments.
        if isinstance(args[-1], Unknown):
            return args[-1]
        args = [*args[:-1], *_list(args[-1], name)]
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
        if isinstance(arg, list) and name not in ("concat", "flatten"):
            unknown = next((x for x in arg if isinstance(x, Unknown)), None)
            if unknown is not None:
                return unknown
    fn = _FUNCTIONS.get(name)
    if fn is None:
        return Unknown((f"{name}()",), source_text(rule))
    try:
        return fn(*args)
    except TypeError as exc:  # the wrong number of arguments
        raise EvalError(f"{name}() called with {len(args)} arguments") from exc
