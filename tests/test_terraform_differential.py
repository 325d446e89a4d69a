"""Our Terraform evaluator against the real one: ``terraform console`` is the oracle.

Each expression is evaluated by both. Where Terraform answers, we answer the same, or (for the
few cases marked so) say the value is unknown; where Terraform fails, our value is an Unknown,
never a different value. All expressions go to one console session as a single
``jsonencode([...])`` of per-expression ``try(jsonencode(expr), sentinel)``, so the test stays fast.
"""

from __future__ import annotations

import base64
import gzip
import json
import math
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bitriver_lint.loaders.terraform_eval import Guard, Scope, evaluate_value, to_syntax
from bitriver_lint.model import Unknown

# (expression, how to compare). "same": we must compute Terraform's value (or Terraform fails
# and we say Unknown). "may-unknown": we may also say Unknown (a safety limit). "json",
# "base64", "gzip": our encoders keep the value itself (the rules read the value, not the
# encoding), so Terraform's output is decoded before comparing.
CASES: list[tuple[str, str]] = [
    # arithmetic and its failures
    ("1 + 2", "same"),
    ("7 - 10", "same"),
    ("6 * 7", "same"),
    ("7 / 2", "same"),
    ("8 / 4", "same"),
    ("7 % 3", "same"),
    ("-7 % 3", "same"),
    ("7 % -3", "same"),
    ("7.5 % 2", "same"),
    ("2 + 3 * 4", "same"),
    ("(2 + 3) * 4", "same"),
    ("10 / 4 * 2", "same"),
    ('"2" * 3', "same"),
    ('"10" + "5"', "same"),
    ("-5", "same"),
    ("1.5 + 1.5", "same"),
    ("1e3", "same"),
    ("1 / 0", "same"),
    ("5 % 0", "may-unknown"),  # Terraform answers 5; we decline to guess
    ('-"abc"', "same"),
    ('"a" * 3', "same"),
    ('"a" * 1e20', "same"),
    ('"a" + "b"', "same"),
    ("true + 1", "same"),
    ("null + 1", "same"),
    ("[1] + 1", "same"),
    # comparisons and logic
    ("1 == 1", "same"),
    ('1 == "1"', "same"),
    ("true == 1", "same"),
    ("[1, 2] == [1, 2]", "same"),
    ("{ a = 1 } == { a = 1 }", "same"),
    ('"a" != "b"', "same"),
    ("null == null", "same"),
    ("3 > 2", "same"),
    ("2 >= 3", "same"),
    ('"10" > 9', "same"),
    ('"b" > "a"', "same"),
    ("1 < 2 && 2 < 3", "same"),
    ("false || true", "same"),
    ('true && "true"', "same"),
    ("!true", "same"),
    ("1 && true", "same"),
    ('!"x"', "same"),
    # conditionals
    ('true ? "a" : "b"', "same"),
    ("1 > 2 ? 10 : 20", "same"),
    ('"true" ? 1 : 2', "same"),
    ("1 ? 2 : 3", "same"),
    # for expressions
    ("[for x in [1, 2, 3] : x * 2]", "same"),
    ('[for i, x in ["a", "b"] : "${i}-${x}"]', "same"),
    ("[for k, v in { b = 1, a = 2 } : k]", "same"),
    ("{ for k, v in { a = 1, b = 2 } : v => k }", "same"),
    ("[for x in [1, 2, 3, 4] : x if x % 2 == 0]", "same"),
    ('{ for x in ["a", "b", "a"] : x => x... }', "same"),
    ('{ for x in ["a", "a"] : x => 1 }', "same"),
    ('[for x in "abc" : x]', "same"),
    ("[for x in [1, 2] : x if 1]", "same"),
    # splats and indexes
    ("[{ a = 1 }, { a = 2 }][*].a", "same"),
    ("[{ a = { b = 1 } }][*].a.b", "same"),
    ("[10, 20, 30][1]", "same"),
    ('{ a = 1 }["a"]', "same"),
    ("{ a = 1 }.a", "same"),
    ('[1, 2]["1"]', "same"),
    ("[1, 2][5]", "same"),
    ("[1, 2][-1]", "same"),
    ("{ a = 1 }.b", "same"),
    # string templates
    ('"a-${1 + 1}-b"', "same"),
    ('"${true}"', "same"),
    ('"${1.5}"', "same"),
    ('"${4 / 2}"', "same"),
    ('"x${"y"}z"', "same"),
    ('"$${literal}"', "same"),
    ('"tab\\there"', "same"),
    ('"\\u00e9t\\u00e9"', "same"),
    ('"${[1]}"', "same"),
    ('"${null}"', "same"),
    # functions
    ("concat([1], [2, 3])", "same"),
    ('concat([], ["a"])', "same"),
    ('concat("ab")', "same"),
    ("merge({ a = 1 }, { b = 2 }, { a = 3 })", "same"),
    ('merge({ a = 1 }, "x")', "same"),
    ('lookup({ a = 1 }, "a")', "same"),
    ('lookup({ a = 1 }, "b", 5)', "same"),
    ('lookup({ a = 1 }, "b")', "same"),
    ("element([1, 2, 3], 4)", "same"),
    ("element([], 0)", "same"),
    ('format("%s-%d", "a", 5)', "same"),
    ('format("%03d", 7)', "same"),
    ('format("%-5s|", "ab")', "same"),
    ('format("%5s|", "ab")', "same"),
    ('format("%5.2f", 3.14159)', "same"),
    ('format("%.1f", 2.25)', "same"),
    ('format("%x", 255)', "same"),
    ('format("%X", 255)', "same"),
    ('format("%o", 8)', "same"),
    ('format("%b", 5)', "same"),
    ('format("%q", "hi")', "same"),
    ('format("%v", [1, "a"])', "same"),
    ('format("%v", "s")', "same"),
    ('format("%v", 2.5)', "same"),
    ('format("%t", true)', "same"),
    ('format("100%%")', "same"),
    ('format("%[2]s-%[1]s", "a", "b")', "same"),
    ('format("%e", 1234.5)', "same"),
    ('format("%g", 0.5)', "same"),
    ('format("%g", 1000000)', "same"),
    ('format("%g", 123456)', "same"),
    ('format("%+d", 5)', "same"),
    ('format("%.3s", "abcdef")', "same"),
    ('format("%d", "12")', "same"),
    ('format("%d", 1.5)', "same"),
    ('format("%s")', "same"),
    ('format("%c", 65)', "same"),
    ('format("%c", 99999999)', "same"),
    ('format("%s", "a", "b")', "same"),
    ('format("%d", "x")', "same"),
    ("tolist([1, 2])", "same"),
    ("tolist({ a = 1 })", "same"),
    ('toset(["b", "a", "b"])', "same"),
    ("toset([3, 1, 2, 1])", "same"),
    ("tostring(1.5)", "same"),
    ("tostring(true)", "same"),
    ('tostring("x")', "same"),
    ("tostring([1])", "same"),
    ('tonumber("42")', "same"),
    ('tonumber("1.5")', "same"),
    ('tonumber("abc")', "same"),
    ("tonumber(true)", "same"),
    ("flatten([[1, [2]], 3])", "same"),
    ("flatten([])", "same"),
    ("length([1, 2])", "same"),
    ('length("hello")', "same"),
    ("length({ a = 1 })", "same"),
    ("length(5)", "same"),
    ('cidrsubnet("10.0.0.0/16", 8, 1)', "same"),
    ('cidrsubnet("10.0.0.0/8", 24, 1)', "same"),
    ('cidrsubnet("10.0.0.0/8", 24, 16777215)', "same"),
    ('cidrsubnet("10.0.0.0/8", 16, 70000)', "same"),
    ('cidrsubnet("10.0.0.0/30", 4, 0)', "same"),
    ('cidrsubnet("10.1.2.3/16", 4, 2)', "same"),
    ('cidrsubnet("fd00::/56", 8, 255)', "same"),
    ('cidrsubnet("fd00::/8", 64, 123456789)', "same"),
    ('cidrsubnet("not a cidr", 1, 1)', "same"),
    ('cidrsubnet("10.0.0.0/8", -1, 0)', "may-unknown"),  # Terraform widens the prefix to /7
    ('lower("AbC")', "same"),
    ('upper("abc")', "same"),
    ("upper(1)", "same"),
    ('join(",", ["a", "b"])', "same"),
    ('join("-", [1, true])', "same"),
    ('join(",", [])', "same"),
    ('join(",", "a")', "same"),
    ('coalesce("", "b")', "same"),
    ("coalesce(null, 2)", "same"),
    ('coalesce("", null)', "same"),
    ("max(1, 5, 3)", "same"),
    ('min(4, "2")', "same"),
    ("max([1, 7, 2]...)", "same"),
    ('max("a", 1)', "same"),
    ("range(3)", "same"),
    ("range(1, 4)", "same"),
    ("range(0, 1, 0.25)", "same"),
    ("range(5, 0, -2)", "same"),
    ("range(-3)", "same"),
    ("range(2000)", "same"),
    ("range(0, 1, 0)", "same"),
    ("jsonencode({ a = [1, true, null], b = \"x\" })", "json"),
    ('jsonencode("plain")', "json"),
    ('base64encode("hello")', "base64"),
    ('base64gzip("hello")', "gzip"),
    ('jsondecode("{\\"a\\": [1, 2.5, null, true]}")', "same"),
    ('jsondecode("[")', "same"),
    ('jsondecode("NaN")', "same"),
    ('try(1 / "x", 5)', "same"),
    ('try({ a = 1 }.b, "d")', "same"),
    ("try(1, 2)", "same"),
    # files of the tree (the console runs in a directory holding greeting.txt)
    ('file("greeting.txt")', "same"),
    ('templatefile("greeting.txt", { name = "world", n = 2 })', "same"),
    ('filebase64("greeting.txt")', "base64"),
    ('file("missing.txt")', "same"),
    # hostile inputs: Terraform computes some of them; we may call them unknown (a safety limit)
    ('cidrsubnet("10.0.0.0/8", 24, 99999999)', "same"),
    ("4" * 4301, "may-unknown"),
    ("1e400", "may-unknown"),
    ("jsondecode(\"" + "[" * 200 + "]" * 200 + "\")", "may-unknown"),
]

