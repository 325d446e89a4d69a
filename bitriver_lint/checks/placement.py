"""Placement checks: where components run (zones, subnets), how many and how big."""

from __future__ import annotations

from bitriver_lint.checks.base import pending

API_DB_COLOCATION = pending("placement.api_db_colocation", "API next to PostgreSQL")
LOCAL_STATE = pending("placement.local_state", "Single node keeps its state local")
TRUSTED_SUBNET = pending("placement.trusted_subnet", "Origins on a trusted subnet")
API_REDUNDANCY = pending("placement.api_redundancy", "Two API instances per region")
SIZING = pending("placement.sizing", "Hosts sized as the guide says")
GPU_TRANSCODING = pending("placement.gpu_transcoding", "GPU-backed transcoders")
