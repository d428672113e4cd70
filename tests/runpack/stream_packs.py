"""Runpacks with every join shape inspect/diff/replay meet (shared by the stream tests)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gait.runpack.record import record_runpack, write_runpack
from gait.runpack.recorder import Recorder

T0 = "2026-02-05T00:00:00Z"


def _intent(n: int, tool: str = "tool.x", **extra: Any) -> dict[str, Any]:
    return {"intent_id": f"intent_{n}", "tool_name": tool, "args": {"n": n}, **extra}


def _result(n: int, **extra: Any) -> dict[str, Any]:
    return {"intent_id": f"intent_{n}", "status": "ok", "result": {"v": n}, **extra}


def write_pack(
    path: Path, run_id: str, intents: list[dict[str, Any]], results: list[dict[str, Any]], **kw: Any
) -> Path:
    write_runpack(
        path, record_runpack({"run_id": run_id, "created_at": T0}, intents, results, **kw)
    )
    return path


def gated_pack(path: Path, run_id: str, verdicts: dict[str, str], raw: bool = True) -> Path:
    ticks: Iterator[int] = iter(range(1000))
    rec = Recorder(
        run_id,
        capture_mode="raw" if raw else "reference",
        clock=lambda: f"2026-02-05T00:00:{next(ticks):02d}.5Z",
        context={"identity": "a", "workspace": "/w", "risk_class": "high"},
        gate=lambda intent: {"verdict": verdicts.get(intent["tool_name"], "allow")},
    )
    with rec:
        for tool in verdicts:
            with rec.step(tool, {"t": tool}) as step:
                if step.allowed:
                    step.ok({"done": tool, "items": [1, "a"]})
    rec.write(path)
    return path


def build_all(root: Path) -> dict[str, Path]:
    """name → runpack path: aligned, shuffled, duplicated, missing, unmatched, gated, empty."""
    root.mkdir(parents=True, exist_ok=True)
    n = 12
    packs = {
        "aligned": write_pack(
            root / "aligned.zip",
            "run_a",
            [_intent(i, "http.fetch" if i % 3 else "db.query") for i in range(n)],
            [_result(i) for i in range(n)],
            capture_mode="raw",
        ),
        "aligned_changed": write_pack(
            root / "aligned_changed.zip",
            "run_b",
            [_intent(i, "http.fetch" if i % 4 else "db.query") for i in range(n)],
            [_result(i, status="error" if i == 5 else "ok") for i in range(n)]
            + [_result(3, result={"v": "x"})],
            capture_mode="raw",
        ),
        "aligned_moved": write_pack(
            root / "aligned_moved.zip",
            "run_c",
            [_intent(i, "http.fetch" if i % 5 else "db.query") for i in range(n)],
            [
                _result(
                    i,
                    status="error" if i == 7 else "ok",
                    result={"v": str(i)} if i % 2 else {"v": i},
                )
                for i in range(n)
            ],
            capture_mode="raw",
        ),
        "shuffled": write_pack(
            root / "shuffled.zip",
            "run_s",
            [_intent(i) for i in (3, 1, 2, 0, 5, 4)],
            [_result(i, result={"v": [i], "k": {"a": i}}) for i in (0, 1, 2, 3, 4, 5)],
            capture_mode="raw",
        ),
        "messy": write_pack(
            root / "messy.zip",
            "run_m",
            [_intent(2), _intent(1), _intent(7, "queue.publish"), _intent(8, "mystery")],
            [_result(1), _result(1, status="error"), _result(9), _result(2, result={"v": "s"})],
            capture_mode="raw",
        ),
        "reference": write_pack(
            root / "reference.zip",
            "run_r",
            [_intent(i) for i in range(4)],
            [_result(i) for i in range(3)],
        ),
        "empty": write_pack(root / "empty.zip", "run_e", [], []),
        "gated": gated_pack(
            root / "gated.zip", "run_g", {"read": "allow", "write": "block", "pay": "allow"}
        ),
        "gated_ref": gated_pack(
            root / "gated_ref.zip",
            "run_g2",
            {"read": "allow", "write": "allow", "pay": "block"},
            raw=False,
        ),
    }
    return packs
