"""Safe YAML loading that remembers where every key and value was written.

PyYAML composes a node graph with marks; we convert it ourselves instead of using a
constructor so that we can (a) keep positions, (b) count every node we expand, which turns
alias bombs ("billion laughs") into a clean error, and (c) refuse recursive aliases.
"""

from __future__ import annotations

import re
import types
from typing import Any

import yaml

from bitriver_lint.model import LocatedError, Location

try:  # the C parser is several times faster and gives the same marks
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]


class _Loader(_SafeLoader):
    """YAML 1.2's core schema, as docker compose (go-yaml v3) and Envoy read their files.

    PyYAML resolves plain scalars the YAML 1.1 way: ``2222:22`` is the base-60 number 133342,
    ``no``/``on`` are booleans, ``010`` is octal and ``2001-01-01`` a date. In YAML 1.2 those
    are the strings ``"2222:22"``, ``"no"``, ``"on"``, the integer 10 and a string."""

    yaml_implicit_resolvers: dict[Any, Any] = {}  # noqa: RUF012 - PyYAML's class-level registry

    def resolve(self, kind: type[yaml.Node], value: str, implicit: tuple[bool, bool]) -> str:
        """PyYAML's ``BaseResolver.resolve`` less what this loader never has (path resolvers,
        resolvers for any first character): the composer calls it for every node of a file."""
        if kind is yaml.ScalarNode:
            if implicit[0]:
                for tag, regexp in self.yaml_implicit_resolvers.get(value[:1], ()):
                    if regexp.match(value):
                        return tag  # type: ignore[no-any-return]
            return self.DEFAULT_SCALAR_TAG
        return self.DEFAULT_SEQUENCE_TAG if kind is yaml.SequenceNode else self.DEFAULT_MAPPING_TAG


for _tag, _pattern, _first in (
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    ("float", r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
              r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$", "-+.0123456789"),
    ("merge", r"^(?:<<)$", "<"),
):
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern), list(_first))
# What ``_Loader.resolve`` leaves out must stay absent.
assert None not in _Loader.yaml_implicit_resolvers and not _Loader.yaml_path_resolvers


def _core_int(text: str) -> int:
    """A YAML 1.2 core-schema integer: decimal (leading zeros included), 0o octal, 0x hex."""
    if text.startswith("0o"):
        return int(text[2:], 8)
    if text.startswith("0x"):
        return int(text[2:], 16)
    return int(text, 10)

MAX_EXPANDED_NODES = 250_000
MAX_DEPTH = 200

_SCALARS = yaml.constructor.SafeConstructor.yaml_constructors
_STR_TAG = "tag:yaml.org,2002:str"


class YamlError(LocatedError):
    """Bad YAML or a safety limit; carries the position the parser gave."""


class LDict(dict[Any, Any]):
    """A mapping that knows where it, each key and each value were written."""

    loc: Location
    key_locs: dict[Any, Location]
    value_locs: dict[Any, Location]

    def key_loc(self, key: Any) -> Location:
        return self.key_locs.get(key, self.loc)

    def value_loc(self, key: Any) -> Location:
        return self.value_locs.get(key, self.key_loc(key))


class LList(list[Any]):
    """A sequence that knows where it and each item were written."""

    loc: Location
    item_locs: list[Location]

    def item_loc(self, index: int) -> Location:
        return self.item_locs[index] if index < len(self.item_locs) else self.loc


def loc_of(container: Any, key: Any, default: Location) -> Location:
    """Where ``container[key]`` was written, for either kind of container."""
    if isinstance(container, LDict):
        return container.value_loc(key)
    if isinstance(container, LList) and isinstance(key, int):
        return container.item_loc(key)
    return default


def new_ldict(loc: Location) -> LDict:
    d = LDict()
    d.loc, d.key_locs, d.value_locs = loc, {}, {}
    return d


def new_llist(loc: Location) -> LList:
    seq = LList()
    seq.loc, seq.item_locs = loc, []
    return seq


