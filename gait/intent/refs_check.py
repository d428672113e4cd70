"""Context-evidence check of a runpack's refs.json, for ``verify``.

Kept apart from :mod:`gait.intent.envelope` so that a verify of refs that
claim no context set (most packs) returns without loading the envelope code.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["refs_context_errors"]


def refs_context_errors(refs: Mapping[str, Any]) -> list[str]:
    """Context-evidence problems of a runpack's refs.json, for ``verify``.

    Checked when the refs claim a context set with ``required`` evidence or
    carry receipts next to a context_set_digest: the receipts must still
    digest to that value. A digest without receipts in best_effort mode is a
    bare claim (nothing to check it against) and is left alone.
    """
    digest_text = str(refs.get("context_set_digest") or "").strip().lower()
    mode = str(refs.get("context_evidence_mode") or "").strip().lower()
    receipts = refs.get("receipts") or []
    if mode == "required" and not digest_text:
        return ["context evidence mode required but context_set_digest is missing"]
    if not digest_text or (not receipts and mode != "required"):
        return []
    from gait.errors import InvalidInput
    from gait.intent.envelope import envelope_from_refs

    try:
        envelope_from_refs(refs)
    except InvalidInput as err:
        return [f"refs: {err.message}"]
    return []
