"""The ``POST /v1/evaluate*`` request: content type, body decoding, client-path rules (§3.2).

Every rejection is a :class:`RequestRejected` carrying the HTTP status and the
spec's message, so the app turns it into ``{"ok":false,"error":...}`` without
ever letting a traceback reach the client or the log.
"""

from __future__ import annotations

import re

import msgspec

__all__ = [
    "CLIENT_PATH_FIELDS",
    "EvaluateRequest",
    "RequestRejected",
    "check_content_type",
    "decode_request",
]


class RequestRejected(Exception):
    """A request the service answers with a 4xx (or 5xx) error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class EvaluateRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Request fields of §3.2; any other field is rejected (fail closed on typos)."""

    # Kept raw: the adapter decoder parses it, so its errors name the call's fields.
    call: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b""))
    adapter: str = ""
    run_id: str = ""
    session_id: str = ""
    session_journal: str = ""
    checkpoint_interval: int = 0
    trace_path: str = ""
    runpack_out: str = ""
    emit_runpack: bool = False
    pack_out: str = ""
    emit_pack: bool = False


# Fields naming a file the server would write; only with --allow-client-artifact-paths.
CLIENT_PATH_FIELDS = ("session_journal", "trace_path", "runpack_out", "pack_out")

_DECODER = msgspec.json.Decoder(EvaluateRequest)
_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN})/({_TOKEN})\s*")
_PARAM = re.compile(rf'\s*{_TOKEN}\s*=\s*(?:{_TOKEN}|"(?:[^"\\]|\\.)*")\s*')


def check_content_type(header: str | None) -> None:
    """Absent or ``application/json`` (parameters allowed); 415 otherwise."""
    if header is None or header == "application/json":  # what nearly every client sends
        return
    media, *params = header.split(";")
    match = _MEDIA_TYPE.fullmatch(media)
    if match is None or not all(_PARAM.fullmatch(p) for p in params):
        raise RequestRejected(415, "invalid content-type header")
    if f"{match.group(1)}/{match.group(2)}".lower() != "application/json":
        raise RequestRejected(415, "content-type must be application/json")


def decode_request(body: bytes) -> EvaluateRequest:
    """Exactly one JSON object with known fields and a non-empty ``call``; 400 otherwise."""
    try:
        request = _DECODER.decode(body)
    except msgspec.DecodeError as err:
        text = str(err)
        if text.startswith("JSON is malformed: trailing characters"):
            raise RequestRejected(400, "request body must contain a single JSON object") from None
        if not body.strip():
            raise RequestRejected(400, "decode request: empty request body") from None
        raise RequestRejected(400, f"decode request: {_lower_first(text)}") from None
    raw = bytes(request.call).strip()
    if raw in (b"", b"null"):
        raise RequestRejected(400, "request.call is required")
    from gait.errors import InvalidInput
    from gait.safejson import check_duplicate_keys

    try:  # msgspec keeps the last of two equal keys ("call" twice): refuse, as every reader does
        check_duplicate_keys(body, "decode request")
    except InvalidInput as err:
        raise RequestRejected(400, err.message) from None
    return request


def _lower_first(text: str) -> str:
    """msgspec capitalises its messages; ours continue a sentence (acronyms kept)."""
    if text[1:2].isupper():
        return text
    return text[:1].lower() + text[1:]
