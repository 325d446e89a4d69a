"""Errors the CLI turns into one line and exit code 2. Kept free of heavy imports, since the
CLI needs them before it knows whether it will scan at all (``--version``, ``--help``)."""

from __future__ import annotations


class ConfigError(Exception):
    """A configuration problem, phrased as one line that names the key."""
