"""nftables: ``nftables.conf`` and ``*.nft`` files in ``nft -f`` syntax.

Tables (``ip``, ``ip6``, ``inet``) hold chains; a base chain (``type filter hook input
priority 0; policy drop;``) is where packets enter. Its rules are read for what decides a new
inbound connection: ``tcp dport``/``udp dport``/``th dport`` (numbers, ranges, anonymous sets,
``$defines``, named ``@sets``), ``ip saddr``/``ip6 saddr`` (and ``!=``), ``iif lo``,
``ct state``, and the verdicts ``accept``, ``drop``, ``reject``, ``return``, ``jump``,
``goto``. Statements written as commands (``add rule inet filter input tcp dport 22 accept``)
are read too, and ``include "FILE"`` is followed through the workspace gate.

Which hooks matter for Docker is in ``loaders.hostfw``: every base chain on a hook sees the
packet (an accept in one does not spare it the others; a drop anywhere is final), so an nft
``forward`` chain does guard published ports, and ``input`` does not. A ``prerouting`` chain is
taken to see the port the client asked for (exact below ``dstnat``, priority -100).
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
from dataclasses import dataclass, field

from bitriver_lint.config import Config
from bitriver_lint.loaders.hostfw import (
    LOOPBACK_SOURCES,
    MAX_RULES,
    Chain,
    Firewall,
    Hook,
    Rule,
    cidr,
    port_range,
)
from bitriver_lint.model import Diagnostic, Location, Unknown
from bitriver_lint.netsets import CidrSet
from bitriver_lint.workspace import FileProblem, Workspace

MAX_INCLUDES = 32
MAX_TOKENS = 200_000
_PRIORITIES = {"raw": -300, "mangle": -150, "dstnat": -100, "filter": 0, "security": 50, "srcnat": 100}
_SERVICES = {"ssh": 22, "http": 80, "https": 443, "domain": 53, "smtp": 25, "postgresql": 5432}
_TOKEN = re.compile(r'"(?:[^"\\\n]|\\.)*"|#[^\n]*|\n|[{};]|[^\s{};#"]+')


@dataclass
class Token:
    text: str
    location: Location


@dataclass
class Literal:
    """An anonymous set ``{ 80, 443 }``: its elements as written."""

    elements: list[str]
    location: Location


Word = Token | Literal


@dataclass
class Statement:
    words: list[Word]
    location: Location
    block: list[Statement] | None = None


@dataclass
class _Table:
    family: str
    name: str
    sets: dict[str, list[str]] = field(default_factory=dict)
    chains: dict[str, Chain] = field(default_factory=dict)


def tokenize(text: str, path: str) -> list[Token]:
    tokens: list[Token] = []
    line, start = 1, 0
    for match in _TOKEN.finditer(text):
        piece = match.group(0)
        if piece == "\n":
            tokens.append(Token(";", Location(path, line, match.start() - start + 1)))
            line += 1
            start = match.end()
            continue
        if piece.startswith("#"):
            continue
        if piece == "\\":
            continue
        tokens.append(Token(piece, Location(path, line, match.start() - start + 1)))
        if len(tokens) > MAX_TOKENS:
            break
    return tokens


_NAMED_BLOCKS = {"chain", "set", "map", "flowtable", "counter", "quota", "limit", "secmark", "synproxy"}


def _is_block(words: list[Word]) -> bool:
    """Whether a ``{`` after these words opens a block (``table inet f {``, ``chain input {``,
    ``add chain inet f input {``) rather than an anonymous set (``tcp dport { 80, 443 }``)."""
    if not all(isinstance(w, Token) for w in words):
        return False
    heads = [w.text for w in words if isinstance(w, Token)]
    if heads[:1] in (["add"], ["create"]):
        heads = heads[1:]
        if heads[:1] == ["table"]:
            return len(heads) in (2, 3)
        return bool(heads) and heads[0] in _NAMED_BLOCKS and len(heads) in (3, 4)
    if heads[:1] == ["table"]:
        return len(heads) in (2, 3)
    if heads[:1] == ["ct"]:
        return len(heads) == 3 and heads[1] in ("helper", "timeout", "expectation")
    return len(heads) == 2 and heads[0] in _NAMED_BLOCKS


def parse_statements(tokens: list[Token], path: str, diagnostics: list[Diagnostic]) -> list[Statement]:
    """Statements and their blocks; ``{`` opens a block after ``table``/``chain``/``set``
    headers and an anonymous set anywhere else."""
    position = 0

    def literal(opening: Token) -> Literal:
        nonlocal position
        elements: list[str] = []
        depth = 1
        current = ""
        while position < len(tokens) and depth:
            token = tokens[position]
            position += 1
            if token.text == "{":
                depth += 1
            elif token.text == "}":
                depth -= 1
            elif token.text == ";":
                continue
            else:
                for part in token.text.split(","):
                    current += part
                    if part != token.text.split(",")[-1] or token.text.endswith(","):
                        if current:
                            elements.append(current)
                        current = ""
                if not token.text.endswith(","):
                    if current:
                        elements.append(current)
                    current = ""
        if depth:
            diagnostics.append(Diagnostic("BRL001", "a '{' that is never closed", opening.location))
        return Literal([e for e in elements if e], opening.location)

    def block(depth: int) -> list[Statement]:
        nonlocal position
        statements: list[Statement] = []
        words: list[Word] = []
        while position < len(tokens):
            token = tokens[position]
            position += 1
            if token.text == ";":
                if words:
                    statements.append(Statement(words, words[0].location))
                words = []
            elif token.text == "}":
                if words:
                    statements.append(Statement(words, words[0].location))
                if depth == 0:
                    diagnostics.append(Diagnostic("BRL001", "a '}' that closes nothing", token.location))
                    words = []
                    continue
                return statements
            elif token.text == "{":
                if words and _is_block(words) and depth < 8:
                    statements.append(Statement(words, words[0].location, block(depth + 1)))
                    words = []
                else:
                    words.append(literal(token))
            else:
                words.append(token)
        if words:
            statements.append(Statement(words, words[0].location))
        if depth:
            diagnostics.append(Diagnostic("BRL001", "a block that is never closed", Location(path, 1, 1)))
        return statements

    return block(0)


class _Reader:
    def __init__(self, path: str, ws: Workspace) -> None:
        self.ws = ws
        self.firewall = Firewall(path, "nftables", Location(path, 1, 1), files=[path])
        self.tables: dict[tuple[str, str], _Table] = {}
        self.defines: dict[str, list[str]] = {}
        self.rules = 0
        self.includes = 0
        self.cut: Location | None = None  # where rules stopped being read

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.firewall.diagnostics

    def read(self, rel: str, text: str) -> None:
        statements = parse_statements(tokenize(text, rel), rel, self.diagnostics)
        self.top(statements, rel)

    def top(self, statements: list[Statement], rel: str) -> None:
        for statement in statements:
            heads = _heads(statement)
            if not heads:
                continue
            if heads[0] == "include" and len(statement.words) > 1:
                self.include(statement, rel)
            elif heads[0] == "define" and len(statement.words) >= 4:
                self.defines[heads[1]] = _values(statement.words[3:], self.defines)
            elif heads[0] == "table" and statement.block is not None:
                family, name = (heads[1], heads[2]) if len(heads) > 2 else ("ip", heads[1] if len(heads) > 1 else "")
                self.table_body(self.table(family, name), statement.block)
            elif heads[0] in ("add", "create", "insert") and len(heads) > 1:
                self.command(statement, heads)
            elif heads[0] in ("flush", "delete", "destroy", "list", "reset"):
                continue  # "flush ruleset" first is usual; what follows is what is loaded
            else:
                self.diagnostics.append(Diagnostic("BRL001", f"not an nft statement: {' '.join(heads)[:60]!r}",
                                                   statement.location))

    def include(self, statement: Statement, rel: str) -> None:
        word = statement.words[1]
        target = word.text.strip('"') if isinstance(word, Token) else ""
        self.includes += 1
        if self.includes > MAX_INCLUDES:
            self.diagnostics.append(Diagnostic("BRL001", f"more than {MAX_INCLUDES} includes", statement.location))
            return
        matches: list[str] = []
        for pattern in _include_candidates(target, posixpath.dirname(rel)):
            matches = sorted(p for p in self._glob(pattern) if p != rel)
            if matches:
                break
        if not matches:
            self.diagnostics.append(Diagnostic(
                "BRL002", f"include {target!r} is not in the tree, so the rules it adds are unknown", word.location))
            return
        for found in matches[:MAX_INCLUDES]:
            try:
                text = self.ws.read_text(found)
            except FileProblem as exc:
                self.diagnostics.append(Diagnostic("BRL001", f"include {target!r}: {exc.message}", word.location))
                continue
            except Exception as exc:  # refused by the gate (a link out of the tree, a FIFO)
                self.diagnostics.append(Diagnostic("BRL001", f"include {target!r}: {exc}", word.location))
                continue
            self.firewall.files.append(found)
            self.read(found, text)

    def _glob(self, pattern: str) -> list[str]:
        if pattern.startswith("..") or not pattern:
            return []
        if not any(ch in pattern for ch in "*?["):
            return [pattern] if self.ws.exists(pattern) else []
        directory = posixpath.dirname(pattern)
        names = self.ws.listdir(directory)
        return [posixpath.join(directory, n) if directory else n for n in names
                if fnmatch.fnmatchcase(n, posixpath.basename(pattern))]

    def table(self, family: str, name: str) -> _Table:
        return self.tables.setdefault((family, name), _Table(family, name))

    def table_body(self, table: _Table, statements: list[Statement]) -> None:
        for statement in statements:
            heads = _heads(statement)
            if heads[:1] == ["chain"] and len(heads) > 1 and statement.block is not None:
                self.chain_body(table, self.chain(table, heads[1], statement.location), statement.block)
            elif heads[:1] in (["set"], ["map"]) and len(heads) > 1 and statement.block is not None:
                table.sets[heads[1]] = self.set_elements(statement.block)

    def set_elements(self, statements: list[Statement]) -> list[str]:
        for statement in statements:
            heads = _heads(statement)
            if heads[:1] == ["elements"]:
                return _values(statement.words[2:], self.defines)
        return []

    def chain(self, table: _Table, name: str, where: Location) -> Chain:
        family = {"ip": "ipv4", "ip6": "ipv6"}.get(table.family, "all")
        if table.family not in ("ip", "ip6", "inet", "netdev"):
            family = "none"  # arp, bridge: not the host's IP traffic
        return table.chains.setdefault(name, Chain(name, None, where, family=family))  # type: ignore[arg-type]

    def chain_body(self, table: _Table, chain: Chain, statements: list[Statement]) -> None:
        for statement in statements:
            heads = _heads(statement)
            if heads[:1] == ["type"]:
                self.base(chain, statement, heads)
            elif heads[:1] == ["policy"] and len(heads) > 1:
                self.policy(chain, heads[1], statement)
            elif heads[:1] in (["comment"], ["devices"], ["device"]):
                continue
            else:
                self.rule(table, chain, statement.words, statement.location)

    def base(self, chain: Chain, statement: Statement, heads: list[str]) -> None:
        """``type filter hook input priority 0`` (``policy`` may share the line after a ``;``)."""
        kind = heads[1] if len(heads) > 1 else ""
        hook = heads[heads.index("hook") + 1] if "hook" in heads[:-1] else ""
        priority = 0
        if "priority" in heads[:-1]:
            expression = heads[heads.index("priority") + 1:]
            priority = _priority(expression)
        if kind != "filter" or chain.family == "none":
            return  # nat and route chains rewrite, they do not filter
        found: Hook | None = {"input": "input", "forward": "forward", "ingress": "prerouting",
                              "prerouting": "prerouting"}.get(hook)  # type: ignore[assignment]
        del priority  # see the module docstring: prerouting is read as before DNAT either way
        chain.hook = found
        chain.location = statement.location
        if "policy" in heads[:-1]:
            self.policy(chain, heads[heads.index("policy") + 1], statement)

    def policy(self, chain: Chain, word: str, statement: Statement) -> None:
        if word.rstrip(";") in ("drop", "accept"):
            chain.policy = word.rstrip(";")  # type: ignore[assignment]
            chain.policy_location = statement.location
            chain.policy_text = f"policy {chain.policy} of chain {chain.name}"

    def command(self, statement: Statement, heads: list[str]) -> None:
        """``add table inet f``, ``add chain inet f input { ... }``, ``add rule inet f input ...``."""
        what = heads[1]
        args = heads[2:]
        families = ("ip", "ip6", "inet", "arp", "bridge", "netdev")
        family = args[0] if args and args[0] in families else "ip"
        rest = args[1:] if args and args[0] in families else args
        if what == "table" and rest:
            table = self.table(family, rest[0])
            if statement.block is not None:
                self.table_body(table, statement.block)
        elif what == "chain" and len(rest) >= 2:
            chain = self.chain(self.table(family, rest[0]), rest[1], statement.location)
            if statement.block is not None:
                self.chain_body(self.table(family, rest[0]), chain, statement.block)
        elif what == "rule" and len(rest) >= 2:
            table = self.table(family, rest[0])
            chain = self.chain(table, rest[1], statement.location)
            skip = 2 + (3 if args and args[0] in families else 2) + (2 if "position" in heads[:8] else 0)
            words = statement.words[skip:]
            self.rule(table, chain, words, words[0].location if words else statement.location,
                      first=heads[0] == "insert")
        elif what == "element" and len(rest) >= 2:
            table = self.table(family, rest[0])
            table.sets.setdefault(rest[1], []).extend(_values(statement.words[5:], self.defines))

    def rule(self, table: _Table, chain: Chain, words: list[Word], where: Location, first: bool = False) -> None:
        if not words:
            return
        self.rules += 1
        if self.rules > MAX_RULES:
            if self.rules == MAX_RULES + 1:
                self.diagnostics.append(Diagnostic("BRL001", f"more than {MAX_RULES} rules: the rest are not read",
                                                   where))
                self.cut = where
            return
        rule = read_rule(words, where, table.sets, self.defines, chain.family)
        if rule.verdict == "skip":
            return
        if first:
            chain.rules.insert(0, rule)
        else:
            chain.rules.append(rule)

    def finish(self) -> Firewall:
        for table in self.tables.values():
            self.firewall.chains.extend(c for c in table.chains.values() if c.family != "none")
        if self.cut is not None:
            self.firewall.truncated(self.cut)
        return self.firewall


def _include_candidates(target: str, base: str) -> list[str]:
    """Where an include may be in the tree: beside the file for a relative path; for an
    absolute one (``/etc/nftables.d/*.nft``), at that path from the scan root, then its last
    directory beside the file (``nftables.d/*.nft``), then its name beside the file."""
    if not target.startswith("/"):
        return [posixpath.normpath(posixpath.join(base, target))]
    parts = [p for p in target.split("/") if p]
    found = ["/".join(parts)]
    if len(parts) >= 2:
        found.append(posixpath.normpath(posixpath.join(base, *parts[-2:])))
    found.append(posixpath.normpath(posixpath.join(base, parts[-1])) if parts else "")
    return [f for f in found if f and f != "."]


def _heads(statement: Statement) -> list[str]:
    return [w.text if isinstance(w, Token) else "{}" for w in statement.words]


def _priority(expression: list[str]) -> int:
    total, sign = 0, 1
    for word in expression:
        if word in ("+", "-"):
            sign = 1 if word == "+" else -1
        elif word in _PRIORITIES:
            total += sign * _PRIORITIES[word]
        elif word.lstrip("-").isascii() and word.lstrip("-").isdigit() and len(word) < 7:
            total += sign * int(word)
    return total


def _values(words: list[Word], defines: dict[str, list[str]]) -> list[str]:
    out: list[str] = []
    for word in words:
        items = word.elements if isinstance(word, Literal) else [p for p in word.text.split(",") if p]
        for item in items:
            item = item.strip().strip('"')
            if item.startswith("$") and item[1:] in defines:
                out.extend(defines[item[1:]])
            elif item:
                out.append(item)
    return out[:10_000]


def read_rule(words: list[Word], where: Location, sets: dict[str, list[str]], defines: dict[str, list[str]],
              family: str) -> Rule:
    text = " ".join(w.text if isinstance(w, Token) else "{ " + ", ".join(w.elements) + " }" for w in words)[:120]
    rule = Rule(where, text, "skip")
    index = 0
    negate = False

    def operand(at: int) -> tuple[list[str] | None, int]:
        """The values at ``at`` (after an optional ``==``/``!=``), and where the next word is."""
        nonlocal negate
        operator = words[at] if at < len(words) else None
        if isinstance(operator, Token) and operator.text in ("==", "!=", "eq", "ne"):
            negate = operator.text in ("!=", "ne")
            at += 1
        if at >= len(words):
            return None, at
        word = words[at]
        if isinstance(word, Token) and word.text.startswith("@"):
            found = sets.get(word.text[1:])
            if found is None:
                rule.unknown = rule.unknown or Unknown((f"set {word.text}",), text,
                                                       why="is a set the files do not define")
                return None, at + 1
            return found, at + 1
        if isinstance(word, Token) and word.text.startswith("$") and word.text[1:] not in defines:
            rule.unknown = rule.unknown or Unknown((word.text,), text, why="is not defined in the files")
            return None, at + 1
        return _values([word], defines), at + 1

    while index < len(words):
        word = words[index]
        name = word.text if isinstance(word, Token) else ""
        after = words[index + 1] if index + 1 < len(words) else None
        following = after.text if isinstance(after, Token) else ""
        negate = False
        if name in ("tcp", "udp", "th") and following in ("dport", "sport"):
            if name != "th":
                rule.protocol = name  # type: ignore[assignment]
            values, index = operand(index + 2)
            if following == "sport":
                rule.inert = True
                continue
            if values is None:
                continue
            ranges = [port_range(v) or (_SERVICES[v], _SERVICES[v]) if v in _SERVICES else port_range(v)
                      for v in values]
            if any(r is None for r in ranges) or negate:
                rule.unknown = rule.unknown or Unknown((f"ports {', '.join(values)[:40]}",), text,
                                                       why="are not ports this reader follows")
            else:
                rule.ports = [r for r in ranges if r is not None]
            continue
        if name in ("ip", "ip6") and following in ("saddr", "daddr", "protocol", "nexthdr"):
            values, index = operand(index + 2)
            if following in ("protocol", "nexthdr") and values is not None and not _protocol(rule, values, negate):
                return Rule(where, text, "skip")
            if following == "saddr" and values is not None:
                found = [cidr(v) for v in values]
                if any(f is None for f in found):
                    rule.unknown = rule.unknown or Unknown((f"source {', '.join(values)[:40]}",), text,
                                                           why="is not an address or network")
                else:
                    sources = [f for f in found if f is not None]
                    if negate:
                        everyone = CidrSet(["0.0.0.0/0"] if name == "ip" else ["::/0"])
                        sources = [str(n) for n in everyone.difference(CidrSet(sources)).networks]
                    rule.sources = sources
            continue
        if name == "meta" and following == "l4proto":
            values, index = operand(index + 2)
            if values is not None and not _protocol(rule, values, negate):
                return Rule(where, text, "skip")
            continue
        if name in ("iif", "iifname", "meta") and (name != "meta" or following in ("iif", "iifname")):
            at = index + (2 if name == "meta" else 1)
            values, index = operand(at)
            if values == ["lo"] and not negate:
                rule.sources = list(LOOPBACK_SOURCES)
            elif values is not None:
                rule.unknown = rule.unknown or Unknown((f"interface {', '.join(values)[:30]}",), text,
                                                       why="is an interface whose addresses the files do not give")
            continue
        if name in ("oif", "oifname"):
            _, index = operand(index + 1)
            continue
        if name == "ct" and following == "state":
            values, index = operand(index + 2)
            if values is not None and ("new" not in values) != negate:
                rule.inert = True
            continue
        if name in ("icmp", "icmpv6", "igmp", "esp", "ah"):
            rule.verdict = "skip"
            return rule
        if name in ("accept", "drop", "reject", "return"):
            rule.verdict = "accept" if name == "accept" else "return" if name == "return" else "drop"
            if rule.verdict == "drop" and rule.unknown is not None and rule.unknown.why.startswith("is a condition"):
                rule.unknown, rule.inert = None, True  # a rate-limited drop stops nobody reliably
            return rule
        if name in ("jump", "goto") and following:
            rule.verdict, rule.target = "jump", following
            return rule
        if name in ("limit", "quota") and rule.unknown is None:
            # Rate-limited: which clients get past it depends on traffic, so the verdict is
            # unknown for an accept and stops nobody reliably for a drop.
            rule.unknown = Unknown((f"{name} in '{text[:60]}'",), text, why="is a condition this reader "
                                   "cannot judge")
        index += 1
    return rule


def _protocol(rule: Rule, values: list[str], negate: bool) -> bool:
    """Narrow the rule to the protocols named; False when none of them has ports of ours."""
    protocols = {v.lower() for v in values}
    if negate or not protocols & {"tcp", "udp", "6", "17"}:
        return False
    if protocols <= {"tcp", "6"}:
        rule.protocol = "tcp"
    elif protocols <= {"udp", "17"}:
        rule.protocol = "udp"
    return True


_NFT = re.compile(r"^\s*(table\s+(ip|ip6|inet|arp|bridge|netdev)\s+\S+\s*\{|add\s+(table|chain|rule)\s)",
                  re.MULTILINE)


def looks_like(head: str) -> bool:
    return bool(_NFT.search(head)) or head.startswith("#!/usr/sbin/nft") or head.startswith("#!/sbin/nft")


def load(files: list[str], ws: Workspace, config: Config) -> list[Firewall]:
    del config
    out: list[Firewall] = []
    for rel in files:
        reader = _Reader(rel, ws)
        try:
            text = ws.read_text(rel)
        except FileProblem as exc:
            reader.firewall.active = False
            reader.diagnostics.append(exc.diagnostic(rel))
            out.append(reader.firewall)
            continue
        reader.read(rel, text)
        out.append(reader.finish())
    return out
