"""The JSON report follows docs/report-schema.json for every fixture."""

from __future__ import annotations

import io
import json

import pytest
from conftest import FIXTURES, REPO, scan_tree

from bitriver_lint.reporters import json as json_reporter

jsonschema = pytest.importorskip("jsonschema")
SCHEMA = json.loads((REPO / "docs" / "report-schema.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fixture", sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))
def test_every_fixture_report_follows_the_schema(fixture: str) -> None:
    stream = io.StringIO()
    json_reporter.render(scan_tree(FIXTURES / fixture), stream)
    document = json.loads(stream.getvalue())
    jsonschema.validate(document, SCHEMA)
    assert document["schema_version"] == json_reporter.SCHEMA_VERSION == SCHEMA["properties"]["schema_version"]["const"]
