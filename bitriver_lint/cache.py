"""A content cache for the load stage: what parsing one file produced, kept between runs.

**What is cached, and why at this granularity.** An entry is the result of *parsing one file*:
python-hcl2's tree of a ``.tf`` file turned into our positioned syntax (``loaders.terraform``,
with its parse diagnostics), a ``.tfvars`` file's attributes, the positioned YAML of a compose
file (or the YAML error with its position). Parsing is where the load stage spends its time
(python-hcl2 is 75-90% of a Terraform load) and it is a pure function of two things: the
file's text and its path (every value carries ``path:line:column``). So the key is a hash of
exactly those, plus the tool fingerprint below, and an entry can never be stale: a changed file
has another key, and nothing else is an input.

Evaluated documents are *not* cached, on purpose. Evaluation reads other files and the whole
tree's shape: Terraform instantiates local modules inside the roots that call them and reads
``*.tfvars`` found by listing directories, and which directories are roots depends on every
other module; a compose project reads ``.env``, ``env_file`` and ``extends`` bases anywhere in
the tree, and a file is a project of its own only when no other project extends it; nginx roots
depend on every other file's ``include``; proxy documents carry ``render`` closures bound to the
scan. A document cache keyed per file would need a complete record of each of those reads and
listings to stay correct, and one missed read is a hidden finding. Evaluation is re-run on
every scan instead, from cached parses, so it always sees the current tree and the current
config; that is also why no config value is part of the key (no config value reaches a parse:
``variables`` and ``profiles`` act during evaluation, which is never cached).

**The tool fingerprint** names a namespace directory: the cache format version, the tool
version, the Python version, the installed parsers (python-hcl2, Lark, PyYAML) and a hash
of the source of the modules that produce or shape the cached values (``loaders/``,
``model.py``, this module), so that an edited checkout never reads an entry its old code wrote.

**Where.** ``--cache-dir``, else ``$BITRIVER_LINT_CACHE_DIR``, else the user cache directory
(``platformdirs``). Never inside a scanned tree: a pull request could otherwise plant entries
that hide its findings (``inside_tree``; the CLI refuses such a directory).

**How a value is kept.** A kind of value with a ``Codec`` (a compose file's positioned YAML) is
kept as plain data written by ``marshal``: a hit then costs a fraction of a parse, where
unpickling the same tree of small objects cost as much as parsing the file again. Anything else
(a Terraform syntax tree, whose parse is many times dearer than unpickling it) is pickled, as
is a value its codec cannot put in plain form.

**Safe.** Entries are written to a temporary file and renamed into place, so concurrent runs
see a whole entry or none. Each entry is self-checking (magic, format version, the full key,
payload length and SHA-256, then how the payload is encoded) and is only decoded after those
match; anything else is a miss, rebuilt and overwritten. Pickle and marshal are acceptable only
because the directory is the user's own and never in the scanned tree. A directory that cannot
be created or written turns the cache off for the run with one line on stderr. Pruning
(``prune``) runs at most once a day: entries unused for ``MAX_AGE_DAYS`` go, then the oldest
until the total is under ``MAX_BYTES``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

T = TypeVar("T")

FORMAT_VERSION = 2
MAGIC = b"BRLCACHE"
# magic, format version, key, payload length, payload SHA-256, how the payload is encoded
_HEADER = struct.Struct(">8sH32sQ32sc")
_PICKLED = b"p"
_MARSHALLED = b"m"  # plain data, turned back into the value by the kind's ``Codec.unpack``
ENV_VAR = "BITRIVER_LINT_CACHE_DIR"
MAX_AGE_DAYS = 30
MAX_BYTES = 512 * 1024 * 1024
PRUNE_EVERY = 24 * 3600  # seconds between two prunes
_TOUCH_AFTER = 24 * 3600  # a hit refreshes the entry's mtime (its "last used") at most this often
_PARSERS = ("hcl2", "lark", "yaml")


def default_directory() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("bitriver-lint", appauthor=False))


def choose_directory(option: Path | None) -> tuple[Path, bool]:
    """The cache directory and whether the user named it (``--cache-dir`` or the environment)."""
    if option is not None:
        return option, True
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return Path(from_env), True
    return default_directory(), False


def inside_tree(directory: Path, roots: Iterable[Path]) -> Path | None:
    """The containment root (see ``workspace.containment_root``) that ``directory`` resolves
    inside, or None. Resolved first, so a symlink into the tree is caught too."""
    real = Path(os.path.realpath(directory))
    for root in roots:
        root = Path(os.path.realpath(root))
        if real == root or root in real.parents:
            return root
    return None


def _source_files() -> list[Path]:
    package = Path(__file__).resolve().parent
    return sorted([*package.joinpath("loaders").glob("*.py"), package / "model.py", package / "__init__.py",
                   Path(__file__).resolve()])


def _parser_stamp(module: str) -> str:
    """Where a parser package is installed and its ``__init__``'s size and mtime, which an
    upgrade changes; found without importing it (python-hcl2 and Lark take longer to import
    than a warm scan of a small tree takes to run)."""
    from importlib.util import find_spec

    try:
        spec = find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None:
        return f"{module}=absent"
    try:
        info = os.stat(spec.origin)
    except OSError:
        return f"{module}={spec.origin}"
    return f"{module}={spec.origin}:{info.st_size}:{info.st_mtime_ns}"


def fingerprint() -> str:
    """What must match for an entry to be reused; see the module docstring."""
    from bitriver_lint import __version__

    digest = hashlib.sha256()
    digest.update(f"{FORMAT_VERSION}\0{__version__}\0{sys.version}\0{sys.implementation.cache_tag}".encode())
    for module in _PARSERS:
        digest.update(b"\0" + _parser_stamp(module).encode())
    for path in _source_files():
        digest.update(b"\0" + path.name.encode() + b"\0")
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"unreadable")
    return digest.hexdigest()


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a kind of value is kept as plain data (what ``marshal`` writes: None, bool, int,
    float, str, bytes, tuple, list, dict). ``pack(value, path)`` raises TypeError or ValueError
    for a value it cannot represent (that value is pickled instead); ``unpack(data, path)``
    rebuilds the value. ``path`` is the file's (part of the key), so it need not be stored."""

    pack: Callable[[T, str], Any]
    unpack: Callable[[Any, str], T]


