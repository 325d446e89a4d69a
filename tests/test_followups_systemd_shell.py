"""Units whose ExecStart wraps ``docker run`` in ``/bin/sh -c '...'``, with the engine and the
ports in the unit's variables: BitRiver Live's own systemd units are written that way. The
shell and its variables used to hide the container: its ``-p`` were not read, so a port bound
to loopback was reported open, and a published port of a service with no default port (an API
proxy on 1986) was never seen."""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.loaders.systemd import shell_command
from tests.conftest import brief, scan_tree


def _unit(environment: str, script: str) -> str:
    return f"""[Unit]
Description=a container behind a shell

[Service]
Restart=on-failure
Environment="DOCKER=/usr/bin/docker"
Environment="IMAGE=ossrs/srs:5"
Environment="EXTRA_ARGS="
{environment}
ExecStart=/bin/sh -c '{script}'
"""


def _write(root: Path, files: dict[str, str]) -> list[str]:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return [line for line in brief(scan_tree(root)) if line.split()[0] in ("BRL102", "BRL107")]


_SRS_SCRIPT = """${DOCKER} run --rm --name srs \\
  -p "${RTMP_PORT}:1935" \\
  -p "${API_BIND}:${API_PORT}:1985" \\
  ${EXTRA_ARGS} \\
  "${IMAGE}\""""


def test_the_shell_wrapped_container_publishes_what_its_p_says(tmp_path: Path) -> None:
    unit = _unit('Environment="RTMP_PORT=1935"\nEnvironment="API_PORT=1985"\nEnvironment="API_BIND=0.0.0.0"',
                 _SRS_SCRIPT)
    # The API's -p (line 14, its value from column 7) is the evidence, not the unit's first line.
    assert _write(tmp_path, {"deploy/srs.service": unit}) == [
        "BRL102 deploy/srs.service:14:7", "BRL107 deploy/srs.service:14:7"]


def test_a_loopback_bind_in_the_shell_script_keeps_the_api_private(tmp_path: Path) -> None:
    unit = _unit('Environment="RTMP_PORT=1935"\nEnvironment="API_PORT=1985"\nEnvironment="API_BIND=127.0.0.1"',
                 _SRS_SCRIPT)
    assert _write(tmp_path, {"deploy/srs.service": unit}) == []


def test_a_port_with_no_default_is_seen_through_the_shell(tmp_path: Path) -> None:
    unit = _unit('Environment="HOST_PORT=1986"',
                 '${DOCKER} run --rm -p "${HOST_PORT}:1985" -e UPSTREAM=http://srs:1985/api/ "${IMAGE_TAG}"')
    assert _write(tmp_path, {"deploy/api-proxy.service": unit}) == ["BRL107 deploy/api-proxy.service:10:46"]


def test_a_compound_script_is_not_read_as_its_first_command(tmp_path: Path) -> None:
    # What runs after "docker pull ... &&" is not one container's command line: the unit keeps
    # the role its name gives and the guide's default ports, as before.
    unit = _unit('Environment="API_BIND=127.0.0.1"',
                 '${DOCKER} pull "${IMAGE}" && ${DOCKER} run --rm -p "${API_BIND}:1985:1985" "${IMAGE}"')
    assert _write(tmp_path, {"deploy/srs.service": unit}) == [
        "BRL102 deploy/srs.service:10:11", "BRL107 deploy/srs.service:10:11"]


def test_shell_command_splits_as_the_shell_after_systemd_substitutes() -> None:
    variables = {"DOCKER": "/usr/bin/docker", "EXTRA": "", "PORTS": "-p 80:80"}
    assert shell_command(["/bin/sh", "-c", 'exec ${DOCKER} run ${EXTRA} $PORTS "${IMAGE}"'], variables) == [
        "/usr/bin/docker", "run", "-p", "80:80", "${IMAGE}"]
    assert shell_command(["bash", "-ec", "docker run img"], {}) == ["docker", "run", "img"]
    for script in ("a; b", "a | b", "a > log", "a $(b)", "a `b`", "a 'unclosed", ""):
        assert shell_command(["/bin/sh", "-c", script], {}) is None, script
    assert shell_command(["/usr/bin/docker", "run", "img"], {}) is None
    assert shell_command(["/bin/sh", "script.sh"], {}) is None
