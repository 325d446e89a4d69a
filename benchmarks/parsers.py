"""HCL parsers side by side on the same files: CPU time, best of three (see TERRAFORM_PARSING.md).

    /work/venvs/hclbench/bin/python benchmarks/parsers.py

Run it with a Python that has the candidates installed (python-hcl2, lark-cython, pygohcl,
tree-sitter, tree-sitter-hcl); a missing one is reported and skipped. The files come from
``trees.py``: a site root, the ``edge`` module and the first 600 KB of the large file.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from trees import BIG_PAIR, EDGE, ROOT


def _files() -> dict[str, str]:
    big = ""
    n = 0
    while len(big) < 600_000:
        big += BIG_PAIR.format(n=n, a=n // 256 % 256, b=n % 256)
        n += 1
    return {"site root": ROOT.format(n=1), "edge module": EDGE, "600 KB file": big}


def _cpu(fn: Callable[[str], Any], text: str) -> float:
    collecting = gc.isenabled()
    gc.disable()  # as loaders/terraform.py parses
    start = time.process_time()
    try:
        fn(text)
    finally:
        if collecting:
            gc.enable()
    return time.process_time() - start


def bench(name: str, fn: Callable[[str], Any]) -> None:
    for label, text in _files().items():
        try:
            best = min(_cpu(fn, text) for _ in range(3))
        except Exception as exc:  # a candidate that cannot read the file is a result too
            print(f"{name:44s} {label:12s} fails: {type(exc).__name__}: {str(exc).splitlines()[0][:100]}")
            return
        print(f"{name:44s} {label:12s} {len(text):8d} B {best * 1000:9.1f} ms CPU")


def main() -> int:
    import hcl2
    import hcl2.parser
    from hcl2.api import parses_to_tree
    from hcl2.postlexer import PostLexer
    from lark import Lark

    bench("python-hcl2 parses()", hcl2.parses)
    bench("python-hcl2, Lark tree only", parses_to_tree)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    try:
        from bitriver_lint.loaders.terraform_eval import syntax_of, to_syntax
    except ImportError:
        print("bitriver_lint: not importable here")
    else:
        bench("to_syntax(parses()) (before)", lambda t: to_syntax(hcl2.parses(t)))
        bench("syntax_of(): Lark tree to Syntax (today)", syntax_of)
    try:
        import lark_cython
    except ImportError:
        print("lark-cython: not installed")
    else:
        with_postlexer = Lark.open("hcl2.lark", parser="lalr", rel_to=hcl2.parser.__file__,
                                   propagate_positions=True, postlex=PostLexer(), _plugins=lark_cython.plugins)
        bench("lark-cython, python-hcl2's grammar", lambda t: with_postlexer.parse(t + "\n"))
        plain = Lark.open("hcl2.lark", parser="lalr", rel_to=hcl2.parser.__file__, propagate_positions=True,
                          _plugins=lark_cython.plugins)
        bench("lark-cython, no postlexer", lambda t: plain.parse(t + "\n"))
    try:
        import pygohcl
    except ImportError:
        print("pygohcl: not installed")
    else:
        bench("pygohcl (no positions)", pygohcl.loads)
    try:
        import tree_sitter
        import tree_sitter_hcl
    except ImportError:
        print("tree-sitter-hcl: not installed")
    else:
        parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_hcl.language()))

        def walk(text: str) -> int:
            count, stack = 0, [parser.parse(text.encode()).root_node]
            while stack:  # every node visited once: the least a transformer does
                node = stack.pop()
                count += 1
                stack.extend(node.children)
            return count

        bench("tree-sitter-hcl, parse + walk", walk)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
