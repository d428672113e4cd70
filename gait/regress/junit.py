"""JUnit XML that CI systems accept (regress.md §3.5).

GitHub Actions reporters, GitLab and Jenkins all read the same subset of the
"Ant" JUnit format: ``testsuites > testsuite > [properties] testcase >
failure``, with ``name``/``classname``/``time`` on each case and
``tests``/``failures``/``errors``/``skipped``/``time`` counters on both
container elements. That subset is all we write; every ``time`` is ``"0"`` so
the file is reproducible.

The text is built by hand (not with ElementTree) because the layout is part of
the contract: XML declaration line, two-space indentation, passing cases as an
empty ``<testcase …></testcase>`` element.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

__all__ = ["JUnitCase", "render_junit"]

_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'


@dataclass(frozen=True)
class JUnitCase:
    """One ``<testcase>``; ``failure`` (the message) is ``None`` when the case passed."""

    name: str
    classname: str
    failure: str | None = None
    detail: str = ""
    failure_type: str = "regress_failure"

    @property
    def failed(self) -> bool:
        return self.failure is not None


def _clean(text: str) -> str:
    """Drop characters XML 1.0 cannot carry at all (control characters other than tab/newline)."""
    return "".join(ch if _xml_char(ch) else "\ufffd" for ch in text)


def _xml_char(ch: str) -> bool:
    code = ord(ch)
    if code < 0x20:
        return ch in "\t\n\r"
    return not (0xD800 <= code <= 0xDFFF or code in (0xFFFE, 0xFFFF))


def _attr(value: str | int) -> str:
    return quoteattr(_clean(str(value)))


def render_junit(
    suite_name: str,
    cases: Sequence[JUnitCase],
    *,
    properties: Sequence[tuple[str, str]] = (),
) -> str:
    """The XML document (with trailing newline) for one suite of ``cases``, in the given order."""
    failures = sum(1 for c in cases if c.failed)
    counts = f'tests="{len(cases)}" failures="{failures}" errors="0" skipped="0" time="0"'
    lines = [
        _XML_DECLARATION,
        f"<testsuites {counts}>",
        f"  <testsuite name={_attr(suite_name)} {counts}>",
    ]
    if properties:
        lines.append("    <properties>")
        for key, value in properties:
            lines.append(f"      <property name={_attr(key)} value={_attr(value)}></property>")
        lines.append("    </properties>")
    for case in cases:
        head = f'<testcase name={_attr(case.name)} classname={_attr(case.classname)} time="0">'
        if not case.failed:
            lines.append(f"    {head}</testcase>")
            continue
        message = case.failure or ""
        body = escape(_clean(case.detail or message))
        lines.append(f"    {head}")
        lines.append(
            f"      <failure message={_attr(message)} type={_attr(case.failure_type)}>"
            f"{body}</failure>"
        )
        lines.append("    </testcase>")
    lines.append("  </testsuite>")
    lines.append("</testsuites>")
    return "\n".join(lines) + "\n"
