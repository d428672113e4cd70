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

from typing import Any

import msgspec

from gait.runpack.inspect import step_verdict, trace_receipts
from gait.runpack.reader import Runpack

__all__ = ["PRIVACY_MODES", "diff_runpacks", "result_shape"]

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


def _records(items: list[Any], drop: str | None) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    for item in items:
        body = item.to_json()
        extra = (drop,) if drop else ()
        blanked = _blank(body, extra)
        if drop:
            blanked.pop(drop, None)
        out.setdefault(item.intent_id, _key(blanked))
    return out


def _refs_class(left: Runpack, right: Runpack) -> tuple[bool, str, bool]:
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


def _step_changes(left: Runpack, right: Runpack) -> list[dict[str, Any]]:
    lres = {}
    for r in left.results:
        lres.setdefault(r.intent_id, r)
    rres = {}
    for r in right.results:
        rres.setdefault(r.intent_id, r)
    lrec, rrec = trace_receipts(left), trace_receipts(right)
    rint = {}
    for i in right.intents:
        rint.setdefault(i.intent_id, i)
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for li in left.intents:
        ri = rint.get(li.intent_id)
        if ri is None or li.intent_id in seen:
            continue
        seen.add(li.intent_id)

        def add(name: str, lv: Any, rv: Any, intent_id: str = li.intent_id) -> None:
            changes.append({"intent_id": intent_id, "field": name, "left": lv, "right": rv})

        if li.tool_name != ri.tool_name:
            add("tool_name", li.tool_name, ri.tool_name)
        if li.args_digest.lower() != ri.args_digest.lower():
            add("args", li.args_digest, ri.args_digest)
        lr, rr = lres.get(li.intent_id), rres.get(li.intent_id)
        lstatus = lr.status if lr is not None else "missing_result"
        rstatus = rr.status if rr is not None else "missing_result"
        if lstatus != rstatus:
            add("status", lstatus, rstatus)
        lv = step_verdict(lr, lrec.get(li.intent_id))[0]
        rv = step_verdict(rr, rrec.get(li.intent_id))[0]
        if lv != rv:
            add("verdict", lv, rv)
        if (
            lr is not None
            and rr is not None
            and lr.result
            and rr.result
            and lr.result_digest != rr.result_digest
        ):
            lshape = result_shape(lr.result.get("result", lr.result))
            rshape = result_shape(rr.result.get("result", rr.result))
            if lshape != rshape:
                add("result_shape", lshape, rshape)
    return changes


def diff_runpacks(left: Runpack, right: Runpack, *, privacy: str = "full") -> dict[str, Any]:
    """The ``summary`` object of §6.4 (plus ``step_changes`` when non-empty)."""
    metadata = privacy == "metadata"
    manifest_changed = _key(_manifest_shape(left.manifest_raw)) != _key(
        _manifest_shape(right.manifest_raw)
    )
    lpaths, rpaths = _file_paths(left.manifest_raw), _file_paths(right.manifest_raw)
    files_changed = sorted(lpaths ^ rpaths)
    li = _records(left.intents, "args" if metadata else None)
    ri = _records(right.intents, "args" if metadata else None)
    lr = _records(left.results, "result" if metadata else None)
    rr = _records(right.results, "result" if metadata else None)
    intents_changed = li != ri
    results_changed = lr != rr
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
        "left_only_intents": sorted(set(li) - set(ri)),
        "right_only_intents": sorted(set(ri) - set(li)),
        "left_only_results": sorted(set(lr) - set(rr)),
        "right_only_results": sorted(set(rr) - set(lr)),
        "context_drift_classification": classification,
        "context_runtime_only_changes": runtime_only,
    }
    changes = _step_changes(left, right)
    if metadata:
        changes = [c for c in changes if c["field"] != "result_shape"]
    if changes:
        summary["step_changes"] = changes
    return summary


def diff_ok(summary: dict[str, Any]) -> bool:
    """§6.4: identical when none of manifest/intents/results/refs changed."""
    return not (
        summary["manifest_changed"]
        or summary["intents_changed"]
        or summary["results_changed"]
        or summary["refs_changed"]
    )
