"""Reading policy sources: YAML with source positions, strict decoding into the model.

Positions map a path inside the document (``("rules", 0, "effect")``) to the
1-based line and column of its value, so every error can name file:line:col
and the field.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec

from gait.errors import Location, PolicyError
from gait.policy.model import Policy
from gait.safejson import MAX_DEPTH, MAX_INT_DIGITS, deep_recursion

PathKey = tuple[str | int, ...]
Positions = dict[PathKey, tuple[int, int]]

MAX_POLICY_BYTES = 32 * 1024 * 1024
KEY_MARK = "\x00key"
_MAX_NODES = 2_500_000

LEGACY_KEYS: tuple[tuple[str, str, str], ...] = (
    (
        "version",
        "schema_id|schema_version",
        "set schema_id=gait.gate.policy and schema_version=1.0.0",
    ),
    ("name", "", "drop the top-level name; name individual rules instead"),
    ("boundaries", "rules|mcp_trust", "express boundaries as rules or mcp_trust"),
    ("defaults", "default_verdict|fail_closed", "use default_verdict and fail_closed"),
    ("trust_sources", "mcp_trust.snapshot", "point mcp_trust.snapshot at a trust snapshot"),
    ("unknown_server", "mcp_trust.action", "use mcp_trust.action for unknown servers"),
)


def field_name(path: PathKey) -> str:
    """``("rules", 0, "match", "tool_names")`` → ``rules[0].match.tool_names``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def locate(path_name: str, positions: Mapping[PathKey, tuple[int, int]], path: PathKey) -> Location:
    """Best location for ``path``: the node itself or its closest ancestor."""
    probe = tuple(path)
    while probe:
        if probe in positions:
            line, col = positions[probe]
            return Location(path_name, line, col, field_name(path))
        probe = probe[:-1]
    pos = positions.get((), (0, 0))
    return Location(path_name, pos[0], pos[1], field_name(path))


def read_policy_bytes(path: str | os.PathLike[str]) -> bytes:
    from gait.fsutil import go_os_error, path_text, read_regular_file

    p = path_text(path)  # what pathlib.Path(path) would name, without loading pathlib
    try:
        if os.path.isdir(p):  # an error it swallows is raised again by os.stat below
            raise IsADirectoryError(21, "is a directory")
        size = os.stat(p).st_size
        if size > MAX_POLICY_BYTES:
            raise PolicyError(
                f"read policy: {p} is {size} bytes; policies are limited to {MAX_POLICY_BYTES} bytes"
            )
        # not a plain read: /dev/zero would never end and a FIFO would block forever
        return read_regular_file(p, MAX_POLICY_BYTES)
    except OSError as err:
        raise PolicyError(f"read policy: {go_os_error(str(path), err)}") from err


def decode_text(data: bytes, path_name: str) -> str:
    if len(data) > MAX_POLICY_BYTES:
        raise PolicyError(f"read policy: policies are limited to {MAX_POLICY_BYTES} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise PolicyError(
            f"parse policy yaml: file is not UTF-8 text (byte {err.start})",
            location=Location(path_name),
        ) from err
    return text.removeprefix("\ufeff")


# ---------------------------------------------------------------- YAML ---

_INT_RE = re.compile(r"^[-+]?(0|[1-9][0-9]*)$")
_INT_OTHER_RE = re.compile(r"^(0o[0-7]+|0x[0-9a-fA-F]+)$")
_FLOAT_RE = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_SPECIAL_FLOATS = {".inf": float("inf"), "+.inf": float("inf"), "-.inf": float("-inf")}


def _scalar(node: Any) -> Any:
    """YAML 1.2 core-schema scalars (as the reference's YAML library reads them)."""
    value = node.value
    if node.style is not None and node.style in ("'", '"', "|", ">"):
        return value
    tag = node.tag
    if tag != "tag:yaml.org,2002:str" and not tag.startswith("tag:yaml.org,2002:"):
        return value
    if tag == "tag:yaml.org,2002:str" and node.style is not None:
        return value
    return _core_scalar(value)


