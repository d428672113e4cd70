"""Issue 11 A8: context safety checks hold in the runpack library, not only in the CLI."""

from __future__ import annotations

import pytest

from gait.errors import InvalidInput
from gait.runpack.record import record_runpack
from gait.runpack.recorder import Recorder

RUN = {"run_id": "run_safety"}
RAW_RECEIPT = {
    "ref_id": "r1",
    "source_type": "doc",
    "source_locator": "s3://x",
    "query_digest": "a" * 64,
    "content_digest": "b" * 64,
    "redaction_mode": "raw",
}


def test_record_runpack_refuses_raw_receipts() -> None:
    with pytest.raises(InvalidInput, match="redaction_mode=raw"):
        record_runpack(RUN, refs={"receipts": [RAW_RECEIPT]})
    allowed = record_runpack(RUN, refs={"receipts": [RAW_RECEIPT]}, unsafe_context_raw=True)
    assert allowed.run_id == "run_safety"


def test_record_runpack_refuses_required_evidence_without_digest() -> None:
    with pytest.raises(InvalidInput, match="context_set_digest is missing"):
        record_runpack(RUN, refs={"context_evidence_mode": "required"})
    ok = record_runpack(
        RUN, refs={"context_evidence_mode": "required", "context_set_digest": "c" * 64}
    )
    assert ok.run_id == "run_safety"


def test_recorder_add_ref_refuses_raw_unless_allowed() -> None:
    rec = Recorder("run_rec")
    with pytest.raises(InvalidInput, match="redaction_mode=raw"):
        rec.add_ref(
            "r1", source_type="doc", source_locator="x", query_digest="a" * 64,
            content_digest="b" * 64, redaction_mode="raw",
        )  # fmt: skip
    allowed = Recorder("run_rec2", unsafe_context_raw=True)
    allowed.add_ref(
        "r1", source_type="doc", source_locator="x", query_digest="a" * 64,
        content_digest="b" * 64, redaction_mode="raw",
    )  # fmt: skip
    assert allowed.build().run_id == "run_rec2"
