"""The parse cache (``bitriver_lint.cache``): reused when nothing changed, never stale, and the
report it gives is byte for byte the report without it."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, REPO

import bitriver_lint
from bitriver_lint import cache as cache_module
from bitriver_lint.cache import Cache, fingerprint
from bitriver_lint.config import Config, find_config, load_config
from bitriver_lint.engine import scan
from bitriver_lint.errors import ConfigError
from bitriver_lint.loaders import compose as compose_loader
from bitriver_lint.loaders import terraform as terraform_loader
from bitriver_lint.reporters import get_reporter

sys.path.insert(0, str(REPO / "benchmarks"))
import scale  # benchmarks/ is not a package: found through sys.path

FORMATS = ("json", "sarif", "text")


def render(report: Any, fmt: str) -> str:
    stream = io.StringIO()
    get_reporter(fmt).render(report, stream, color=False, show_suppressed=True)
    return stream.getvalue()


def run(root: Path, cache: Cache | None, config: Config | None = None, jobs: int = 1) -> dict[str, str]:
    """The report of ``root`` in every format."""
    report = scan([root], config or load_config(find_config(root)), root=root, cache=cache, jobs=jobs)
    return {fmt: render(report, fmt) for fmt in FORMATS}


def brief(outputs: dict[str, str]) -> list[str]:
    import json

    findings = json.loads(outputs["json"])["findings"]
    return [f"{f['rule_id']} {f['location']['path']}:{f['location']['line']}:{f['location']['column']}"
            for f in findings]


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each parser ran: a hit must not run one."""
    counts = {"hcl": 0, "yaml": 0}

    def counting(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counts[name] += 1
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(terraform_loader, "parse_file", counting("hcl", terraform_loader.parse_file))
    monkeypatch.setattr(compose_loader, "load_document", counting("yaml", compose_loader.load_document))
    return counts


def copy_fixture(name: str, tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(FIXTURES / name, tree)
    (tree / "expected.yaml").unlink()
    return tree


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


# -- reuse ----------------------------------------------------------------------------------------

def test_a_second_run_parses_nothing_and_reports_the_same(tmp_path: Path, parses: dict[str, int]) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    (tree / "docker-compose.yml").write_text("services:\n  redis:\n    image: redis:7\n    ports: ['6379:6379']\n")
    cold_cache = Cache(tmp_path / "cache")
    cold = run(tree, cold_cache)
    assert (cold_cache.hits, cold_cache.misses, cold_cache.written) == (0, 4, 4)  # 2 .tf, 1 .tfvars, 1 compose
    assert parses == {"hcl": 3, "yaml": 1}  # the .tfvars file is HCL too
    warm_cache = Cache(tmp_path / "cache")
    warm = run(tree, warm_cache)
    assert (warm_cache.hits, warm_cache.misses, warm_cache.written) == (4, 0, 0)
    assert parses == {"hcl": 3, "yaml": 1}  # not one more parse
    assert warm == cold == run(tree, None)
    assert "BRL101 modules/ingest/main.tf:22:3" in brief(warm)


def test_parse_errors_come_back_from_the_cache_at_their_place(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "main.tf").write_text('resource "aws_instance" "x" {\n  ami = \n}\n')
    (tree / "docker-compose.yml").write_text("services:\n  api:\n    image: [unclosed\n")
    cold = run(tree, Cache(tmp_path / "cache"))
    warm_cache = Cache(tmp_path / "cache")
    warm = run(tree, warm_cache)
    assert warm_cache.hits == 2
    assert warm == cold == run(tree, None)
    assert brief(warm) == ["BRL001 docker-compose.yml:4:1", "BRL001 main.tf:2:9"]


# -- never stale ----------------------------------------------------------------------------------

def check_edit_is_seen(tree: Path, cache_dir: Path, change: Callable[[], None], config: Config | None = None) -> None:
    """After ``change``, the cached run reports exactly what a run without the cache reports,
    and that differs from before (the edit mattered)."""
    before = run(tree, Cache(cache_dir), config)
    assert run(tree, Cache(cache_dir), config) == before
    change()
    after = run(tree, Cache(cache_dir), config)
    assert after == run(tree, None, config)
    assert brief(after) != brief(before)


def test_an_edited_terraform_module_is_read_again(tmp_path: Path) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    check_edit_is_seen(tree, tmp_path / "cache", lambda: edit(
        tree / "modules/ingest/main.tf", "cidr_blocks = var.rtmp_sources", 'cidr_blocks = ["203.0.113.0/28"]'))


def test_an_edited_tfvars_file_is_read_again(tmp_path: Path) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    check_edit_is_seen(tree, tmp_path / "cache", lambda: edit(
        tree / "terraform.tfvars", '["0.0.0.0/0"]', '["203.0.113.0/28"]'))


def test_a_new_tfvars_file_is_seen(tmp_path: Path) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    check_edit_is_seen(tree, tmp_path / "cache", lambda: (tree / "zz.auto.tfvars").write_text(
        'rtmp_sources = ["203.0.113.0/28"]\n'))


COMPOSE = """\
services:
  api:
    image: ghcr.io/bitriver/bitriver-live:1.5.0
    env_file: [bitriver.env]
    ports: ["${API_BIND}:8080:8080"]
  srs:
    extends:
      file: common.yml
      service: srs
"""


@pytest.fixture
def compose_tree(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "docker-compose.yml").write_text(COMPOSE)
    (tree / "common.yml").write_text('services:\n  srs:\n    image: ossrs/srs:5\n    ports: ["1985:1985"]\n')
    (tree / "bitriver.env").write_text("BITRIVER_LIVE_DATABASE_URL=postgres://bitriver:hunter2hunter2@db:5432/x\n")
    (tree / ".env").write_text("API_BIND=127.0.0.1\n")
    return tree


def test_an_edited_extends_base_is_read_again(compose_tree: Path, tmp_path: Path) -> None:
    check_edit_is_seen(compose_tree, tmp_path / "cache", lambda: edit(
        compose_tree / "common.yml", '"1985:1985"', '"127.0.0.1:1985:1985"'))


def test_an_edited_env_file_is_read_again(compose_tree: Path, tmp_path: Path) -> None:
    check_edit_is_seen(compose_tree, tmp_path / "cache", lambda: edit(
        compose_tree / "bitriver.env", "bitriver:hunter2hunter2@", "bitriver@"))


def test_an_edited_dotenv_is_read_again(compose_tree: Path, tmp_path: Path) -> None:
    check_edit_is_seen(compose_tree, tmp_path / "cache", lambda: edit(
        compose_tree / ".env", "API_BIND=127.0.0.1", "API_BIND=0.0.0.0"))


def test_an_edited_nginx_include_is_read_again(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    (tree / "conf.d").mkdir(parents=True)
    (tree / "nginx.conf").write_text("events {}\nhttp {\n    include conf.d/*.conf;\n}\n")
    (tree / "conf.d/site.conf").write_text(
        "server {\n    listen 80;\n    location / {\n        proxy_pass http://10.0.0.5:8080;\n    }\n}\n")
    check_edit_is_seen(tree, tmp_path / "cache", lambda: edit(
        tree / "conf.d/site.conf", "    location /", "    listen 443 ssl;\n    location /"))


def test_a_changed_config_is_seen(tmp_path: Path) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    config = load_config(find_config(tree))
    before = run(tree, Cache(tmp_path / "cache"), config)
    changed = config.model_copy(update={"variables": {"operator_cidr": "0.0.0.0/0"}})
    after = run(tree, Cache(tmp_path / "cache"), changed)
    assert after == run(tree, None, changed)
    assert brief(after) != brief(before)
    assert "BRL002 modules/ingest/main.tf:29:3" in brief(before)
    assert "BRL002 modules/ingest/main.tf:29:3" not in brief(after)


def test_another_tool_version_uses_none_of_the_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    first = run(tree, Cache(tmp_path / "cache"))
    before = fingerprint()
    monkeypatch.setattr(bitriver_lint, "__version__", "99.0.0")
    assert fingerprint() != before
    other = Cache(tmp_path / "cache")
    assert run(tree, other) == first
    assert (other.hits, other.misses) == (0, 3)


# -- byte-identical reports -------------------------------------------------------------------------

def test_reports_are_identical_with_and_without_the_cache_and_across_jobs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    scale.generate(tree, 12)
    # Parallel parsing starts above PARALLEL_MIN_BYTES of HCL; this tree has a few KiB of it.
    monkeypatch.setattr(terraform_loader, "PARALLEL_MIN_BYTES", 2048)
    from concurrent.futures import ProcessPoolExecutor

    pools: list[int] = []
    real_init = ProcessPoolExecutor.__init__

    def spy(self: ProcessPoolExecutor, *args: Any, **kwargs: Any) -> None:
        pools.append(kwargs.get("max_workers", 0))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(ProcessPoolExecutor, "__init__", spy)
    reference = run(tree, None, jobs=1)
    assert pools == []
    assert run(tree, None, jobs=2) == reference
    assert pools == [2]  # -j 2 did parse in worker processes
    for jobs in (2, 1):  # cold cache (written from worker results), then warm
        assert run(tree, Cache(tmp_path / f"cache-{jobs}"), jobs=jobs) == reference
    assert run(tree, Cache(tmp_path / "cache-2"), jobs=1) == reference
    warm = Cache(tmp_path / "cache-1")
    assert run(tree, warm, jobs=2) == reference
    assert (warm.hits, warm.misses) == (27, 0)  # 12 compose files, 12 Terraform roots, 3 shared modules
    assert pools == [2, 2]  # the warm runs had nothing left to parse
    assert "BRL303 sites/site0011/docker-compose.yml:3:3" in brief(reference)


# -- damaged entries ----------------------------------------------------------------------------------

def entries(cache_dir: Path) -> list[Path]:
    return sorted(p for p in cache_dir.rglob("*") if p.is_file() and p.name != "last-prune")


def damage_garbage(path: Path) -> None:
    path.write_bytes(os.urandom(200))


def damage_truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def damage_payload(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF  # the header is intact, the payload hash is not
    path.write_bytes(bytes(data))


def damage_version(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[8:10] = (cache_module.FORMAT_VERSION + 1).to_bytes(2, "big")
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [damage_garbage, damage_truncated, damage_payload, damage_version,
                                    lambda p: p.write_bytes(b"")])
def test_a_damaged_entry_is_ignored_and_rebuilt(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    tree = copy_fixture("terraform-module-values", tmp_path)
    cache_dir = tmp_path / "cache"
    reference = run(tree, Cache(cache_dir))
    stored = entries(cache_dir)
    assert len(stored) == 3
    for path in stored:
        damage(path)
    again = Cache(cache_dir)
    assert run(tree, again) == reference
    assert (again.hits, again.misses, again.written) == (0, 3, 3)
    healed = Cache(cache_dir)
    assert run(tree, healed) == reference
    assert (healed.hits, healed.misses) == (3, 0)


def test_an_entry_of_another_key_is_not_taken_for_this_one(tmp_path: Path) -> None:
    """An entry moved (or planted) under another entry's name: its header names its own key."""
    tree = copy_fixture("terraform-module-values", tmp_path)
    cache_dir = tmp_path / "cache"
    reference = run(tree, Cache(cache_dir))
    first, second, _ = entries(cache_dir)
    first.write_bytes(second.read_bytes())
    again = Cache(cache_dir)
    assert run(tree, again) == reference
    assert (again.hits, again.misses) == (2, 1)


def test_an_entry_written_by_another_version_is_a_miss(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    old = Cache(cache_dir, tool="0" * 64)
    new = Cache(cache_dir, tool="1" * 64)
    key = old.key("kind", "main.tf", "text")
    old.put(key, "old value")
    # Copied to where the new version would look for the same file: its header has the old key.
    target = new._path(new.key("kind", "main.tf", "text"))
    target.parent.mkdir(parents=True)
    shutil.copy(old._path(key), target)
    assert new.get(new.key("kind", "main.tf", "text")) == (False, None)
    assert old.get(key) == (True, "old value")


# -- where the cache lives --------------------------------------------------------------------------

def cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    return subprocess.run([sys.executable, "-m", "bitriver_lint", *args], cwd=cwd, capture_output=True, text=True,
                          env=environment, check=False)


def test_a_cache_dir_inside_the_scanned_tree_is_refused(compose_tree: Path, tmp_path: Path) -> None:
    (compose_tree / ".git").mkdir()
    (compose_tree / "sub").mkdir()
    proc = cli("scan", "sub", "--cache-dir", ".cache/bitriver", cwd=compose_tree)
    assert proc.returncode == 2
    assert "--cache-dir: .cache/bitriver is inside the scanned tree" in proc.stderr
    assert not (compose_tree / ".cache").exists()
    # The environment variable, and a link from outside that leads into the tree, are refused too.
    proc = cli("scan", ".", cwd=compose_tree, env={"BITRIVER_LINT_CACHE_DIR": str(compose_tree / "sub")})
    assert proc.returncode == 2
    assert f"{compose_tree / 'sub'} is inside the scanned tree" in proc.stderr
    (tmp_path / "link").symlink_to(compose_tree / "sub")
    proc = cli("scan", ".", "--cache-dir", str(tmp_path / "link"), cwd=compose_tree)
    assert proc.returncode == 2
    assert "is inside the scanned tree" in proc.stderr
    with pytest.raises(ConfigError, match="inside the scanned tree"):
        scan([compose_tree], Config(), root=compose_tree, cache=Cache(compose_tree / "sub" / "c"))


def test_the_cli_uses_the_cache_by_default_and_no_cache_bypasses_it(compose_tree: Path, tmp_path: Path) -> None:
    env = {"BITRIVER_LINT_CACHE_DIR": str(tmp_path / "cache")}
    first = cli("scan", ".", "-f", "json", "--debug", cwd=compose_tree, env=env)
    # common.yml is read twice, as a file of its own and as the base the srs service extends;
    # the third miss and write are the scan memo's entry.
    assert "cache: 1 hit(s), 3 miss(es), 3 written" in first.stderr
    assert "scan memo: no scan of this tree with these options and this tool; kept for the next run" in first.stderr
    again = cli("scan", ".", "-f", "json", "--debug", cwd=compose_tree, env=env)
    assert "cache: 1 hit(s), 0 miss(es), 0 written" in again.stderr  # the memo alone
    assert "scan memo: unchanged tree: the report of the last scan" in again.stderr
    # A file that changed (a comment) is parsed again; common.yml's parse comes from the cache
    # (two hits), and so does the memo entry, found stale (one hit).
    with open(compose_tree / "docker-compose.yml", "a") as compose_file:
        compose_file.write("# edited\n")
    second = cli("scan", ".", "-f", "json", "--debug", cwd=compose_tree, env=env)
    assert "cache: 3 hit(s), 1 miss(es), 2 written" in second.stderr
    assert "scan memo: a file or directory changed since; kept for the next run" in second.stderr
    bypass = cli("scan", ".", "-f", "json", "--debug", "--no-cache", cwd=compose_tree,
                 env={"BITRIVER_LINT_CACHE_DIR": str(tmp_path / "unused")})
    assert "cache:" not in bypass.stderr
    assert not (tmp_path / "unused").exists()
    assert first.stdout == again.stdout == second.stdout == bypass.stdout
    assert first.returncode == second.returncode == bypass.returncode == 1


def test_an_unusable_cache_dir_costs_one_line_and_nothing_else(compose_tree: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    expected = cli("scan", ".", "-f", "json", "--no-cache", cwd=compose_tree)
    proc = cli("scan", ".", "-f", "json", "--cache-dir", str(tmp_path / "a-file" / "cache"), cwd=compose_tree)
    assert proc.stdout == expected.stdout
    assert proc.returncode == expected.returncode == 1
    assert proc.stderr.splitlines() == [
        f"bitriver-lint: cache directory {tmp_path / 'a-file' / 'cache'} is not usable (Not a directory); "
        "running without a cache"]


def test_two_runs_at_once_on_a_cold_cache_are_both_right(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    scale.generate(tree, 15)
    expected = cli("scan", str(tree), "-f", "sarif", "--no-cache", cwd=tmp_path)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "bitriver_lint", "scan", str(tree), "-f", "sarif", "--debug",
               "--cache-dir", str(tmp_path / "cache")]
    procs = [subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for (stdout, stderr), proc in zip(outputs, procs, strict=True):
        assert proc.returncode == expected.returncode == 1, stderr
        assert stdout == expected.stdout
    # Each file's entry once (15 compose, 15 roots, 3 modules) and the scan memo's.
    assert len(entries(tmp_path / "cache")) == 34
    assert (tmp_path / "cache" / "last-prune").is_file()
    warm = cli("scan", str(tree), "-f", "sarif", "--debug", "--cache-dir", str(tmp_path / "cache"), cwd=tmp_path)
    assert warm.stdout == expected.stdout
    assert "cache: 1 hit(s), 0 miss(es)" in warm.stderr
    assert "scan memo: unchanged tree" in warm.stderr
    # Another command line (the same topology, said out loud) is another memo entry: every parse
    # comes from the cache.
    other = cli("scan", str(tree), "-f", "sarif", "--debug", "--topology", "auto", "--cache-dir",
                str(tmp_path / "cache"), cwd=tmp_path)
    assert other.stdout == expected.stdout
    assert "cache: 33 hit(s), 1 miss(es), 1 written" in other.stderr


# -- bounded ------------------------------------------------------------------------------------------

def test_prune_drops_entries_unused_for_a_month_then_the_oldest_over_the_cap(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    keys = [cache.key("k", f"f{n}.tf", "x" * 1000) for n in range(5)]
    for key in keys:
        cache.put(key, "y" * 1000)
    paths = [cache._path(k) for k in keys]
    now = time.time()
    os.utime(paths[0], (now - 40 * 86400, now - 40 * 86400))  # unused for 40 days
    for n, path in enumerate(paths[1:], start=1):
        os.utime(path, (now - n * 3600, now - n * 3600))  # paths[4] the least recently used
    assert cache.prune(now=now) == 1
    assert [p.exists() for p in paths] == [False, True, True, True, True]
    assert cache.prune(now=now + 60) == 0  # not again the same day
    monkeypatch.setattr(cache_module, "MAX_BYTES", 2 * paths[1].stat().st_size)
    assert cache.prune(now=now + 60, force=True) == 2
    assert [p.exists() for p in paths] == [False, True, True, False, False]


def test_a_hit_refreshes_the_entry_at_most_daily(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache", tool="0" * 64)
    key = cache.key("k", "a.tf", "text")
    cache.put(key, 1)
    path = cache._path(key)
    long_ago = time.time() - 3 * 86400
    os.utime(path, (long_ago, long_ago))
    assert cache.get(key) == (True, 1)
    assert path.stat().st_mtime > long_ago + 86400
    recent = time.time() - 3600
    os.utime(path, (recent, recent))
    assert cache.get(key) == (True, 1)
    assert path.stat().st_mtime == pytest.approx(recent)


# -- how entries are encoded ------------------------------------------------------------------------

POSITIONED = """\
x-base: &base
  image: nginx:1.25
  environment: [A=1, "B=2"]
services:
  web:
    <<: *base
    ports:
      - "8080:80"
      - 443
    healthcheck: {test: [CMD, curl], interval: 1.5, retries: 3, disable: false}
    labels:
      1: one
      null: ~
      traefik.enable: "true"
"""


def positioned(value: Any) -> Any:
    """Everything a loader can see of a parse: types, values, order and every position."""
    from bitriver_lint.loaders.yamlpos import LDict, LList, YamlError

    if isinstance(value, LDict):
        return ("map", value.loc, [(key, value.key_locs[key], value.value_locs[key], positioned(item))
                                   for key, item in value.items()], len(value.key_locs), len(value.value_locs))
    if isinstance(value, LList):
        return ("seq", value.loc, [(loc, positioned(item)) for loc, item in zip(value.item_locs, value, strict=True)])
    if isinstance(value, YamlError):
        return ("error", value.message, value.line, value.column)
    return (type(value), value)


def encoding_of(entry: Path) -> bytes:
    return entry.read_bytes()[cache_module._HEADER.size - 1:cache_module._HEADER.size]


@pytest.mark.parametrize(("text", "encoding"), [
    (POSITIONED, b"m"),  # plain data (marshal)
    ("services: {web: {image: x, labels: {since: !!timestamp 2001-12-14}}}\n", b"p"),  # a date: pickled
    ("services:\n  web: [\n", b"m"),  # the parse error, with its position
])
def test_a_compose_hit_gives_back_exactly_what_the_parse_gave(tmp_path: Path, text: str, encoding: bytes) -> None:
    kind, path, codec = "compose-yaml", "app/compose.yml", compose_loader._PARSE_CODEC
    parsed = compose_loader._parse_yaml(text, path)
    Cache(tmp_path / "cache").memo(kind, path, text, compose_loader._parse_yaml, codec)
    (entry,) = entries(tmp_path / "cache")
    assert encoding_of(entry) == encoding

    def parse_again(text: str, path: str) -> Any:
        raise AssertionError("a hit must not parse")

    warm = Cache(tmp_path / "cache")
    hit = warm.memo(kind, path, text, parse_again, codec)
    assert warm.hits == 1
    assert positioned(hit) == positioned(parsed)


def test_a_marshalled_entry_is_only_read_by_its_codec(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "cache")
    key = cache.key("compose-yaml", "compose.yml", POSITIONED)
    value = compose_loader._parse_yaml(POSITIONED, "compose.yml")
    cache.put(key, value, lambda v: compose_loader._PARSE_CODEC.pack(v, "compose.yml"))
    assert cache.get(key) == (False, None)  # not unpickled, not handed out as plain data
    found, back = cache.get(key, lambda data: compose_loader._PARSE_CODEC.unpack(data, "compose.yml"))
    assert found and positioned(back) == positioned(value)
