"""Gateway audit logs (Kong, Docker, MintMCP) turned into signed proof records.

See :mod:`gait.gateway.ingest` and docs/gateway.md for the record format.
"""

from __future__ import annotations

from gait.gateway.ingest import SOURCES, IngestResult, ingest_logs

__all__ = ["SOURCES", "IngestResult", "ingest_logs"]
