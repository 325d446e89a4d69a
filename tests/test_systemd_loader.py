"""systemd unit syntax as systemd.syntax(7) and systemd.unit(5) define it."""

from __future__ import annotations

from pathlib import Path

from bitriver_lint.config import Config
from bitriver_lint.loaders.systemd import expand_specifiers, load, parse_unit_text, split_assignments
from bitriver_lint.model import Unknown
from bitriver_lint.workspace import Workspace


def test_sections_comments_and_continuations() -> None:
    unit = parse_unit_text(
        "# comment\n[Unit]\n; another\nAfter=a.service \\\n  # skipped inside a continuation\n  b.service\n"
        "[Service]\n  ExecStart=/bin/x --flag\n",
        "u.service",
    )
    assert [(d.section, d.key, d.value, str(d.location), d.value_location.column) for d in unit.directives] == [
        ("Unit", "After", "a.service  b.service", "u.service:4:1", 7),  # systemd keeps the space
        ("Service", "ExecStart", "/bin/x --flag", "u.service:8:3", 13),
    ]
    assert str(unit.sections["Service"]) == "u.service:7:1"


def test_garbage_lines_are_reported_and_the_rest_loads() -> None:
    unit = parse_unit_text("Orphan=1\n[Service]\nthis is not valid\nRestart=always\n", "g.service")
    assert [(d.message.split(":")[0], str(d.location)) for d in unit.diagnostics] == [
        ("assignment outside of any [Section]", "g.service:1:1"),
        ("not a Key=value assignment", "g.service:3:1"),
    ]
    assert [d.key for d in unit.directives] == ["Restart"]


def test_environment_quoting() -> None:
    assert split_assignments('"A=one two" B=3 \'C=x y\' junk') == [("A", "one two"), ("B", "3"), ("C", "x y")]


def test_specifiers() -> None:
    assert expand_specifiers("/etc/srs-%i.env %n %N %p %%", "srs@north.service", "north") == (
        "/etc/srs-north.env srs@north.service srs@north srs %"
    )
    unknown = expand_specifiers("%h/.config", "x.service", None)
    assert isinstance(unknown, Unknown) and unknown.names == ("%h",)
    assert isinstance(expand_specifiers("%i", "srs@.service", None), Unknown)


def _tree(tmp_path: Path, files: dict[str, str]) -> Workspace:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return Workspace(tmp_path)


def test_dropins_apply_in_lexical_order_and_empty_assignments_reset(tmp_path: Path) -> None:
    ws = _tree(tmp_path, {
        "u/api.service": "[Service]\nRestart=always\nEnvironment=A=1\nEnvironment=B=2\n",
        "u/api.service.d/20-b.conf": "[Service]\nRestart=no\nEnvironment=\nEnvironment=C=3\n",
        "u/api.service.d/10-a.conf": "[Service]\nRestart=on-failure\n",
    })
    files = ["u/api.service", "u/api.service.d/10-a.conf", "u/api.service.d/20-b.conf"]
    (tree,) = load(files, ws, Config())
    (unit,) = tree.units
    assert unit.dropins == ["u/api.service.d/10-a.conf", "u/api.service.d/20-b.conf"]
    restart = unit.last("Service", "Restart")
    assert restart is not None and (restart.value, str(restart.location)) == ("no", "u/api.service.d/20-b.conf:2:1")
    assert [d.value for d in unit.values("Service", "Environment")] == ["C=3"]


def test_template_instances_from_wants_and_env_files(tmp_path: Path) -> None:
    ws = _tree(tmp_path, {
        "sys/srs@.service": "[Service]\nEnvironmentFile=/etc/bitriver/srs-%i.env\nEnvironmentFile=-/etc/none.env\n",
        "etc/bitriver/srs-a.env": "SRS_LISTEN=1935\n",
    })
    (tmp_path / "sys/multi-user.target.wants").mkdir()
    (tmp_path / "sys/multi-user.target.wants/srs@a.service").symlink_to("/etc/systemd/system/srs@.service")
    (tmp_path / "sys/multi-user.target.wants/srs@b.service").symlink_to("/etc/systemd/system/srs@.service")
    (tree,) = load(["sys/srs@.service"], ws, Config())
    assert [(u.name, u.instance) for u in tree.units] == [("srs@a.service", "a"), ("srs@b.service", "b")]
    first, second = tree.units
    assert [(r.path, r.optional, r.resolved) for r in first.env_files] == [
        ("/etc/bitriver/srs-a.env", False, "etc/bitriver/srs-a.env"),
        ("/etc/none.env", True, None),
    ]
    assert second.env_files[0].resolved is None  # srs-b.env is not in the tree
    assert list(tree.env_files) == ["etc/bitriver/srs-a.env"]