def _core_scalar(value: str) -> Any:
    """A plain scalar's value under the YAML 1.2 core schema (``value`` itself if a string)."""
    low = value.lower()
    if value in ("", "~") or low == "null":
        return None
    if low in ("true", "false"):
        return low == "true"
    if _INT_RE.match(value):
        return int(value)
    if _INT_OTHER_RE.match(value):
        return int(value, 0)
    if _FLOAT_RE.match(value) and any(c.isdigit() for c in value):
        return float(value)
    if low in _SPECIAL_FLOATS:
        return _SPECIAL_FLOATS[low]
    if low == ".nan":
        return float("nan")
    return value


class _ScalarText(str):
    """Original text of a non-string scalar, kept for string-typed fields."""


def load_yaml(
    text: str, path_name: str
) -> tuple[Any, Mapping[PathKey, tuple[int, int]], Mapping[PathKey, str]]:
    """Parse one YAML document into plain values, positions and raw scalar texts.

    Positions and raw texts are only read when something needs reporting (or
    by ``policy fmt``): they are built on first use, from a second reading of
    ``text``, so a valid policy pays for neither. Text in the plain shape most
    policies have is read without libyaml (gait/policy/_yaml_lite.py).
    """
    from gait.policy import _yaml_lite

    plain = _yaml_lite.read(text, _MAX_NODES)
    if plain is not None:
        detail = _LazyDetail(text, None, path_name)
        return plain, _LazyView(detail, 0), _LazyView(detail, 1)
    import yaml

    loader_cls = _loader_class(yaml)
    node = _compose(yaml, text, loader_cls, path_name)
    if node is None:
        return {}, {}, {}
    try:
        with deep_recursion(MAX_DEPTH):
            value = _plain_values(node)
    except _Irregular:
        # something to report: the walk with positions raises it at the right place
        value, positions, texts = _walk_with_positions(node, path_name)
        return value, positions, texts
    del node
    detail = _LazyDetail(text, loader_cls, path_name)
    return value, _LazyView(detail, 0), _LazyView(detail, 1)


def _loader_class(yaml: Any) -> Any:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(yaml: Any, text: str, loader_cls: Any, path_name: str) -> Any:
    try:
        _check_event_budget(yaml, text, loader_cls, path_name)
        return yaml.compose(text, Loader=loader_cls)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        loc = Location(path_name, mark.line + 1, mark.column + 1) if mark else Location(path_name)
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        where = f"[{loc.line}:{loc.column}] " if loc.line else ""
        raise PolicyError(f"parse policy yaml: {where}{problem}", location=loc) from err
    except (ValueError, RecursionError) as err:
        raise PolicyError(f"parse policy yaml: {err}", location=Location(path_name)) from err


class _Irregular(Exception):
    """The plain walk met something to report (budget, depth, alias loop, key, digits)."""


def _plain_values(root: Any) -> Any:
    """The document as plain values, checking what :func:`_walk_with_positions`
    checks but recording no positions; raises :class:`_Irregular` instead of
    reporting. Repeated scalars share one object (a big policy repeats most)."""
    budget = 0
    active: set[int] = set()
    memo: dict[tuple[str, str, Any], Any] = {}
    intern = sys.intern
    max_digits, int_re, scalar = MAX_INT_DIGITS, _INT_RE, _scalar

    def walk(n: Any, depth: int) -> Any:
        nonlocal budget
        budget += 1
        if budget > _MAX_NODES or depth > MAX_DEPTH:
            raise _Irregular
        kind = n.id
        if kind == "scalar":
            key = (n.value, n.tag, n.style)  # all _scalar reads
            try:
                return memo[key]
            except KeyError:
                pass
            text = n.value
            if len(text) > max_digits and int_re.match(text):
                raise _Irregular
            value = memo[key] = scalar(n)
            return value
        if id(n) in active:
            raise _Irregular
        active.add(id(n))
        depth += 1
        if kind == "sequence":
            out_list = [walk(child, depth) for child in n.value]
            active.discard(id(n))
            return out_list
        out: dict[str, Any] = {}
        for key_node, value_node in n.value:
            if key_node.id != "scalar":
                raise _Irregular
            key = intern(str(key_node.value))
            if key == "<<" or key in out:
                raise _Irregular
            out[key] = walk(value_node, depth)
        active.discard(id(n))
        return out

    return walk(root, 0)


