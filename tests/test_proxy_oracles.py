"""The LB fixtures are configs the real software accepts: haproxy -c, nginx -t, caddy adapt.

Each tool runs on a copy of the fixture whose certificate paths point at a throwaway
certificate made for the test; a tool that is not installed skips its tests with a reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import FIXTURES


def _tool(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)
    if path is None:
        pytest.skip(f"{name} is not installed (.ci/run installs it)")
    return path


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    key, crt = folder / "key.pem", folder / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=live.example.com", "-keyout", str(key), "-out", str(crt)], check=True, capture_output=True)
    (folder / "bundle.pem").write_text(crt.read_text() + key.read_text())
    return crt, key


HAPROXY = sorted(FIXTURES.glob("*/**/haproxy.cfg"))


@pytest.mark.parametrize("config", HAPROXY, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_haproxy_accepts_fixture(config: Path, cert: tuple[Path, Path], tmp_path: Path) -> None:
    haproxy = _tool("haproxy")
    bundle = cert[0].parent / "bundle.pem"
    text = re.sub(r"crt \S+", f"crt {bundle}", config.read_text())
    copy = tmp_path / "haproxy.cfg"
    copy.write_text(text)
    proc = subprocess.run([haproxy, "-c", "-f", str(copy)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_haproxy_oracle_rejects_garbage(tmp_path: Path) -> None:
    haproxy = _tool("haproxy")
    copy = tmp_path / "haproxy.cfg"
    copy.write_text("frontend www\n    bind :80\n    <<<<<<< HEAD\n")
    proc = subprocess.run([haproxy, "-c", "-f", str(copy)], capture_output=True, text=True, check=False)
    assert proc.returncode != 0


NGINX = sorted(FIXTURES.glob("*/**/nginx.conf"))
# Active health checks are an NGINX Plus feature; open-source nginx -t does not know them.
_PLUS_ONLY = re.compile(r"^\s*(health_check|zone)\b.*;\s*$", re.MULTILINE)


@pytest.mark.parametrize("config", NGINX, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_nginx_accepts_fixture(config: Path, cert: tuple[Path, Path], tmp_path: Path) -> None:
    nginx = _tool("nginx")
    crt, key = cert
    text = _PLUS_ONLY.sub("", config.read_text())
    text = re.sub(r"ssl_certificate (\S+);", f"ssl_certificate {crt};", text)
    text = re.sub(r"ssl_certificate_key (\S+);", f"ssl_certificate_key {key};", text)
    text = re.sub(r"proxy_cache_path \S+", f"proxy_cache_path {tmp_path / 'cache'}", text)
    if re.search(r"^stream\s*\{", text, re.MULTILINE):
        # Debian builds the stream module as a dynamic module (libnginx-mod-stream).
        module = Path("/usr/lib/nginx/modules/ngx_stream_module.so")
        if not module.exists():
            pytest.skip("nginx's stream module is not installed (libnginx-mod-stream)")
        text = f"load_module {module};\n{text}"
    copy = tmp_path / "nginx.conf"
    copy.write_text(text)
    proc = subprocess.run([nginx, "-t", "-q", "-p", str(tmp_path), "-e", "stderr", "-c", str(copy),
                           "-g", f"pid {tmp_path / 'nginx.pid'};"], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


CADDY = sorted(FIXTURES.glob("*/**/Caddyfile")) + sorted(FIXTURES.glob("*/Caddyfile"))


@pytest.mark.parametrize("config", CADDY, ids=lambda p: str(p.relative_to(FIXTURES)))
def test_caddy_adapts_fixture(config: Path) -> None:
    caddy = _tool("caddy")
    proc = subprocess.run([caddy, "adapt", "--config", str(config), "--adapter", "caddyfile"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