# Expressions Terraform itself would take too long or too much memory for: only ours runs,
# and must say Unknown.
OURS_ONLY = [
    'format("%01000000000d", 1)',
    'format("%.1000000000f", 1)',
    'join("", [for i in range(1000) : format("%01001d", i)])',
    "[for i in range(1000) : [for j in range(1000) : [for k in range(1000) : k]]]",
    'jsondecode("' + "[" * 100_000 + "]" * 100_000 + '")',
]

_SENTINEL = "!terraform-error!"


def _terraform() -> str:
    found = shutil.which("terraform")
    if found is None:
        pytest.skip("terraform is not on PATH: the differential test needs `terraform console` as its oracle")
    return found


def _console(binary: str, expression: str, workdir: Path) -> tuple[int, str]:
    env = {k: v for k, v in os.environ.items() if k != "TF_CLI_CONFIG_FILE"}
    env["CHECKPOINT_DISABLE"] = "1"
    done = subprocess.run([binary, "console"], input=expression + "\n", capture_output=True, text=True,
                          cwd=workdir, env=env, timeout=60, check=False)
    return done.returncode, done.stdout.strip()


def _hcl_string(text: str) -> str:
    """The console prints a string as an HCL quoted string: JSON plus ``$${``/``%%{`` escapes."""
    return str(json.loads(text.replace("$${", "${").replace("%%{", "%{")))


