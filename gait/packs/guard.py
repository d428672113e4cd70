"""Evidence packs (``gait guard pack``, scout_packs.md §2) and incident packs (§3).

A pack is built from a runpack plus optional evidence files: every member is
canonical JSON derived from its inputs, the manifest hashes every member, and
the zip is written with the runpack writer, so the same inputs and the same
key give the same bytes. Nothing in a pack comes from the wall clock: its
times are the run's ``created_at``.
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gait.canonical import digest, sha256_hex
from gait.errors import InvalidInput
from gait.packs.common import jcs, read_json_file, unique_sorted, write_pack, zip_bytes
from gait.packs.verify import GUARD_MANIFEST_SCHEMA, PACK_MANIFEST, SCHEMA_VERSION, guard_pack_id

if TYPE_CHECKING:
    from gait.packs.source import SourceRun
    from gait.signing import KeyPair

__all__ = [
    "TEMPLATES",
    "GuardPackInputs",
    "GuardPackResult",
    "build_guard_pack",
    "normalize_template",
]

# template -> [(control_id, title, member types, path fragments)]
TEMPLATES: dict[str, list[tuple[str, str, tuple[str, ...], tuple[str, ...]]]] = {
    "soc2": [
        (
            "CC6.6",
            "Change Management Evidence",
            ("trace", "evidence"),
            ("approval_audit_", "credential_evidence_"),
        ),
        (
            "CC7.2",
            "Operational Monitoring",
            ("report",),
            ("regress_summary.json", "trace_summary.json"),
        ),
        (
            "CC8.1",
            "Incident Evidence Integrity",
            ("runpack", "evidence"),
            ("runpack_summary.json", "referenced_runpacks.json"),
        ),
    ],
    "pci": [
        ("PCI-10", "Audit Trail and Monitoring", ("trace", "report"), ("trace_summary.json",)),
        (
            "PCI-7",
            "Access and Approval Controls",
            ("evidence",),
            ("approval_audit_", "credential_evidence_"),
        ),
        (
            "PCI-12",
            "Incident Handling Evidence",
            ("runpack", "report"),
            ("runpack_summary.json", "regress_summary.json"),
        ),
    ],
    "incident_response": [
        (
            "IR-CHAIN",
            "Reconstruction Chain",
            ("runpack", "trace", "evidence"),
            (
                "runpack_summary.json",
                "trace_summary.json",
                "approval_audit_",
                "credential_evidence_",
            ),
        ),
        (
            "IR-ROOTCAUSE",
            "Root Cause and Regression",
            ("report",),
            ("regress_summary.json", "policy_digests.json"),
        ),
    ],
}


def normalize_template(template: str) -> str:
    """Lowercase; empty → ``soc2``; unknown → ``incident_response``."""
    text = (template or "").strip().lower()
    if not text:
        return "soc2"
    return text if text in TEMPLATES else "incident_response"


@dataclass
class GuardPackInputs:
    """What goes into a pack besides the runpack. Path lists are de-duplicated and sorted."""

    inventory: list[str] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    regress: list[str] = field(default_factory=list)
    approval_audit: list[str] = field(default_factory=list)
    credential_evidence: list[str] = field(default_factory=list)
    auto_discover: bool = True
    # incident packs only
    policy_digests: dict[str, Any] | None = None
    incident_window: dict[str, Any] | None = None


@dataclass
class GuardPackResult:
    path: str
    pack_id: str
    run_id: str
    template_id: str
    manifest: dict[str, Any]
    zip_bytes: bytes
    warnings: list[str] = field(default_factory=list)

    @property
    def controls(self) -> int:
        return len(self.manifest.get("control_index") or [])

    @property
    def rendered_artifacts(self) -> int:
        return len(self.manifest.get("rendered_artifacts") or [])


def _discover(directory: str, pattern: str) -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(directory, pattern)) if os.path.isfile(p))


def _object(path: str, what: str) -> dict[str, Any]:
    value = read_json_file(path, what)
    if not isinstance(value, dict):
        raise InvalidInput(f"{what} {path} must be a JSON object")
    return value


def _trace_summary(paths: list[str]) -> dict[str, Any]:
    traces = []
    counts: dict[str, int] = {}
    for path in paths:
        record = _object(path, "trace")
        verdict = str(record.get("verdict") or "")
        traces.append(
            {
                "trace_id": str(record.get("trace_id") or ""),
                "tool_name": str(record.get("tool_name") or ""),
                "verdict": verdict,
            }
        )
        counts[verdict] = counts.get(verdict, 0) + 1
    traces.sort(key=lambda t: (t["trace_id"], t["tool_name"], t["verdict"]))
    return {"traces": traces, "verdict_counts": counts, "total": len(traces)}


def _regress_summary(paths: list[str]) -> dict[str, Any]:
    results = []
    counts: dict[str, int] = {}
    for path in paths:
        record = _object(path, "regress result")
        graders = record.get("graders")
        status = str(record.get("status") or "")
        results.append(
            {
                "fixture_set": str(record.get("fixture_set") or ""),
                "status": status,
                "graders": len(graders) if isinstance(graders, list) else 0,
            }
        )
        counts[status] = counts.get(status, 0) + 1
    results.sort(key=lambda r: (r["fixture_set"], r["status"], r["graders"]))
    return {"results": results, "status_counts": counts, "total": len(results)}


def _controls(template: str, members: dict[str, str]) -> list[dict[str, Any]]:
    out = []
    for control_id, title, types, fragments in TEMPLATES[template]:
        paths = sorted(
            path
            for path, kind in members.items()
            if kind in types or any(fragment in path for fragment in fragments)
        )
        out.append({"control_id": control_id, "title": title, "evidence_paths": paths})
    return out


def _summary_lines(
    run_id: str,
    template_id: str,
    case_id: str,
    created_at: str,
    controls: list[dict[str, Any]],
    members: dict[str, bytes],
) -> list[str]:
    lines = [
        "Gait evidence pack",
        "",
        f"run_id: {run_id}",
        f"template: {template_id}",
        f"run created_at: {created_at}",
    ]
    if case_id.strip():
        lines.append(f"case_id: {case_id.strip()}")
    lines += ["", "controls:"]
    for control in controls:
        lines.append(f"  {control['control_id']} {control['title']}")
        lines += [f"    - {path}" for path in control["evidence_paths"]] or ["    (no evidence)"]
    lines += ["", "members (sha256):"]
    lines += [f"  {name}  {sha256_hex(members[name])}" for name in sorted(members)]
    return lines


def build_guard_pack(
    pack: SourceRun,
    inputs: GuardPackInputs,
    *,
    template: str = "soc2",
    case_id: str = "",
    sign_key: KeyPair | None = None,
    producer_version: str = "0.0.0-dev",
    render_pdf: bool = False,
) -> GuardPackResult:
    """Build the pack bytes (nothing is written). InvalidInput names any unusable input file."""
    template_id = normalize_template(template)
    run_id = pack.run_id
    created_at = pack.run.created_at or pack.manifest.created_at
    run_dir = os.path.dirname(os.path.abspath(pack.path))

    approval = unique_sorted(inputs.approval_audit)
    credential = unique_sorted(inputs.credential_evidence)
    if inputs.auto_discover or (not approval and not credential):
        found_approval = _discover(run_dir, "approval_audit_*.json")
        found_credential = _discover(run_dir, "credential_evidence_*.json")
        approval = approval or found_approval
        credential = credential or found_credential

    members: dict[str, bytes] = {}
    types: dict[str, str] = {}

    def add(name: str, kind: str, value: Any) -> None:
        members[name] = jcs(value)
        types[name] = kind

    receipts = sorted(pack.refs.receipts or [], key=lambda r: r.ref_id)
    add(
        "runpack_summary.json",
        "runpack",
        {
            "run_id": run_id,
            "manifest_digest": pack.manifest.manifest_digest,
            "capture_mode": pack.manifest.capture_mode,
            "intent_count": pack.intent_count,
            "result_count": pack.result_count,
            "receipt_count": len(receipts),
        },
    )
    add(
        "referenced_runpacks.json",
        "evidence",
        {
            "run_id": run_id,
            "references": len(receipts),
            "receipts": [
                {
                    "ref_id": r.ref_id,
                    "source_type": r.source_type,
                    "source_locator": r.source_locator,
                    "content_digest": r.content_digest,
                    "retrieved_at": r.retrieved_at,
                }
                for r in receipts
            ],
        },
    )
    for index, path in enumerate(unique_sorted(inputs.inventory), start=1):
        add(f"inventory_snapshot_{index:02d}.json", "evidence", read_json_file(path, "inventory"))
    traces = unique_sorted(inputs.traces)
    if traces:
        add("trace_summary.json", "trace", _trace_summary(traces))
    regress = unique_sorted(inputs.regress)
    if regress:
        add("regress_summary.json", "report", _regress_summary(regress))
    for index, path in enumerate(approval, start=1):
        add(f"approval_audit_{index:02d}.json", "evidence", read_json_file(path, "approval audit"))
    for index, path in enumerate(credential, start=1):
        add(
            f"credential_evidence_{index:02d}.json",
            "evidence",
            read_json_file(path, "credential evidence"),
        )
    if inputs.policy_digests is not None:
        add("policy_digests.json", "report", inputs.policy_digests)

    # Computed from the members so far, so neither file ever points at itself.
    controls = _controls(template_id, types)
    pointers = [
        {
            "pointer_id": f"ev_{index:03d}",
            "path": name,
            "type": types[name],
            "sha256": sha256_hex(members[name]),
        }
        for index, name in enumerate(sorted(members), start=1)
    ]
    add("control_index.json", "report", controls)
    add("evidence_pointers.json", "report", pointers)
    rendered = []
    if render_pdf:
        from gait.packs.pdf import render_text_pdf

        members["summary.pdf"] = render_text_pdf(
            _summary_lines(run_id, template_id, case_id, created_at, controls, members)
        )
        types["summary.pdf"] = "report"
        rendered = [
            {"format": "pdf", "path": "summary.pdf", "sha256": sha256_hex(members["summary.pdf"])}
        ]

    contents = [
        {"path": name, "sha256": sha256_hex(members[name]), "type": types[name]}
        for name in sorted(members)
    ]
    pack_id = guard_pack_id(run_id, contents)
    manifest: dict[str, Any] = {
        "schema_id": GUARD_MANIFEST_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created_at": created_at,
        "generated_at": created_at,
        "producer_version": producer_version,
        "pack_id": pack_id,
        "run_id": run_id,
        "template_id": template_id,
        "control_index": controls,
        "evidence_pointers": pointers,
        "contents": contents,
    }
    if case_id.strip():
        manifest["case_id"] = case_id.strip()
    if inputs.incident_window is not None:
        manifest["incident_window"] = inputs.incident_window
    if rendered:
        manifest["rendered_artifacts"] = rendered
    if sign_key is not None:
        from gait.signing import sign_digest

        manifest["signatures"] = [sign_digest(sign_key, digest(manifest))]
    members[PACK_MANIFEST] = jcs(manifest)
    return GuardPackResult(
        path="",
        pack_id=pack_id,
        run_id=run_id,
        template_id=template_id,
        manifest=manifest,
        zip_bytes=zip_bytes(members),
    )


def default_pack_path(pack: SourceRun, pack_id: str) -> str:
    return os.path.join(os.path.dirname(pack.path), f"evidence_pack_{pack_id}.zip")


def write_guard_pack(result: GuardPackResult, out: str) -> GuardPackResult:
    result.path = write_pack(out, result.zip_bytes)
    return result
