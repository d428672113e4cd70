"""One YAML reader rule for gait's own YAML files (issue 11 A6, B9).

The same rules as :mod:`gait.safejson`, for the config files gait reads
(``.gait/config.yaml``, regress ``gait.yaml``, doctor's checks):

* Repeated keys in one mapping (exactly, or differing only in case) are
  rejected with the key and its line named; PyYAML would keep the last one.
* Nesting deeper than :data:`gait.safejson.MAX_DEPTH` and more than
  ``max_nodes`` nodes are rejected while parsing, before anything is built.
* Integers longer than :data:`gait.safejson.MAX_INT_DIGITS` digits are rejected.
* Only the plain YAML types may be tagged (``!!str``, ``!!int``, ...); any other
  tag is rejected, and so are non-scalar mapping keys.
* Anchors, aliases and merge keys (``&``, ``*``, ``<<``) are rejected unless the
  caller allows them (``aliases=True``); then expansion counts against
  ``max_nodes`` and a recursive alias is rejected.

Errors are :class:`gait.errors.InvalidInput` (exit 6, a repeated key is
:class:`gait.safejson.DuplicateKey`) reading ``<what> <source>:<line>:<column>:
<problem>``. The policy reader has its own tested rules (gait/policy/source.py).
"""

from __future__ import annotations

from typing import Any

from gait.errors import InvalidInput
from gait.safejson import MAX_DEPTH, MAX_INT_DIGITS, DuplicateKey

MAX_NODES = 1_000_000
"""Most YAML nodes (after alias expansion) one config document may hold."""

_CORE = "tag:yaml.org,2002:"
SAFE_TAGS = frozenset(_CORE + t for t in ("str", "int", "float", "bool", "null", "map", "seq"))

__all__ = ["MAX_NODES", "SAFE_TAGS", "load"]


def _where(what: str, source: str, mark: Any) -> str:
    if mark is None:
        return f"{what} {source}" if source else what
    place = f"{mark.line + 1}:{mark.column + 1}"
    return f"{what} {source}:{place}" if source else f"{what}: line {place}"


def load(
    data: bytes | str,
    what: str,
    *,
    source: str = "",
    aliases: bool = False,
    max_nodes: int = MAX_NODES,
) -> Any:
    """Parse one untrusted YAML document under the rules above.

    ``what`` starts every message (``"parse config"``) and ``source`` names the
    file; an empty document is ``None``.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise InvalidInput(
                f"{_where(what, source, None)}: not UTF-8 text (byte {err.start})"
            ) from None
    else:
        text = data
    import yaml

    loader = _loader_class(yaml)
    try:
        _check_events(yaml, text, loader, what, source, aliases, max_nodes)
        if not aliases:
            return yaml.load(text, Loader=loader)  # a safe loader (see _loader_class)
        node = yaml.compose(text, Loader=loader)
        if node is None:
            return None
        _check_expansion(node, what, source, max_nodes)
        instance = loader("")
        try:
            return instance.construct_document(node)
        finally:
            instance.dispose()
    except yaml.MarkedYAMLError as err:
        if "maximum nesting depth" in str(err.problem):  # libyaml's own bound, also 1000
            place = _where(what, source, err.problem_mark)
            raise InvalidInput(f"{place}: nesting exceeds {MAX_DEPTH} levels") from None
        err = _plain_error(yaml, text, loader, err)
        detail = err.problem or "invalid YAML"
        if err.context:
            detail = f"{detail} ({err.context})"
        raise InvalidInput(f"{_where(what, source, err.problem_mark)}: {detail}") from None
    except yaml.YAMLError as err:
        raise InvalidInput(f"{_where(what, source, None)}: invalid YAML: {err}") from None
    except (ValueError, OverflowError, RecursionError, TypeError) as err:
        # bounds are checked first; this is the last line against a traceback
        raise InvalidInput(f"{_where(what, source, None)}: {err}") from None


def _plain_error(yaml: Any, text: str, loader: Any, err: Any) -> Any:
    """libyaml's syntax error, reworded by PyYAML's own parser when it has one
    (its messages are the ones gait has always shown; errors only, so no cost)."""
    if loader.__mro__[1] is yaml.SafeLoader or not isinstance(
        err, yaml.parser.ParserError | yaml.scanner.ScannerError
    ):
        return err
    try:
        for _event in yaml.parse(text, Loader=yaml.SafeLoader):
            pass
    except yaml.MarkedYAMLError as plain:
        return plain
    except (RecursionError, ValueError):
        pass
    return err


_LOADERS: dict[int, Any] = {}


def _loader_class(yaml: Any) -> Any:
    """PyYAML's safe loader (libyaml when present) with integers bounded in length."""
    cached = _LOADERS.get(id(yaml))
    if cached is not None:
        return cached
    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        def construct_yaml_int(self, node: Any) -> Any:
            digits = sum(ch.isalnum() for ch in str(node.value))
            if digits > MAX_INT_DIGITS:
                raise yaml.constructor.ConstructorError(
                    None, None, f"integer longer than {MAX_INT_DIGITS} digits", node.start_mark
                )
            return super().construct_yaml_int(node)

    Loader.add_constructor(_CORE + "int", Loader.construct_yaml_int)
    _LOADERS[id(yaml)] = Loader
    return Loader