def _wrapped(expression: str) -> str:
    return f'try(jsonencode({expression}), "{_SENTINEL}")'


def _terraform_values(expressions: list[str], workdir: Path) -> list[Any]:
    """Terraform's value of each expression (decoded from JSON), or the sentinel where it fails."""
    binary = _terraform()
    code, out = _console(binary, "jsonencode([" + ", ".join(_wrapped(e) for e in expressions) + "])", workdir)
    if code == 0 and out:
        texts = json.loads(_hcl_string(out))
        return [t if t == _SENTINEL else _json(t) for t in texts]
    # One expression broke the whole batch (an error try() cannot catch): ask one at a time.
    values: list[Any] = []
    for expression in expressions:
        code, out = _console(binary, _wrapped(expression), workdir)
        text = _hcl_string(out) if code == 0 and out else _SENTINEL
        values.append(text if text == _SENTINEL else _json(text))
    return values


def _json(text: str) -> Any:
    # Terraform's numbers may have more digits than Python converts to an int by default.
    return json.loads(text, parse_int=lambda digits: int(digits) if len(digits) < 4000 else float("inf"))


GREETING = "hello ${name}, ${n + 1} times\n"


def _ours(expressions: list[str], workdir: Path | None = None) -> list[Any]:
    import hcl2

    source = "".join(f"e{i} = {e}\n" for i, e in enumerate(expressions))
    tree = to_syntax(hcl2.parses(source))
    body = next(c for c in tree[3] if c[0] == "BodyRule")
    attributes = [a for a in body[3] if a[0] == "AttributeRule"]
    assert len(attributes) == len(expressions)
    guard = Guard()

    def resolve(path: list[str]) -> Any:
        return Unknown((".".join(path),), ".".join(path))

    def read(rel: str) -> str | None:
        path = (workdir / rel) if workdir is not None else None
        return path.read_text() if path is not None and path.is_file() else None

    return [evaluate_value(a[3][-1], Scope({}, {}, resolve, read=read, guard=guard)) for a in attributes]