class _Converter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.expanded = 0
        self.active: set[int] = set()

    def loc(self, node: yaml.Node) -> Location:
        mark = node.start_mark
        return Location(self.path, mark.line + 1, mark.column + 1)

    def convert(self, node: yaml.Node, depth: int = 0) -> Any:
        self.expanded += 1
        if self.expanded > MAX_EXPANDED_NODES:
            mark = node.start_mark
            raise YamlError(
                f"YAML expands to more than {MAX_EXPANDED_NODES} nodes (alias bomb?)",
                mark.line + 1,
                mark.column + 1,
            )
        if depth > MAX_DEPTH:
            raise YamlError(f"YAML nests deeper than {MAX_DEPTH} levels", *self._pos(node))
        if isinstance(node, yaml.ScalarNode):
            # Most scalars are plain strings: PyYAML's str constructor would return the text.
            return node.value if node.tag == _STR_TAG else self.scalar(node)
        if id(node) in self.active:
            raise YamlError("recursive YAML alias", *self._pos(node))
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                path = self.path
                seq = new_llist(self.loc(node))
                item_locs = seq.item_locs
                for item in node.value:
                    seq.append(self.convert(item, depth + 1))
                    mark = item.start_mark
                    item_locs.append(Location(path, mark.line + 1, mark.column + 1))
                return seq
            if isinstance(node, yaml.MappingNode):
                return self.mapping(node, depth)
        finally:
            self.active.discard(id(node))
        raise YamlError(f"unsupported YAML node {node.tag}", *self._pos(node))

    def _pos(self, node: yaml.Node) -> tuple[int, int]:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == "tag:yaml.org,2002:int" and not node.style:
            try:  # PyYAML's constructor reads 010 as octal and 1_000 as a thousand: 1.1 rules
                return _core_int(node.value)
            except ValueError:
                pass  # an explicit !!int on something else: PyYAML's constructor decides below
        build = _SCALARS.get(node.tag)
        if build is None:
            # Unknown tags (e.g. !reference, !Ref) keep their text: safe and still useful.
            return node.value
        try:
            value = build(_SAFE, node)
            if isinstance(value, types.GeneratorType):
                # !!seq, !!map, !!set, !!omap, !!pairs on a scalar: PyYAML builds those in two
                # steps, and the second one (running it to its end) refuses a scalar.
                value, *_ = value
            return value
        except (yaml.YAMLError, ValueError) as exc:
            # A constructor's own error carries a mark; the position is the node's anyway.
            detail = exc.problem if isinstance(exc, yaml.MarkedYAMLError) and exc.problem else exc
            raise YamlError(f"bad scalar: {detail}", *self._pos(node)) from exc
        except (LookupError, AttributeError, TypeError, OverflowError) as exc:
            # PyYAML's scalar constructors trust the resolver to have matched their pattern; an
            # explicit tag (!!int '', !!bool x, !!timestamp '') skips it and they fail anyhow.
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise YamlError(f"bad scalar: {node.value!r} is not a valid {tag}", *self._pos(node)) from exc

    def mapping(self, node: yaml.MappingNode, depth: int) -> LDict:
        result = new_ldict(self.loc(node))
        merges: list[yaml.Node] = []
        path, key_locs, value_locs = self.path, result.key_locs, result.value_locs
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                merges.append(value_node)
                continue
            key = self.convert(key_node, depth + 1)
            if isinstance(key, (dict, list)):
                key = str(key)
            if key in result:
                raise YamlError(f"duplicate key {key!r}: a key may appear only once in a mapping",
                                *self._pos(key_node))
            result[key] = self.convert(value_node, depth + 1)
            mark = key_node.start_mark
            key_locs[key] = Location(path, mark.line + 1, mark.column + 1)
            mark = value_node.start_mark
            value_locs[key] = Location(path, mark.line + 1, mark.column + 1)
        # Merge keys (<<) fill in only what the mapping does not set itself, in the
        # order YAML 1.1 gives: earlier sources in a list win over later ones.
        for merge in merges:
            sources = merge.value if isinstance(merge, yaml.SequenceNode) else [merge]
            for source in sources:
                merged = self.convert(source, depth + 1)
                if not isinstance(merged, LDict):
                    raise YamlError("merge key (<<) needs a mapping", *self._pos(source))
                for key, value in merged.items():
                    if key not in result:
                        result[key] = value
                        result.key_locs[key] = merged.key_loc(key)
                        result.value_locs[key] = merged.value_loc(key)
        return result


