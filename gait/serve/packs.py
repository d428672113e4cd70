"""Run packs for served decisions (serve_sdk.md §3.2 ``pack_out`` / ``emit_pack`` / ``--pack-dir``).

A pack wraps the decision's one-intent runpack and is signed with the gate's
trace key, so the pack and the trace verify with the same public key.
"""

from __future__ import annotations

import os
import re
import tempfile
from typing import Any

__all__ = ["READ_ONLY_TOKENS", "check_pack_out", "is_state_changing", "write_decision_pack"]

READ_ONLY_TOKENS = frozenset(
    ("read", "list", "query", "search", "inspect", "get", "fetch", "head", "describe")
)
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")


def is_state_changing(intent: Any) -> bool:
    """True unless every target operation (or, without any, a tool-name token) is read-only.

    ``tool.read`` and ``repo.list_files`` are reads; ``tool.write`` or a target
    with operation ``delete`` change state. Unknown means state-changing (a pack
    too many is cheaper than a missing one).
    """
    operations = {t.operation.strip().lower() for t in intent.targets if t.operation.strip()}
    if operations:
        return not operations <= READ_ONLY_TOKENS
    tokens = set(_TOKEN_SPLIT.split(intent.tool_name.lower()))
    return not (tokens & READ_ONLY_TOKENS)


def check_pack_out(out: str) -> None:
    """Refuse a relative pack path with a ``..`` segment; checked before deciding.

    Shared by ``mcp serve`` (a client's ``pack_out``) and ``mcp proxy --pack-out``.
    """
    from gait.errors import InvalidInput

    path = out.strip()
    if path and not os.path.isabs(path) and ".." in path.replace("\\", "/").split("/"):
        raise InvalidInput("relative pack output path must not traverse parent directories")


def write_decision_pack(gate: Any, result: Any, out: str) -> tuple[str, str]:
    """Write the run pack of ``result`` (a ProxyResult) to ``out``; returns (path, pack_id).

    The one pack builder of ``mcp serve`` and ``mcp proxy --pack-out`` (it sits
    here, above both gait.mcp and gait.packs, which may not import each other,
    and imports no web framework).
    """
    from gait import __version__
    from gait.mcp.proxy import build_runpack
    from gait.packs.common import write_pack
    from gait.packs.source import read_source_run
    from gait.packs.unified import build_run_pack
    from gait.runpack.record import write_runpack

    with tempfile.TemporaryDirectory(prefix="gait-decision-pack-") as tmp:
        source = result.runpack_path or write_runpack(
            os.path.join(tmp, "runpack.zip"),
            build_runpack(result.call, result.gate_result, result.run_id),
        )
        built = build_run_pack(
            read_source_run(source), sign_key=gate.signing_key, producer_version=__version__
        )
    return write_pack(out, built.zip_bytes), built.pack_id
