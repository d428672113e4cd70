"""Architecture: every JSON reader in gait/ goes through gait.safejson (issue 11 A6, B9).

Plain ``json.loads`` / ``json.load`` and msgspec's JSON decoder keep the last of
two equal keys and see ``"Verdict"`` and ``"verdict"`` as two fields, so the same
document would be read differently by different readers. This test finds each
such call (import aliases included) and fails unless it is in safejson.py or in
the allowlist below, whose every entry says why it is safe. Entries of kind
``CHECKED`` must also call ``check_duplicate_keys`` in the same function (or
module, for module-level decoders): a typed decode preceded by the rule.
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "gait"

WATCHED = {
    "json.loads",
    "json.load",
    "json.JSONDecoder",
    "json.decoder.JSONDecoder",
    "msgspec.json.decode",
    "msgspec.json.Decoder",
}

CHECKED = "typed or fast decode; the function runs check_duplicate_keys on the same bytes"
OWN_BYTES = "bytes gait itself encoded in the same process"

# (file, enclosing function or <module>, call) -> why it is safe
ALLOWED: dict[tuple[str, str, str], str] = {
    # the demo reads back the runpack members it has just built in memory
    ("gait/cli/demo.py", "_policy", "json.loads"): OWN_BYTES,
    # IntentRequest.to_dict copies its own dict through msgspec encode/decode
    ("gait/sdk/intents.py", "IntentRequest.to_dict", "msgspec.json.decode"): OWN_BYTES,
    # worker processes read the ServeConfig their parent gait encoded into the environment
    ("gait/serve/app.py", "app_from_environment", "msgspec.json.decode"): OWN_BYTES,
    # a DSL string token is one JSON string literal: no object, so no key to repeat
    ("gait/policy/dsl.py", "_json_string", "json.loads"): "a JSON string literal",
    # intents: decode_intent_bytes proves no repeat (or runs the full check) before use;
    # _decode_generic is only reached after that check
    ("gait/intent/decode.py", "<module>", "msgspec.json.Decoder"): CHECKED,
    ("gait/intent/decode.py", "_decode_generic", "json.loads"): (
        "fallback reached only from decode_intent_bytes, after _check_repeated_keys"
    ),
    # MCP/adapter payloads and the trust snapshot
    ("gait/mcp/decode.py", "<module>", "msgspec.json.Decoder"): CHECKED,
    ("gait/mcp/decode.py", "_json_object", "msgspec.json.decode"): CHECKED,
    ("gait/mcp/decode.py", "_object_arguments", "msgspec.json.decode"): CHECKED,
    ("gait/mcp/trust.py", "load_trust_snapshot", "msgspec.json.decode"): CHECKED,
    # runpack record members, decoded into Structs after the rule
    ("gait/runpack/reader.py", "_decode", "msgspec.json.decode"): CHECKED,
    ("gait/runpack/reader.py", "_decode_lines", "msgspec.json.decode"): CHECKED,
    ("gait/runpack/reader.py", "_decode_lines", "msgspec.json.Decoder"): CHECKED,
    ("gait/runpack/stream.py", "_decode_doc", "msgspec.json.decode"): CHECKED,
    ("gait/runpack/stream.py", "PackStream._records", "msgspec.json.Decoder"): CHECKED,
    ("gait/packs/source.py", "read_source_run", "msgspec.json.decode"): CHECKED,
    # verify's repeated-key check: a syntax-only decode (list of Raw) before the rule
    ("gait/runpack/verify.py", "_batch_finding", "msgspec.json.decode"): CHECKED,
    # HTTP request bodies: decode_request checks the body after the typed decode
    ("gait/serve/request.py", "<module>", "msgspec.json.Decoder"): CHECKED,
}


def _aliases(tree: ast.Module) -> dict[str, str]:
    names: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    names[alias.asname] = alias.name
                else:
                    top = alias.name.split(".")[0]
                    names[top] = top
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                names[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return names


def _dotted(node: ast.AST, names: dict[str, str]) -> str | None:
    if isinstance(node, ast.Name):
        return names.get(node.id, node.id)
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value, names)
        return f"{base}.{node.attr}" if base else None
    return None


def _calls(tree: ast.Module) -> list[tuple[str, str, int, set[str]]]:
    """(scope, watched call, line, names called in that scope) for each watched call."""
    names = _aliases(tree)
    found: list[tuple[str, str, int, ast.AST]] = []

    def visit(node: ast.AST, scope: str, owner: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            inner, inner_owner = scope, owner
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                inner = f"{scope}.{child.name}" if scope else child.name
                if not isinstance(child, ast.ClassDef):
                    inner_owner = child
            if isinstance(child, ast.Call):
                name = _dotted(child.func, names)
                if name in WATCHED:
                    found.append((scope or "<module>", name, child.lineno, owner))
            visit(child, inner, inner_owner)

    visit(tree, "", tree)
    out = []
    for scope, name, line, owner in found:
        called = {
            (n.func.id if isinstance(n.func, ast.Name) else n.func.attr)
            for n in ast.walk(owner)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name | ast.Attribute)
        }
        out.append((scope, name, line, called))
    return out


@functools.cache
def _scan() -> dict[tuple[str, str, str], list[tuple[int, set[str]]]]:
    hits: dict[tuple[str, str, str], list[tuple[int, set[str]]]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "gait/safejson.py":
            continue  # the rule itself
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
        for scope, name, line, called in _calls(tree):
            hits.setdefault((rel, scope, name), []).append((line, called))
    return hits


def test_every_json_reader_goes_through_safejson() -> None:
    hits = _scan()
    unexplained = [
        f"{rel}:{lines[0][0]} {name}() in {scope}"
        for (rel, scope, name), lines in sorted(hits.items())
        if (rel, scope, name) not in ALLOWED
    ]
    assert not unexplained, (
        "JSON read outside gait.safejson (use safejson.loads / loads_line, or a typed "
        "decode preceded by check_depth + check_duplicate_keys and an ALLOWED entry "
        "saying why):\n  " + "\n  ".join(unexplained)
    )


def test_checked_entries_really_run_the_duplicate_key_check() -> None:
    hits = _scan()
    missing = [
        f"{rel} {scope} {name}"
        for (rel, scope, name), why in ALLOWED.items()
        if why == CHECKED
        and (rel, scope, name) in hits
        and not all("check_duplicate_keys" in called for _line, called in hits[(rel, scope, name)])
    ]
    assert not missing, "allowed as CHECKED but no check_duplicate_keys call: " + ", ".join(missing)


def test_allowlist_has_no_stale_entries() -> None:
    hits = _scan()
    stale = [" ".join(key) for key in ALLOWED if key not in hits]
    assert not stale, "ALLOWED entries with no matching call (remove them): " + ", ".join(stale)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import json\njson.loads(b'{}')\n", ["json.loads"]),
        ("import json as j\ndef f():\n    return j.load(open('x'))\n", ["json.load"]),
        ("from json import loads as l\nl('1')\n", ["json.loads"]),
        ("import msgspec\nmsgspec.json.decode(b'1')\n", ["msgspec.json.decode"]),
        ("from msgspec import json\njson.Decoder(int)\n", ["msgspec.json.Decoder"]),
        ("import msgspec.json\nmsgspec.json.decode(b'1')\n", ["msgspec.json.decode"]),
        ("from gait.safejson import loads\nloads(b'1', 'x')\n", []),
    ],
)
def test_the_scan_sees_aliases(source: str, expected: list[str]) -> None:
    # the scan must not be fooled by an import alias (cli modules use "json as jsonlib")
    assert [name for _scope, name, _line, _called in _calls(ast.parse(source))] == expected