class _LazyDetail:
    """Positions and raw texts of a document, read again from its text on first use."""

    def __init__(self, text: str, loader_cls: Any, path_name: str) -> None:
        self._source: tuple[str, Any, str] | None = (text, loader_cls, path_name)
        self._parts: tuple[Positions, dict[PathKey, str]] | None = None

    def part(self, which: int) -> Any:
        if self._parts is None:
            import yaml

            assert self._source is not None
            text, loader_cls, path_name = self._source
            loader_cls = loader_cls or _loader_class(yaml)
            node = _compose(yaml, text, loader_cls, path_name)
            _, positions, texts = _walk_with_positions(node, path_name)
            self._parts, self._source = (positions, texts), None
        return self._parts[which]


class _LazyView(Mapping[PathKey, Any]):
    __slots__ = ("_detail", "_which")

    def __init__(self, detail: _LazyDetail, which: int) -> None:
        self._detail, self._which = detail, which

    def __getitem__(self, key: PathKey) -> Any:
        return self._detail.part(self._which)[key]

    def __contains__(self, key: object) -> bool:
        return key in self._detail.part(self._which)

    def __iter__(self) -> Iterator[PathKey]:
        return iter(self._detail.part(self._which))

    def __len__(self) -> int:
        return len(self._detail.part(self._which))