class Cache:
    """One run's view of the cache directory. ``hits``/``misses``/``written`` count entries
    (``--debug`` prints them)."""

    def __init__(self, directory: Path, *, tool: str | None = None, warn: Callable[[str], None] | None = None) -> None:
        self.directory = directory
        self.tool = tool if tool is not None else fingerprint()
        self.namespace = directory / f"v{FORMAT_VERSION}-{self.tool[:24]}"
        self.hits = 0
        self.misses = 0
        self.written = 0
        self.enabled = True
        self._folders: set[Path] = set()  # entry folders known to exist
        self._warn = warn or (lambda line: print(line, file=sys.stderr))

    def key(self, kind: str, path: str, text: str) -> bytes:
        digest = hashlib.sha256()
        digest.update(f"{self.tool}\0{kind}\0{path}\0".encode())
        digest.update(text.encode("utf-8", "surrogatepass"))
        return digest.digest()

    def _path(self, key: bytes) -> Path:
        name = key.hex()
        return self.namespace / name[:2] / name

    def get(self, key: bytes, unpack: Callable[[Any], Any] | None = None) -> tuple[bool, Any]:
        """(True, value) for a sound entry, (False, None) otherwise. ``unpack``: how plain data
        becomes the value, for an entry written with a codec (without it, such an entry is a miss)."""
        if not self.enabled:
            return False, None
        path = self._path(key)
        try:
            with open(path, "rb") as stream:
                data = stream.read()
                mtime = os.fstat(stream.fileno()).st_mtime
        except OSError:
            self.misses += 1
            return False, None
        value = _decode(data, key, unpack)
        if value is _BAD:
            self.misses += 1
            return False, None
        self.hits += 1
        if time.time() - mtime > _TOUCH_AFTER:
            with contextlib.suppress(OSError):
                os.utime(path)
        return True, value

    def put(self, key: bytes, value: Any, pack: Callable[[Any], Any] | None = None) -> None:
        """Keep ``value``; as ``marshal``'s plain data made by ``pack`` when it can, else pickled."""
        if not self.enabled:
            return
        payload: bytes | None = None
        encoding = _MARSHALLED
        if pack is not None:
            import marshal

            try:
                payload = marshal.dumps(pack(value))
            except (TypeError, ValueError):  # not representable (or nested too deep for marshal)
                payload = None
        if payload is None:
            import pickle

            encoding = _PICKLED
            try:
                payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # a value that does not pickle is simply not cached
                return
        header = _HEADER.pack(MAGIC, FORMAT_VERSION, key, len(payload), hashlib.sha256(payload).digest(), encoding)
        path = self._path(key)
        # The temporary name is this process's own (two runs never write the same temporary
        # file), so it needs no random name and no O_EXCL retry loop: a cold run writes
        # thousands of entries.
        temp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        try:
            if path.parent not in self._folders:
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                self._folders.add(path.parent)
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            try:
                fd = os.open(temp, flags, 0o600)
            except FileNotFoundError:  # another run's prune took the folder away meanwhile
                path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd = os.open(temp, flags, 0o600)
            try:
                with os.fdopen(fd, "wb") as stream:
                    stream.write(header)
                    stream.write(payload)
                os.replace(temp, path)
            except BaseException:
                _unlink(temp)
                raise
        except OSError as exc:
            self.enabled = False
            self._warn(f"bitriver-lint: cache directory {self.directory} is not usable "
                       f"({exc.strerror or type(exc).__name__}); running without a cache")
            return
        self.written += 1

    def memo(self, kind: str, path: str, text: str, compute: Callable[[str, str], T],
             codec: Codec[T] | None = None) -> T:
        """``compute(text, path)``, from the cache when this text at this path was seen before.
        The result is stored as soon as it is computed, before a caller can change it."""
        key = self.key(kind, path, text)
        found, value = self.get(key, None if codec is None else (lambda data: codec.unpack(data, path)))
        if found:
            return value  # type: ignore[no-any-return]
        result = compute(text, path)
        self.put(key, result, None if codec is None else (lambda value: codec.pack(value, path)))
        return result

    def summary(self) -> str:
        state = "" if self.enabled else ", disabled"
        return f"cache: {self.hits} hit(s), {self.misses} miss(es), {self.written} written ({self.directory}{state})"

    def prune(self, *, now: float | None = None, force: bool = False) -> int:
        """Drop entries unused for ``MAX_AGE_DAYS`` (whatever namespace), then the least recently
        used until the total is under ``MAX_BYTES``; at most once per ``PRUNE_EVERY`` unless
        ``force``. Returns how many files went."""
        now = time.time() if now is None else now
        stamp = self.directory / "last-prune"
        try:
            if not force and now - stamp.stat().st_mtime < PRUNE_EVERY:
                return 0
        except OSError:
            pass
        if not self.enabled or not self.directory.is_dir():
            return 0
        removed = 0
        entries: list[tuple[float, int, Path]] = []
        for folder, _, names in os.walk(self.directory):
            for name in names:
                path = Path(folder) / name
                if path == stamp:
                    continue
                try:
                    info = path.stat()
                except OSError:
                    continue
                old = now - info.st_mtime > (3600 if name.startswith(".tmp-") else MAX_AGE_DAYS * 86400)
                if old:
                    removed += _unlink(path)
                else:
                    entries.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= MAX_BYTES:
                break
            removed += _unlink(path)
            total -= size
        for folder, _, _ in sorted(os.walk(self.directory), key=lambda w: -len(w[0])):
            if Path(folder) != self.directory:
                with contextlib.suppress(OSError):
                    os.rmdir(folder)  # only empty ones go
        try:
            stamp.touch()
            os.utime(stamp, (now, now))
        except OSError:
            pass
        return removed