_SAFE = yaml.constructor.SafeConstructor()


def _error_from(exc: yaml.YAMLError) -> YamlError:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"{context}, {problem}" if context else str(problem)
    if mark is None:
        return YamlError(message)
    return YamlError(message, mark.line + 1, mark.column + 1)


def load_documents(text: str, path: str) -> list[Any]:
    """Parse every document in ``text``; raises YamlError with a position."""
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as exc:
        raise _error_from(exc) from exc
    except RecursionError as exc:
        raise YamlError(f"YAML nests deeper than {MAX_DEPTH} levels") from exc
    converter = _Converter(path)
    return [converter.convert(node) for node in nodes if node is not None]


def load_document(text: str, path: str) -> Any:
    """Parse a single-document YAML file (the first document if there are several)."""
    docs = load_documents(text, path)
    return docs[0] if docs else None


# The positioned YAML of a file in plain data, for the cache (``cache.Codec``): unpacking it is
# a few times cheaper than unpickling the same tree of LDict, LList and Location instances,
# whose per-instance state pickle rebuilds one attribute at a time. A mapping is a tuple
# (line, column, [key, key line, key column, value line, value column, value, ...]); a sequence
# is a list [line, column, item line, item column, item, ...]; scalars are themselves. YAML
# gives no tuples or lists of its own, so the two shapes cannot be mistaken for a scalar. Every
# Location of a file's YAML names that file, so the path is not stored.
_PLAIN_SCALARS = (str, int, float, bool, type(None))


def pack(value: Any, path: str) -> Any:
    """``value`` (from ``load_document(text, path)``) as plain data; TypeError when it holds
    something else (a ``!!timestamp``, ``!!binary`` or ``!!set`` value): not packed."""
    if type(value) in _PLAIN_SCALARS:
        return value
    if type(value) is LDict:
        if len(value.key_locs) != len(value) or len(value.value_locs) != len(value):
            raise TypeError("positions do not match the mapping")
        items: list[Any] = []
        for key, item in value.items():
            if type(key) not in _PLAIN_SCALARS:
                raise TypeError(f"a {type(key).__name__} key")
            key_loc, value_loc = value.key_locs[key], value.value_locs[key]
            if key_loc.path != path or value_loc.path != path:
                raise TypeError("a position in another file")
            items += (key, key_loc.line, key_loc.column, value_loc.line, value_loc.column, pack(item, path))
        return (*_position(value.loc, path), items)
    if type(value) is LList:
        if len(value.item_locs) != len(value):
            raise TypeError("positions do not match the sequence")
        packed: list[Any] = [*_position(value.loc, path)]
        for item, item_loc in zip(value, value.item_locs, strict=True):
            packed += (*_position(item_loc, path), pack(item, path))
        return packed
    raise TypeError(f"a {type(value).__name__} value")


def _position(loc: Location, path: str) -> tuple[int, int]:
    if loc.path != path:
        raise TypeError("a position in another file")
    return loc.line, loc.column


def unpack(data: Any, path: str) -> Any:
    """The value ``pack(value, path)`` was made from."""
    if type(data) is tuple:
        line, column, items = data
        mapping = new_ldict(Location(path, line, column))
        key_locs, value_locs = mapping.key_locs, mapping.value_locs
        fields = iter(items)
        for key, key_line, key_column, value_line, value_column, item in zip(*[fields] * 6, strict=True):
            mapping[key] = unpack(item, path) if type(item) in (tuple, list) else item
            key_locs[key] = Location(path, key_line, key_column)
            value_locs[key] = Location(path, value_line, value_column)
        return mapping
    if type(data) is list:
        seq = new_llist(Location(path, data[0], data[1]))
        item_locs = seq.item_locs
        fields = iter(data[2:])
        for item_line, item_column, item in zip(*[fields] * 3, strict=True):
            seq.append(unpack(item, path) if type(item) in (tuple, list) else item)
            item_locs.append(Location(path, item_line, item_column))
        return seq
    return data


def plain(value: Any) -> Any:
    """The value with positions dropped and keys as strings: plain dicts and lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
