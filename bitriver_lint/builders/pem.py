"""Committed private keys into the graph's settings, where the secret check reads them."""

from __future__ import annotations

from bitriver_lint.builders.common import BuildContext
from bitriver_lint.loaders.pem import KeyFile

PRIVATE_KEY = "PRIVATE_KEY"
PEM_MARKER = "-----BEGIN PRIVATE KEY-----"  # the value stands for the key; its text is never kept


def nodes(docs: list[KeyFile], ctx: BuildContext) -> None:
    for doc in docs:
        committed = not ctx.workspace.is_ignored(doc.path)
        for where in doc.keys:
            ctx.graph.add_setting(PRIVATE_KEY, PEM_MARKER, where, committed)


def edges(docs: list[KeyFile], ctx: BuildContext) -> None:
    del docs, ctx