_BAD = object()


def _decode(data: bytes, key: bytes, unpack: Callable[[Any], Any] | None = None) -> Any:
    """The value of an entry, or ``_BAD`` when any check fails (checked before decoding)."""
    if len(data) < _HEADER.size:
        return _BAD
    magic, version, stored_key, length, digest, encoding = _HEADER.unpack_from(data)
    payload = data[_HEADER.size:]
    if (magic != MAGIC or version != FORMAT_VERSION or stored_key != key or length != len(payload)
            or hashlib.sha256(payload).digest() != digest):
        return _BAD
    if encoding not in (_PICKLED, _MARSHALLED) or (encoding == _MARSHALLED and unpack is None):
        return _BAD
    import gc

    # Decoding a parse tree allocates many objects and no cycles (as parsing does).
    collecting = gc.isenabled()
    gc.disable()
    try:
        if encoding == _MARSHALLED:
            import marshal

            return unpack(marshal.loads(payload))  # type: ignore[misc]
        import pickle

        return pickle.loads(payload)
    except Exception:  # e.g. a class renamed since; the hash matched, the code did not
        return _BAD
    finally:
        if collecting:
            gc.enable()


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1


def memo(cache: Cache | None, kind: str, path: str, text: str, compute: Callable[[str, str], T],
         codec: Codec[T] | None = None) -> T:
    """``compute(text, path)`` through ``cache`` when there is one."""
    if cache is None:
        return compute(text, path)
    return cache.memo(kind, path, text, compute, codec)