def _walk_with_positions(node: Any, path_name: str) -> tuple[Any, Positions, dict[PathKey, str]]:
    """The document as plain values with the position of every value and key and
    the source text of every non-string scalar; raises the located errors."""
    positions: Positions = {}
    texts: dict[PathKey, str] = {}
    if node is None:
        return {}, positions, texts
    budget = [0]
    active: set[int] = set()  # nodes on the current path: a cycle is a recursive alias

    def walk(n: Any, path: PathKey) -> Any:
        budget[0] += 1
        if budget[0] > _MAX_NODES:
            raise PolicyError(
                f"parse policy yaml: document expands to more than {_MAX_NODES} nodes",
                location=Location(path_name),
            )
        if len(path) > MAX_DEPTH:
            line, col = n.start_mark.line + 1, n.start_mark.column + 1
            raise PolicyError(
                f"parse policy yaml: [{line}:{col}] nesting exceeds {MAX_DEPTH} levels",
                location=Location(path_name, line, col),
            )
        if id(n) in active:
            line, col = n.start_mark.line + 1, n.start_mark.column + 1
            raise PolicyError(
                f"parse policy yaml: [{line}:{col}] recursive alias",
                location=Location(path_name, line, col, field_name(path)),
            )
        positions[path] = (n.start_mark.line + 1, n.start_mark.column + 1)
        kind = n.id
        if kind == "scalar":
            if len(n.value) > MAX_INT_DIGITS and _INT_RE.match(n.value):
                line, col = n.start_mark.line + 1, n.start_mark.column + 1
                raise PolicyError(
                    f"parse policy yaml: [{line}:{col}] number has more than "
                    f"{MAX_INT_DIGITS} digits",
                    location=Location(path_name, line, col, field_name(path)),
                )
            value = _scalar(n)
            if value is not None and not isinstance(value, str):
                texts[path] = n.value
            return value
        active.add(id(n))
        try:
            return walk_collection(n, path)
        finally:
            active.discard(id(n))

    def walk_collection(n: Any, path: PathKey) -> Any:
        if n.id == "sequence":
            return [walk(child, (*path, i)) for i, child in enumerate(n.value)]
        out: dict[str, Any] = {}
        for key_node, value_node in n.value:
            if key_node.id != "scalar":
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise PolicyError(
                    f"parse policy yaml: [{line}:{col}] mapping keys must be scalars",
                    location=Location(path_name, line, col, field_name(path)),
                )
            key = str(key_node.value)
            if key == "<<":
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                raise PolicyError(
                    f"parse policy yaml: [{line}:{col}] merge keys (<<) are not supported",
                    location=Location(path_name, line, col, field_name(path)),
                )
            if key in out:
                line, col = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                first = positions.get((*path, key), (0, 0))[0]
                raise PolicyError(
                    f'parse policy yaml: [{line}:{col}] mapping key "{key}" already defined at line {first}',
                    location=Location(path_name, line, col, field_name((*path, key))),
                )
            out[key] = walk(value_node, (*path, key))
            # key positions live under a KEY_MARK-prefixed path (used to place comments)
            positions[(KEY_MARK, *path, key)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            positions[(*path, key)] = (
                value_node.start_mark.line + 1,
                value_node.start_mark.column + 1,
            )
        return out

    with deep_recursion(MAX_DEPTH):
        value = walk(node, ())
    return value, positions, texts


def _check_event_budget(yaml: Any, text: str, loader_cls: Any, path_name: str) -> None:
    """Count parse events before building the document: the budget holds while parsing."""
    raw_parse = getattr(loader_cls, "raw_parse", None)
    if raw_parse is not None:
        # libyaml counts without making an event object each; on a syntax error the
        # loop below runs instead, so the budget still wins when it comes first
        loader = loader_cls(text)
        try:
            count = raw_parse(loader)
        except yaml.YAMLError:
            count = None
        finally:
            loader.dispose()
        if count is not None:
            if count > _MAX_NODES * 2:
                raise PolicyError(
                    f"parse policy yaml: document has more than {_MAX_NODES} nodes",
                    location=Location(path_name),
                )
            return
    count = 0
    for _event in yaml.parse(text, Loader=loader_cls):
        count += 1
        if count > _MAX_NODES * 2:
            raise PolicyError(
                f"parse policy yaml: document has more than {_MAX_NODES} nodes",
                location=Location(path_name),
            )


# ---------------------------------------------------------- decoding ---


def check_legacy(raw: dict[str, Any], path_name: str) -> None:
    found = [entry for entry in LEGACY_KEYS if entry[0] in raw]
    if not found:
        return
    names = ", ".join(k for k, _, _ in found)
    details = "; ".join(f"{k}->{repl} ({note})" for k, repl, note in found)
    raise PolicyError(
        f"parse policy yaml: legacy policy proposal fields are not supported [{names}]: {details}",
        location=Location(path_name, 1, 1, found[0][0]),
        details={"migration": {k: repl for k, repl, _ in found}},
    )


_TYPE_WORDS = {
    "array": "sequence",
    "object": "mapping",
    "str": "string",
    "int": "integer",
    "float": "number",
    "bool": "boolean",
    "null": "null",
}
# error paths only: compiled (and cached by re) on first use, not at import
_MSGSPEC_PATH = r"^(?P<msg>.*?) - at `\$(?P<path>[^`]*)`$"
_PATH_TOKEN = r"\.([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\]"


def _parse_msgspec_path(text: str) -> PathKey:
    out: list[str | int] = []
    for m in re.finditer(_PATH_TOKEN, text):
        out.append(m.group(1) if m.group(1) is not None else int(m.group(2)))
    return tuple(out)


def _describe(msg: str) -> str:
    m = re.match(r"Expected `([^`]+)`, got `([^`]+)`", msg)
    if m:
        want = " or ".join(_TYPE_WORDS.get(w.strip(), w.strip()) for w in m.group(1).split("|"))
        got = _TYPE_WORDS.get(m.group(2), m.group(2))
        return f"{got} was used where {want} is expected"
    m = re.match(r"Object contains unknown field `([^`]+)`", msg)
    if m:
        return f'unknown field "{m.group(1)}"'
    return msg


def _prepare(raw: Any, typ: Any, path: PathKey, texts: Mapping[PathKey, str]) -> Any:
    """Go YAML semantics before strict decoding: null leaves the zero value, and a
    non-string scalar in a string field keeps its source text."""
    import msgspec.inspect as mi

    if isinstance(typ, mi.StructType) and isinstance(raw, dict):
        fields = _struct_fields(typ)
        out = {}
        for key, value in raw.items():
            if value is None:
                continue
            sub = fields.get(key)
            if sub is None or (type(value) is str and not isinstance(sub, mi.BoolType)):
                out[key] = value  # nothing to adjust: a string outside a boolean field
            else:
                out[key] = _prepare(value, sub, (*path, key), texts)
        return out
    if isinstance(typ, mi.VarTupleType) and isinstance(raw, list):
        item = typ.item_type
        if isinstance(item, mi.StrType) and all(type(v) is str for v in raw):
            return raw
        return [_prepare(v, item, (*path, i), texts) for i, v in enumerate(raw)]
    if isinstance(typ, mi.StrType) and not isinstance(raw, (str, list, dict)) and path in texts:
        return texts[path]
    if isinstance(typ, mi.BoolType) and isinstance(raw, str) and raw in _YAML11_BOOLS:
        return _YAML11_BOOLS[raw]
    return raw


_FIELDS: dict[int, tuple[Any, dict[str, Any]]] = {}


def _struct_fields(typ: Any) -> dict[str, Any]:
    """Field name -> type of a struct's type info, once per type (the entry keeps it alive)."""
    entry = _FIELDS.get(id(typ))
    if entry is None or entry[0] is not typ:
        entry = _FIELDS[id(typ)] = (typ, {f.encode_name: f.type for f in typ.fields})
    return entry[1]


# YAML 1.1 spellings the reference's YAML library still accepts for boolean fields.
_YAML11_BOOLS = {
    **dict.fromkeys(("y", "Y", "yes", "Yes", "YES", "on", "On", "ON"), True),
    **dict.fromkeys(("n", "N", "no", "No", "NO", "off", "Off", "OFF"), False),
}

_POLICY_TYPE_INFO: Any = None


def decode_policy(
    raw: Any,
    positions: Positions,
    texts: dict[PathKey, str],
    path_name: str,
    surface: str = "yaml",
) -> Policy:
    """Strictly decode a plain mapping into :class:`Policy` (unknown keys and wrong types are errors)."""
    global _POLICY_TYPE_INFO
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        got = _TYPE_WORDS.get(type(raw).__name__, type(raw).__name__)
        if isinstance(raw, list):
            got = "sequence"
        raise PolicyError(
            f"parse policy {surface}: [1:1] {got} was used where mapping is expected",
            location=locate(path_name, positions, ()),
        )
    check_legacy(raw, path_name)
    # The Go-semantics pass below only changes what strict decoding refuses (a
    # number or null in a string field, "yes" in a boolean one) or drops a null
    # from an optional field whose default is null anyway; so a mapping that
    # decodes as it is needs no pass (the common case, and no type info to build).
    try:
        return msgspec.convert(raw, Policy)
    except msgspec.ValidationError:
        pass
    if _POLICY_TYPE_INFO is None:
        import msgspec.inspect as mi

        _POLICY_TYPE_INFO = mi.type_info(Policy)
    prepared = _prepare(raw, _POLICY_TYPE_INFO, (), texts)
    try:
        return msgspec.convert(prepared, Policy)
    except msgspec.ValidationError as err:
        text = str(err)
        m = re.match(_MSGSPEC_PATH, text)
        msg, path = (m.group("msg"), _parse_msgspec_path(m.group("path"))) if m else (text, ())
        unknown = re.match(r"Object contains unknown field `([^`]+)`", msg)
        if unknown:
            path = (*path, unknown.group(1))
        loc = locate(path_name, positions, path)
        where = f"[{loc.line}:{loc.column}] " if loc.line else ""
        field = f" (field {loc.field})" if loc.field else ""
        raise PolicyError(
            f"parse policy {surface}: {where}{_describe(msg)}{field}", location=loc
        ) from err


# msgspec builds a type's decoding info on its first use (~0.5 ms for Policy and the
# types inside it). Building it where policies are decoded costs a one-shot command
# nothing extra, and a warm start server (which imports this module before it forks)
# does it once instead of in every command it runs.
msgspec.convert({}, Policy)
