"""The single-rule fast path of evaluate() must give exactly what the general merge gives."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from gait.engine.evaluate import _apply_rule, _evaluate_single, _merge, _runtime, matching_tier
from gait.errors import IntentError
from gait.intent import normalize_intent, prepare_intent, read_intent_file
from gait.policy import compile_policy_file

REPO = Path(__file__).resolve().parents[2]
POLICIES = sorted(
    [
        *REPO.glob("policies/*.yaml"),
        *REPO.glob("examples/**/*.yaml"),
        *REPO.glob("tests/engine/data/**/*.yaml"),
    ]
)
INTENTS = sorted(
    p
    for p in [*REPO.glob("examples/**/*.json"), *REPO.glob("tests/engine/data/**/fixtures/*.json")]
    if "expect" not in p.name
)


def _fields(decision: object) -> dict[str, object]:
    out = msgspec.structs.asdict(decision)  # type: ignore[arg-type]
    out.pop("digest_cache")
    return out


@pytest.mark.parametrize("policy_path", POLICIES, ids=lambda p: p.name)
def test_fast_path_matches_general_merge(policy_path: Path) -> None:
    compiled = compile_policy_file(policy_path, use_cache=False)
    rt = _runtime(compiled)
    checked = 0
    for intent_path in INTENTS:
        try:
            intent = prepare_intent(normalize_intent(read_intent_file(intent_path)))
        except IntentError:  # fixtures that are not intents (expectations, records)
            continue
        if intent.script is not None:
            continue
        tier = matching_tier(rt, intent, compiled.ir)
        if not tier:
            continue
        general = _merge(compiled.ir, intent, [_apply_rule(r, intent) for r in tier])
        assert _fields(_evaluate_single(compiled.ir, rt, intent)) == _fields(general), (
            intent_path.name
        )
        checked += 1
    assert checked > 0