def _same(theirs: Any, ours: Any) -> bool:
    if isinstance(theirs, bool) or isinstance(ours, bool):
        return theirs is ours
    if isinstance(theirs, (int, float)) and isinstance(ours, (int, float)):
        return math.isclose(theirs, ours, rel_tol=1e-12, abs_tol=1e-12)
    if isinstance(theirs, list) and isinstance(ours, list):
        return len(theirs) == len(ours) and all(_same(a, b) for a, b in zip(theirs, ours, strict=True))
    if isinstance(theirs, dict) and isinstance(ours, dict):
        return theirs.keys() == ours.keys() and all(_same(theirs[k], ours[k]) for k in theirs)
    if isinstance(theirs, str) and isinstance(ours, str):  # ours may be a FileText, which is a str
        return str(theirs) == str(ours)
    return type(theirs) is type(ours) and bool(theirs == ours)


def _decoded(value: Any, mode: str) -> Any:
    if value == _SENTINEL or mode not in ("json", "base64", "gzip"):
        return value
    if mode == "json":
        return json.loads(value)
    raw = base64.b64decode(value)
    return (gzip.decompress(raw) if mode == "gzip" else raw).decode()


def test_evaluator_agrees_with_terraform_console(tmp_path: Path) -> None:
    (tmp_path / "greeting.txt").write_text(GREETING)
    expressions = [e for e, _ in CASES]
    theirs = _terraform_values(expressions, tmp_path)
    ours = _ours(expressions, tmp_path)
    problems = []
    for (expression, mode), their, our in zip(CASES, theirs, ours, strict=True):
        their = _decoded(their, mode)
        shown = expression if len(expression) < 60 else expression[:57] + "..."
        if their == _SENTINEL:
            if not isinstance(our, Unknown):
                problems.append(f"{shown}: Terraform fails, we say {our!r}")
        elif isinstance(our, Unknown):
            if mode != "may-unknown":
                problems.append(f"{shown}: Terraform says {their!r}, we say unknown ({our.why})")
        elif not _same(their, our):
            problems.append(f"{shown}: Terraform says {their!r}, we say {our!r}")
    assert problems == []


def test_expressions_over_the_safety_limits_are_unknown() -> None:
    for expression, value in zip(OURS_ONLY, _ours(OURS_ONLY), strict=True):
        assert isinstance(value, Unknown), expression[:60]