class _Mapping:
    __slots__ = ("expect_key", "seen")

    def __init__(self) -> None:
        self.expect_key = True
        self.seen: dict[str, tuple[str, int]] = {}


def _check_events(
    yaml: Any, text: str, loader: Any, what: str, source: str, aliases: bool, max_nodes: int
) -> None:
    """Depth, size, tags, keys and anchors from the parse events (no recursion,
    nothing built yet)."""
    node_events = (yaml.ScalarEvent, yaml.MappingStartEvent, yaml.SequenceStartEvent)
    ends = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
    open_: list[_Mapping | None] = []  # a frame per open collection (None: a sequence)
    nodes = 0

    def fail(event: Any, problem: str, cls: type[InvalidInput] = InvalidInput, **details: Any):
        return cls(f"{_where(what, source, event.start_mark)}: {problem}", details=details or None)

    for event in yaml.parse(text, Loader=loader):
        if isinstance(event, ends):
            open_.pop()
            continue
        is_alias = isinstance(event, yaml.AliasEvent)
        if not is_alias and not isinstance(event, node_events):
            continue
        nodes += 1
        if nodes > max_nodes:
            raise fail(event, f"document has more than {max_nodes} nodes")
        if (is_alias or event.anchor is not None) and not aliases:
            raise fail(event, "anchors and aliases (& and *) are not supported")
        tag = None if is_alias else event.tag
        if tag not in (None, "!") and tag not in SAFE_TAGS:
            shown = "!!" + tag[len(_CORE) :] if tag.startswith(_CORE) else tag
            raise fail(event, f"tag {shown} is not supported")
        parent = open_[-1] if open_ else None
        if parent is not None:
            if parent.expect_key:
                if not isinstance(event, yaml.ScalarEvent):
                    raise fail(event, "mapping keys must be scalars")
                key = str(event.value)
                if key == "<<" and event.implicit[0] and tag is None:
                    if not aliases:
                        raise fail(event, "merge keys (<<) are not supported")
                else:
                    _remember(parent, key, event, fail)
            parent.expect_key = not parent.expect_key
        if isinstance(event, yaml.MappingStartEvent):
            open_.append(_Mapping())
        elif isinstance(event, yaml.SequenceStartEvent):
            open_.append(None)
        else:
            continue
        if len(open_) > MAX_DEPTH:
            raise fail(event, f"nesting exceeds {MAX_DEPTH} levels")


def _remember(frame: _Mapping, key: str, event: Any, fail: Any) -> None:
    fold = key.lower()
    first = frame.seen.get(fold)
    if first is None:
        frame.seen[fold] = (key, event.start_mark.line + 1)
        return
    spelled, line = first
    detail = (
        f"{key!r} (first at line {line})"
        if spelled == key
        else f"{key!r} (also spelled {spelled!r} at line {line})"
    )
    raise fail(event, f"duplicate key {detail}", DuplicateKey, key=key)


def _check_expansion(root: Any, what: str, source: str, max_nodes: int) -> None:
    """With aliases allowed: the expanded size and depth, and no alias loop."""
    count = 0
    active: set[int] = set()  # nodes on the current path: meeting one again is a loop
    stack: list[tuple[Any, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, leaving = stack.pop()
        if leaving:
            active.discard(id(node))
            continue
        count += 1
        if count > max_nodes:
            raise InvalidInput(
                f"{_where(what, source, node.start_mark)}: document expands to more than "
                f"{max_nodes} nodes"
            )
        if node.id == "scalar":
            continue
        if id(node) in active:
            raise InvalidInput(f"{_where(what, source, node.start_mark)}: recursive alias")
        if depth > MAX_DEPTH:
            raise InvalidInput(
                f"{_where(what, source, node.start_mark)}: nesting exceeds {MAX_DEPTH} levels"
            )
        active.add(id(node))
        stack.append((node, depth, True))
        if node.id == "mapping":
            children = [child for pair in node.value for child in pair]
        else:
            children = list(node.value)
        stack.extend((child, depth + 1, False) for child in reversed(children))
