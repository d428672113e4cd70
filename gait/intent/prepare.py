"""Stripping context-evidence claims before evaluation (policy.md §10).

An intent may *claim* a context-set digest, evidence mode, context refs and a
context age; none of these is trusted unless ``gate eval --context-envelope``
supplies a verified envelope. Stripping them here (rather than ignoring them
in the engine) keeps the prepared intent's digest the one that traces and
approval tokens bind to.
"""

from __future__ import annotations

import msgspec

from gait.intent.model import Intent

__all__ = ["CONTEXT_AGE_KEY", "prepare_intent"]

CONTEXT_AGE_KEY = "context_age_seconds"
"""``auth_context`` key carrying the (unverified) context age claim."""


def prepare_intent(intent: Intent) -> Intent:
    """Return ``intent`` without context-evidence claims.

    The same object is returned when there is nothing to strip, so the raw and
    prepared digests trivially agree in the common case. ``auth_context``
    becomes ``None`` when removing the age claim empties it.
    """
    context = intent.context
    auth = context.auth_context
    has_age = bool(auth) and CONTEXT_AGE_KEY in auth  # type: ignore[operator]
    if not (
        context.context_set_digest
        or context.context_evidence_mode
        or context.context_refs
        or has_age
    ):
        return intent
    if has_age:
        auth = {k: v for k, v in auth.items() if k != CONTEXT_AGE_KEY} or None  # type: ignore[union-attr]
    stripped = msgspec.structs.replace(
        context,
        context_set_digest="",
        context_evidence_mode="",
        context_refs=(),
        auth_context=auth,
    )
    return msgspec.structs.replace(intent, context=stripped)
