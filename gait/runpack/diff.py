"""``run diff``: what changed between two runpacks (runpack.md §6.4).

The spec summary compares manifests, file sets, intents, results and refs
with the volatile fields (run_id, producer_version, created_at) blanked. On
top of it ``step_changes`` says, per intent_id present on both sides, what
moved: ``tool_name``, ``args``, ``status``, ``verdict`` and ``result_shape``
(the key/type skeleton of the result payload, when both packs carry one).

Records are compared through a sorted-key msgspec encoding rather than a
JCS digest: equality is all a diff needs, and it keeps large packs fast.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import msgspec

from gait.runpack.inspect import result_verdict, trace_receipts, verdict_of
from gait.runpack.model import ResultRecord
from gait.runpack.reader import Runpack
from gait.runpack.stream import (
    LazyList,
    RecordSource,
    aligned_first_results,
    materialize,
    source_of,
)

__all__ = ["PRIVACY_MODES", "diff_ok", "diff_runpacks", "diff_stream", "result_shape"]

PRIVACY_MODES = ("full", "metadata")
_VOLATILE = ("run_id", "producer_version", "created_at")
_ENCODER = msgspec.json.Encoder(order="sorted")


def _key(obj: Any) -> bytes:
    return _ENCODER.encode(obj)


def _blank(record: dict[str, Any], extra: tuple[str, ...] = ()) -> dict[str, Any]:
    out = dict(record)
    for name in (*_VOLATILE, *extra):
        if name in out:
            out[name] = ""
    return out


def _manifest_shape(raw: dict[str, Any]) -> dict[str, Any]:
    out = _blank(raw, ("manifest_digest",))
    out.pop("signatures", None)
    files = out.get("files")
    if isinstance(files, list):
        out["files"] = sorted(
            ({**f, "sha256": ""} if isinstance(f, dict) else f for f in files),
            key=lambda f: str(f.get("path", "")) if isinstance(f, dict) else "",
        )
    return out


def _file_paths(raw: dict[str, Any]) -> set[str]:
    files = raw.get("files")
    if not isinstance(files, list):
        return set()
    return {str(f.get("path", "")) for f in files if isinstance(f, dict)}


def _record_key(item: Any, drop: str | None) -> bytes:
    blanked = _blank(item.to_json(), (drop,) if drop else ())
    if drop:
        blanked.pop(drop, None)
    return _key(blanked)


def _digest_index(items: Iterator[Any], drop: str | None) -> dict[str, bytes]:
    """intent_id → 16-byte digest of its first record (blanked), never the record itself."""
    out: dict[str, bytes] = {}
    for item in items:
        if item.intent_id not in out:
            out[item.intent_id] = hashlib.blake2b(_record_key(item, drop), digest_size=16).digest()
    return out


def _close(iterator: Iterator[Any]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


def _compare(
    left: Callable[[], Iterator[Any]], right: Callable[[], Iterator[Any]], drop: str | None
) -> tuple[bool, list[str], list[str], bool]:
    """(changed, left-only ids, right-only ids, same order) of two record streams by intent_id.

    Records are compared first occurrence by first occurrence. When both sides
    list the same ids in the same order (the usual case) one walk in step
    decides it, holding the ids seen so far; otherwise each side is reduced to
    an index of per-record digests.
    """
    lit, rit = left(), right()
    seen: set[str] = set()
    changed = False
    same_order = True
    for lrec in lit:
        rrec = next(rit, None)
        if rrec is None or rrec.intent_id != lrec.intent_id:
            same_order = False
            break
        if lrec.intent_id in seen:
            continue
        seen.add(lrec.intent_id)
        if not changed and _record_key(lrec, drop) != _record_key(rrec, drop):
            changed = True
    else:
        same_order = next(rit, None) is None
    _close(lit)
    _close(rit)
    del seen
    if same_order:
        return changed, [], [], True
    lidx = _digest_index(left(), drop)
    ridx = _digest_index(right(), drop)
    return lidx != ridx, sorted(set(lidx) - set(ridx)), sorted(set(ridx) - set(lidx)), False


def _refs_class(left: RecordSource, right: RecordSource) -> tuple[bool, str, bool]:
    lraw = _blank(left.refs.to_json())
    rraw = _blank(right.refs.to_json())
    if _key(lraw) == _key(rraw):
        return False, "none", False

    def runtime_blanked(raw: dict[str, Any]) -> dict[str, Any]:
        out = dict(raw)
        out.pop("context_set_digest", None)
        out["receipts"] = [
            {**r, "retrieved_at": ""} if isinstance(r, dict) else r for r in out.get("receipts", [])
        ]
        return out

    if _key(runtime_blanked(lraw)) == _key(runtime_blanked(rraw)):
        return True, "runtime_only", True
    return True, "semantic", False


def result_shape(value: Any) -> Any:
    """The type skeleton of a JSON value: keys kept, leaves replaced by their type name."""
    if isinstance(value, dict):
        return {k: result_shape(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        shapes: list[Any] = []
        for item in value:
            shape = result_shape(item)
            if shape not in shapes:
                shapes.append(shape)
        return shapes
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


class _Outcome(NamedTuple):
    """What step changes need of a result: status, verdict, digest and payload shape."""

    status: str
    verdict: tuple[str, list[str], list[str]] | None
    result_digest: str
    shape: Any
    has_payload: bool


def _outcome(result: ResultRecord) -> _Outcome:
    payload = result.result
    shape = None
    if payload:
        inner = payload.get("result", payload) if isinstance(payload, dict) else payload
        shape = result_shape(inner)
    return _Outcome(
        result.status, result_verdict(result), result.result_digest, shape, bool(payload)
    )


def _step_changes(
    left: RecordSource, right: RecordSource, *, in_step: bool
) -> Iterator[dict[str, Any]]:
    """Per intent_id on both sides (left order, first occurrence): what moved."""
    lrec, rrec = trace_receipts(left), trace_receipts(right)
    if in_step:
        # Same unique ids in the same order, each result beside its intent: walk all four.
        pairs: Iterator[tuple[Any, Any, Any, Any]] = zip(
            left.intents(), right.intents(), left.results(), right.results(), strict=False
        )
        for li, ri, lres, rres in pairs:
            yield from _changes(li, ri, _outcome(lres), _outcome(rres), lrec, rrec)
        return
    rint: dict[str, tuple[str, str]] = {}
    for i in right.intents():
        rint.setdefault(i.intent_id, (i.tool_name, i.args_digest))
    lres_idx = _first_outcomes(left)
    rres_idx = _first_outcomes(right)
    seen: set[str] = set()
    for li in left.intents():
        found = rint.get(li.intent_id)
        if found is None or li.intent_id in seen:
            continue
        seen.add(li.intent_id)
        ri = _Ident(li.intent_id, *found)
        yield from _changes(
            li, ri, lres_idx.get(li.intent_id), rres_idx.get(li.intent_id), lrec, rrec
        )


class _Ident(NamedTuple):
    intent_id: str
    tool_name: str
    args_digest: str


def _first_outcomes(source: RecordSource) -> dict[str, _Outcome]:
    out: dict[str, _Outcome] = {}
    for result in source.results():
        if result.intent_id not in out:
            out[result.intent_id] = _outcome(result)
    return out


def _changes(
    li: Any,
    ri: Any,
    lr: _Outcome | None,
    rr: _Outcome | None,
    lrec: dict[str, Any],
    rrec: dict[str, Any],
) -> Iterator[dict[str, Any]]:
    intent_id = li.intent_id

    def change(name: str, lv: Any, rv: Any) -> dict[str, Any]:
        return {"intent_id": intent_id, "field": name, "left": lv, "right": rv}

    if li.tool_name != ri.tool_name:
        yield change("tool_name", li.tool_name, ri.tool_name)
    if li.args_digest.lower() != ri.args_digest.lower():
        yield change("args", li.args_digest, ri.args_digest)
    lstatus = lr.status if lr is not None else "missing_result"
    rstatus = rr.status if rr is not None else "missing_result"
    if lstatus != rstatus:
        yield change("status", lstatus, rstatus)
    lv = verdict_of(lr.verdict if lr is not None else None, lrec.get(intent_id))[0]
    rv = verdict_of(rr.verdict if rr is not None else None, rrec.get(intent_id))[0]
    if lv != rv:
        yield change("verdict", lv, rv)
    if (
        lr is not None
        and rr is not None
        and lr.has_payload
        and rr.has_payload
        and lr.result_digest != rr.result_digest
        and lr.shape != rr.shape
    ):
        yield change("result_shape", lr.shape, rr.shape)


def diff_runpacks(
    left: Runpack | RecordSource, right: Runpack | RecordSource, *, privacy: str = "full"
) -> dict[str, Any]:
    """The ``summary`` object of §6.4 (plus ``step_changes`` when non-empty)."""
    return materialize(diff_stream(source_of(left), source_of(right), privacy=privacy))


def diff_stream(
    left: RecordSource, right: RecordSource, *, privacy: str = "full"
) -> dict[str, Any]:
    """:func:`diff_runpacks` with ``step_changes`` as a :class:`LazyList`.

    ``step_changes`` is present only when non-empty, so changes are counted in
    one walk and produced again while written.
    """
    metadata = privacy == "metadata"
    manifest_changed = _key(_manifest_shape(left.manifest_raw)) != _key(
        _manifest_shape(right.manifest_raw)
    )
    lpaths, rpaths = _file_paths(left.manifest_raw), _file_paths(right.manifest_raw)
    files_changed = sorted(lpaths ^ rpaths)
    intents_changed, left_only_i, right_only_i, same_order = _compare(
        left.intents, right.intents, "args" if metadata else None
    )
    results_changed, left_only_r, right_only_r, _same = _compare(
        left.results, right.results, "result" if metadata else None
    )
    if metadata:
        refs_changed = len(left.refs.receipts or []) != len(right.refs.receipts or [])
        classification, runtime_only = "none", False
    else:
        refs_changed, classification, runtime_only = _refs_class(left, right)
    summary: dict[str, Any] = {
        "run_id_left": left.run_id,
        "run_id_right": right.run_id,
        "manifest_changed": manifest_changed,
        "files_changed": files_changed,
        "intents_changed": intents_changed,
        "results_changed": results_changed,
        "refs_changed": refs_changed,
        "left_only_intents": left_only_i,
        "right_only_intents": right_only_i,
        "left_only_results": left_only_r,
        "right_only_results": right_only_r,
        "context_drift_classification": classification,
        "context_runtime_only_changes": runtime_only,
    }
    # Same intent ids in the same order, each side's results beside their intents.
    in_step = same_order and aligned_first_results(left) and aligned_first_results(right)

    def changes() -> Iterator[dict[str, Any]]:
        for change in _step_changes(left, right, in_step=in_step):
            if metadata and change["field"] == "result_shape":
                continue
            yield change

    count = sum(1 for _change in changes())
    if count:
        summary["step_changes"] = LazyList(changes, count)
    return summary


def diff_ok(summary: dict[str, Any]) -> bool:
    """§6.4: identical when none of manifest/intents/results/refs changed."""
    return not (
        summary["manifest_changed"]
        or summary["intents_changed"]
        or summary["results_changed"]
        or summary["refs_changed"]
    )
