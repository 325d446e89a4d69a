"""The CLI freezes what the scan made before writing reports (see ``cli._write_reports``): the
cyclic collector would otherwise walk the whole scan again while reports are written and at exit,
which cost more CPU than writing most reports."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def test_scan_objects_are_frozen_before_reports() -> None:
    script = (
        "import gc, sys\n"
        "from bitriver_lint.cli import main\n"
        "main(['scan', sys.argv[1], '--exit-zero', '--no-cache', '-f', 'json', '-o', '/dev/null'])\n"
        "print(gc.get_freeze_count())\n"
    )
    tree = next(p for p in sorted(FIXTURES.iterdir()) if p.is_dir())
    out = subprocess.run([sys.executable, "-c", script, str(tree)], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip().splitlines()[-1]) > 0


def test_scan_objects_are_frozen_before_the_memo_pickles_the_report(tmp_path: Path) -> None:
    # Pickling 17,000 findings allocates enough to start full collections over the whole scan.
    script = (
        "import gc, sys\n"
        "from bitriver_lint import memo\n"
        "from bitriver_lint.cli import main\n"
        "store = memo.store\n"
        "def spy(*args, **kwargs):\n"
        "    print('frozen at store:', gc.get_freeze_count())\n"
        "    return store(*args, **kwargs)\n"
        "memo.store = spy\n"
        "main(['scan', sys.argv[1], '--exit-zero', '--cache-dir', sys.argv[2], '-f', 'json', '-o', '/dev/null'])\n"
    )
    tree = next(p for p in sorted(FIXTURES.iterdir()) if p.is_dir())
    out = subprocess.run([sys.executable, "-c", script, str(tree), str(tmp_path / "cache")],
                         capture_output=True, text=True, check=True)
    counts = [int(line.split(":")[1]) for line in out.stdout.splitlines() if line.startswith("frozen at store:")]
    assert len(counts) == 1 and counts[0] > 0
