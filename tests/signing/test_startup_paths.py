"""Start-up shortcuts in gait.signing give the same answers as the general code (issue 12)."""

from __future__ import annotations

import calendar
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

import gait.signing
from gait.signing import KeyPair, generate_keypair
from gait.signing.timestamps import _timegm, parse_rfc3339, to_rfc3339


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)))
def test_timegm_equals_calendar_timegm(moment: datetime) -> None:
    fields = moment.timetuple()[:6]
    assert _timegm(*fields) == calendar.timegm(moment.timetuple())


@given(
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31)),
    st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59),
)
def test_aware_times_render_as_before(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    seconds = calendar.timegm(aware.utctimetuple())
    text = to_rfc3339(aware)
    assert parse_rfc3339(text) == (seconds, aware.microsecond * 1000)


def test_parse_rfc3339_offsets_match_calendar() -> None:
    assert parse_rfc3339("1970-01-01T00:00:00Z") == (0, 0)
    assert parse_rfc3339("2024-02-29T12:30:00.123456789+02:30") == (
        calendar.timegm((2024, 2, 29, 10, 0, 0, 0, 0, 0)),
        123456789,
    )
    assert parse_rfc3339("0001-01-01T00:00:00Z")[0] == calendar.timegm((1, 1, 1, 0, 0, 0))
    assert to_rfc3339(datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2025-01-02T03:04:05.000006Z"


def test_every_public_name_resolves_to_its_submodule() -> None:
    for name in gait.signing.__all__:
        value = getattr(gait.signing, name)
        module = sys.modules[f"gait.signing.{gait.signing._WHERE[name]}"]
        assert value is getattr(module, name), name
    assert set(gait.signing.__all__) == set(gait.signing._WHERE)
    assert set(gait.signing.__all__) <= set(dir(gait.signing))


def test_unknown_name_is_an_attribute_error() -> None:
    try:
        gait.signing.no_such_name  # noqa: B018
    except AttributeError as err:
        assert "no_such_name" in str(err)
    else:
        raise AssertionError("expected AttributeError")


def test_timestamps_alone_do_not_load_keys_or_crypto() -> None:
    code = (
        "import sys; from gait.signing import now_rfc3339; now_rfc3339(); "
        "print(sorted(m for m in sys.modules if m.startswith(('gait.signing.', 'cryptography', "
        "'calendar', 'dataclasses'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "['gait.signing.timestamps']"


def test_keypair_keeps_value_semantics() -> None:
    key = generate_keypair()
    same = KeyPair(key.public, key.private, key.key_id, key.source)
    assert same == key
    assert KeyPair(key.public, None, key.key_id, "derived") != key
    assert repr(key).startswith("KeyPair(public=")
    try:
        key.source = "other"  # type: ignore[misc]
    except AttributeError:
        pass
    else:
        raise AssertionError("KeyPair must stay immutable")
