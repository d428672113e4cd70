"""Turn table predicates into plain Python closures over a normalized intent.

Built once per compiled policy; evaluation then runs only these closures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from operator import attrgetter

from gait.errors import PolicyError
from gait.intent.model import Intent
from gait.policy.ir import (
    DELEGATION,
    IDENTITY,
    PROVENANCE_SOURCE,
    RISK_CLASS,
    SKILL_PUBLISHER,
    SKILL_SOURCE,
    TARGET_FIELDS,
    TOOL_ANNOTATIONS,
    TOOL_NAME,
    WORKSPACE_PREFIX,
    WRKR_PREFIX,
    DelegationPredicate,
    Predicate,
)

Matcher = Callable[[Intent], bool]
_SOURCE = attrgetter("source")


def build_matcher(pred: Predicate, delegation: DelegationPredicate | None) -> Matcher:
    s, values = pred.subject, pred.values
    if s == TOOL_NAME:
        return lambda i: i.tool_name in values
    if s == RISK_CLASS:
        return lambda i: i.context.risk_class in values
    if s == IDENTITY:
        return lambda i: i.context.identity in values
    if s == WORKSPACE_PREFIX:
        prefixes = pred.prefixes
        return lambda i: i.context.workspace.startswith(prefixes)
    # "some target / provenance entry has a value in the set", with the loop in C
    # (isdisjoint stops at the first hit, as any() does); a one-entry list (the
    # usual call) is one membership test, without building the map
    if s in TARGET_FIELDS:
        get = attrgetter(TARGET_FIELDS[s])
        return lambda i: (
            get(t[0]) in values if len(t := i.targets) == 1 else not values.isdisjoint(map(get, t))
        )
    if s == PROVENANCE_SOURCE:
        return lambda i: (
            p[0].source in values
            if len(p := i.arg_provenance) == 1
            else not values.isdisjoint(map(_SOURCE, p))
        )
    if s == SKILL_PUBLISHER:
        return lambda i: (
            i.skill_provenance is not None and (i.skill_provenance.publisher.lower() in values)
        )
    if s == SKILL_SOURCE:
        return lambda i: i.skill_provenance is not None and i.skill_provenance.source in values
    if s.startswith(WRKR_PREFIX):
        key = s[len(WRKR_PREFIX) :]

        def wrkr(i: Intent) -> bool:
            auth = i.context.auth_context
            value = auth.get(key) if auth else None
            return isinstance(value, str) and value.strip().lower() in values

        return wrkr
    if s == TOOL_ANNOTATIONS:
        hints = pred.hints
        return lambda i: all(any(getattr(t, f) is v for t in i.targets) for f, v in hints)
    if s == DELEGATION and delegation is not None:
        return _delegation_matcher(delegation)
    # only a table gait did not write can carry one: refuse it rather than match nothing
    raise PolicyError(f"compiled policy has unknown predicate subject {s!r}")


def _delegation_matcher(d: DelegationPredicate) -> Matcher:
    def match(i: Intent) -> bool:
        dg = i.delegation
        if dg is None:
            return False
        if d.max_depth is not None and len(dg.chain) > d.max_depth:
            return False
        if d.delegators and not any(link.delegator_identity in d.delegators for link in dg.chain):
            return False
        if d.delegates and not (
            dg.requester_identity in d.delegates
            or any(link.delegate_identity in d.delegates for link in dg.chain)
        ):
            return False
        return not d.scopes or (
            dg.scope_class.lower() in d.scopes
            or any(link.scope_class in d.scopes for link in dg.chain)
        )

    return match


# ------------------------------------------------------------ globs ---


@lru_cache(maxsize=4096)
def _glob_regex(pattern: str) -> re.Pattern[str] | None:
    """Go ``path.Match`` semantics; ``None`` for a malformed pattern (never matches)."""
    out = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "\\":
            i += 1
            if i >= n:
                return None
            out.append(re.escape(pattern[i]))
        elif c == "[":
            i += 1
            negate = i < n and pattern[i] == "^"
            if negate:
                i += 1
            parts = []
            first = True
            while True:
                if i >= n:
                    return None
                if pattern[i] == "]" and not first:
                    break
                first = False
                lo = pattern[i]
                if lo == "\\":
                    i += 1
                    if i >= n:
                        return None
                    lo = pattern[i]
                hi = lo
                if i + 2 < n and pattern[i + 1] == "-" and pattern[i + 2] != "]":
                    hi = pattern[i + 2]
                    if hi == "\\":
                        if i + 3 >= n:
                            return None
                        hi = pattern[i + 3]
                        i += 1
                    i += 2
                    if hi < lo:
                        return None
                if lo == hi:
                    parts.append(re.escape(lo))
                else:
                    parts.append(f"{re.escape(lo)}-{re.escape(hi)}")
                i += 1
            body = "".join(parts)
            out.append(f"[^/{body}]" if negate else f"(?!/)[{body}]")
        else:
            out.append(re.escape(c))
        i += 1
    try:
        return re.compile("".join(out) + r"\Z", re.DOTALL)
    except re.error:
        return None


def glob_match(pattern: str, value: str) -> bool:
    rx = _glob_regex(pattern)
    return rx is not None and rx.match(value) is not None


def _clean_path(value: str) -> str | None:
    """Lexically resolve ``.``, ``..`` and repeated ``/``; ``None`` if it climbs above its root."""
    absolute = value.startswith("/")
    parts: list[str] = []
    for part in value.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts:
                return None
            parts.pop()
        else:
            parts.append(part)
    joined = "/".join(parts)
    return "/" + joined if absolute else (joined or ".")


@lru_cache(maxsize=4096)
def path_forms(value: str) -> tuple[str, ...] | None:
    """The normalized spellings of a path target that policy lists must all agree on.

    A backslash is a separator on some systems and a name character on others,
    so both readings are returned when they differ. ``None`` when either reading
    climbs above its root.
    """
    forms = []
    for text in (value, value.replace("\\", "/")) if "\\" in value else (value,):
        cleaned = _clean_path(text)
        if cleaned is None:
            return None
        if cleaned not in forms:
            forms.append(cleaned)
    return tuple(forms)


def path_match(pattern: str, value: str) -> bool:
    if pattern == value:
        return True
    if pattern.endswith("/**"):
        prefix = pattern[:-3]
        return value == prefix or value.startswith(prefix + "/")
    return glob_match(pattern, value)


def domain_match(pattern: str, value: str) -> bool:
    p, v = pattern.lower(), value.lower()
    if p == v:
        return True
    if p.startswith("*.") and v.endswith(p[1:]):
        return True
    return glob_match(p, v)
