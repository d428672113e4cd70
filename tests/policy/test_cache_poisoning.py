"""Issue 11 A1: nothing in the compile-cache directory can change a verdict.

The attacker model: someone who can write the cache directory (``$GAIT_CACHE_DIR``,
``~/.cache/gait``) but not the policy, the intent or gait itself. They rewrite
every file there, plant forged decision tables where gait used to look for them,
and plant a pickle where Lark used to keep its grammar cache. A fresh compile
must decide exactly as a compile with no cache at all, and no pickle is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gait import __version__
from gait.engine import evaluate
from gait.intent import decode_intent_bytes, normalize_intent
from gait.policy import compile_policy
from gait.policy.ir import PolicyIR
from gait.resources import grammar_text

REPO = Path(__file__).resolve().parents[2]

TOOLS = ["fs.read", "fs.write", "fs.delete", "http.post"]
VERDICTS = ["allow", "block", "dry_run", "require_approval"]
CLASSES = ["fs.read", "fs.write", "fs.delete", "net.http"]


@contextmanager
def cache_env(directory: Path | None) -> Iterator[None]:
    """Point the process at ``directory`` as its cache (``None``: caching disabled)."""
    keys = ("GAIT_CACHE_DIR", "GAIT_NO_CACHE")
    old = {k: os.environ.get(k) for k in keys}
    if directory is None:
        os.environ["GAIT_NO_CACHE"] = "1"
    else:
        os.environ["GAIT_CACHE_DIR"] = str(directory)
        os.environ.pop("GAIT_NO_CACHE", None)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def legacy_entry(cache_root: Path, source: bytes, kind: str = "yaml") -> Path:
    """Where gait 0.1.0 stored (and trusted) the compiled table of ``source``."""
    h = hashlib.sha256()
    for part in (
        __version__.encode(),
        kind.encode(),
        hashlib.sha256(grammar_text().encode()).digest(),
    ):
        h.update(part)
        h.update(b"\x00")
    h.update(source)
    return cache_root / "ir" / f"{h.hexdigest()}.msgpack"


def forged_table(genuine: PolicyIR, verdict: str) -> bytes:
    """The genuine table with every effect and the default rewritten: same digest."""
    rows = tuple(msgspec.structs.replace(r, effect=verdict) for r in genuine.rows)
    forged = msgspec.structs.replace(genuine, rows=rows, default_verdict=verdict)
    return msgspec.msgpack.encode(forged)


class _Marker:
    """Unpickling this creates a directory: proof that a planted pickle was loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.mkdir, (self.path,))


def plant(cache_root: Path, source: bytes, genuine: PolicyIR, verdict: str, marker: Path) -> None:
    """Overwrite everything under ``cache_root`` and plant forged entries."""
    table = forged_table(genuine, verdict)
    cache_root.mkdir(parents=True, exist_ok=True)
    for path in [p for p in cache_root.rglob("*") if p.is_file()]:
        path.write_bytes(table)
    entry = legacy_entry(cache_root, source)
    entry.parent.mkdir(parents=True, exist_ok=True)
    entry.write_bytes(table)
    # Lark's cache file: a header line, then pickles (loaded before any check).
    lark_cache = b"0" * 64 + b"\n" + pickle.dumps(_Marker(str(marker)))
    (cache_root / "gait-lark-grammar.cache").write_bytes(lark_cache)


rule = st.fixed_dictionaries(
    {
        "name": st.from_regex(r"r[a-z0-9]{1,6}", fullmatch=True),
        "priority": st.integers(min_value=0, max_value=5),
        "effect": st.sampled_from(VERDICTS),
        "match": st.one_of(
            st.fixed_dictionaries({"tool_names": st.lists(st.sampled_from(TOOLS), max_size=2)}),
            st.fixed_dictionaries(
                {"endpoint_classes": st.lists(st.sampled_from(CLASSES), min_size=1, max_size=2)}
            ),
        ),
    }
)
policies = st.fixed_dictionaries(
    {
        "schema_id": st.just("gait.gate.policy"),
        "schema_version": st.just("1.0.0"),
        "default_verdict": st.sampled_from(VERDICTS),
        "rules": st.lists(rule, max_size=4, unique_by=lambda r: r["name"]),
    }
)
intents = st.builds(
    lambda tool, cls: {
        "tool_name": tool,
        "args": {"path": "/w/x"},
        "targets": [{"kind": "path", "value": "/w/x", "endpoint_class": cls}],
        "context": {"identity": "bot", "workspace": "/w", "risk_class": "low"},
    },
    st.sampled_from(TOOLS),
    st.sampled_from(CLASSES),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(policy=policies, intent=intents, forged=st.sampled_from(VERDICTS))
def test_tampered_cache_never_changes_a_verdict(
    policy: dict[str, object], intent: dict[str, object], forged: str
) -> None:
    source = json.dumps(policy).encode()  # JSON is YAML
    request = normalize_intent(decode_intent_bytes(json.dumps(intent).encode()))
    with cache_env(None):
        truth = compile_policy(source)
    expected = evaluate(truth, request)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "cache"
        marker = Path(tmp) / "pickle-was-loaded"
        with cache_env(root):
            compile_policy(source)  # whatever a normal run leaves behind
            plant(root, source, truth.ir, forged, marker)
            fresh = compile_policy(source)
        decided = evaluate(fresh, request)
        assert not marker.exists()
    assert fresh.ir == truth.ir
    assert (decided.verdict, decided.reason_codes) == (expected.verdict, expected.reason_codes)


def test_cli_block_stays_block_with_a_poisoned_cache(tmp_path: Path) -> None:
    """The issue's reproduction, end to end: exit 3 stays exit 3, no pickle is loaded."""
    policy = REPO / "examples" / "policy" / "base_high_risk.yaml"
    intent = REPO / "examples" / "policy" / "intents" / "intent_delete.json"
    root = tmp_path / "cache"
    marker = tmp_path / "pickle-was-loaded"
    env = {k: v for k, v in os.environ.items() if k != "GAIT_NO_CACHE"}
    env["GAIT_CACHE_DIR"] = str(root)
    argv = [sys.executable, "-m", "gait.cli.main", "policy", "test", str(policy), str(intent)]

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*argv, "--json"], env=env, capture_output=True, text=True, timeout=60, check=False
        )

    first = run()
    assert first.returncode == 3, first.stderr
    with cache_env(None):
        genuine = compile_policy(policy.read_bytes(), path=str(policy)).ir
    plant(root, policy.read_bytes(), genuine, "allow", marker)
    second = run()
    assert second.returncode == 3, second.stdout
    assert json.loads(second.stdout)["verdict"] == "block"
    assert json.loads(second.stdout)["policy_digest"] == json.loads(first.stdout)["policy_digest"]
    assert not marker.exists()
    # A cold start whose only cache content is the planted pickle loads nothing either.
    for path in root.rglob("*"):
        if path.is_file() and path.name != "gait-lark-grammar.cache":
            path.unlink()
    third = run()
    assert third.returncode == 3, third.stdout
    assert not marker.exists()
