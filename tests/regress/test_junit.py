"""JUnit rendering (regress.md §3.5)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from gait.regress.junit import JUnitCase, render_junit

SPEC_EXAMPLE = """\
<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="2" failures="1" errors="0" skipped="0" time="0">
  <testsuite name="gait.regress.default" tests="2" failures="1" errors="0" skipped="0" time="0">
    <testcase name="diff" classname="run_demo" time="0">
      <failure message="unexpected_diff" type="regress_failure">unexpected_diff</failure>
    </testcase>
    <testcase name="expected_exit_code" classname="run_demo" time="0"></testcase>
  </testsuite>
</testsuites>
"""


def test_layout_matches_the_spec_byte_for_byte() -> None:
    cases = [
        JUnitCase("diff", "run_demo", failure="unexpected_diff"),
        JUnitCase("expected_exit_code", "run_demo"),
    ]
    assert render_junit("gait.regress.default", cases) == SPEC_EXAMPLE


def test_markup_and_control_characters_are_escaped_into_well_formed_xml() -> None:
    nasty = 'a<b>&"c"\x00\x1b\ud800'
    text = render_junit(
        nasty,
        [JUnitCase(nasty, nasty, failure=nasty, detail=nasty + "\nline2")],
        properties=[(nasty, nasty)],
    )
    text.encode("utf-8")  # no lone surrogates survive
    root = ET.fromstring(text.encode("utf-8"))
    suite = root.find("testsuite")
    assert suite is not None
    case = suite.find("testcase")
    assert case is not None
    assert case.get("name") == 'a<b>&"c"\ufffd\ufffd\ufffd'
    failure = case.find("failure")
    assert failure is not None
    assert failure.text == 'a<b>&"c"\ufffd\ufffd\ufffd\nline2'
    prop = suite.find("properties/property")
    assert prop is not None and prop.get("value") == case.get("name")


def test_empty_suite_is_still_valid() -> None:
    root = ET.fromstring(render_junit("s", []).encode("utf-8"))
    assert root.get("tests") == "0"
    assert root.find("testsuite").get("failures") == "0"  # type: ignore[union-attr]
