"""Issue 11 D15: one exit-code mapping (gait.errors), the CLI reads only the error's own code."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

import gait.errors as errors
from gait.cli.outcome import Exit, run_body
from gait.cli.output import envelope
from gait.errors import EXIT_CLASSES, GaitError, exit_class


def test_every_error_class_agrees_with_the_table() -> None:
    classes = [
        c
        for c in vars(errors).values()
        if isinstance(c, type) and issubclass(c, GaitError) and c is not GaitError
    ]
    assert errors.MissingDependency in classes
    direct = [c for c in classes if c.__bases__ == (GaitError,)]
    assert len(direct) >= 5
    for cls in direct:  # deeper subclasses may refine code/category (e.g. retryable ones)
        meaning = EXIT_CLASSES[cls.exit_code]
        assert (cls.code, cls.category) == (meaning.code, meaning.category), cls
    for cls in classes:
        assert cls.exit_code in EXIT_CLASSES, cls


@pytest.mark.parametrize("code", [*sorted(EXIT_CLASSES), 99])
def test_envelope_fills_error_fields_from_the_one_table(code: int) -> None:
    out = envelope({"error": "boom"}, code, ["gait", "x"])
    meaning = exit_class(code)
    assert (out["error_code"], out["error_category"], out["hint"]) == (
        meaning.code,
        meaning.category,
        meaning.hint,
    )
    assert out["ok"] is False


def _run(err: GaitError) -> tuple[int, dict[str, object]]:
    def body() -> object:
        raise err

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(Exit) as done:
        run_body("t", True, body)  # type: ignore[arg-type]
    return done.value.code, json.loads(out.getvalue())


def test_exit_code_and_error_code_come_from_the_error_not_its_type_or_words() -> None:
    # Worded like bad input, typed as the base class: the error's own fields decide.
    code, body = _run(
        GaitError("invalid input: x", exit_code=8, code="custom_code", category="cat")
    )
    assert code == 8
    assert body["error_code"] == "custom_code" and body["error_category"] == "cat"
    code, body = _run(errors.MissingDependency("redis extra not installed"))
    assert code == 7 and body["error_code"] == "dependency_missing"
