"""``gait trace verify`` body; no click here, so it also runs through gait.cli.fast."""

from __future__ import annotations

from collections.abc import Sequence

from gait.cli.outcome import Outcome, gc_paused
from gait.errors import InvalidInput, VerificationFailed


@gc_paused
def verify_trace_file(
    paths: Sequence[str],
    *,
    path_option: str | None = None,
    public_key: str | None = None,
    public_key_env: str | None = None,
    private_key: str | None = None,
    private_key_env: str | None = None,
) -> Outcome:
    from gait.signing import resolve_verify_key
    from gait.trace import read_trace, verify_trace

    candidates = [*paths, *([path_option] if path_option else [])]
    if len(candidates) != 1:
        raise InvalidInput("expected trace path")
    path = candidates[0]
    record = read_trace(path)
    key = resolve_verify_key(
        public_key=public_key,
        public_key_env=public_key_env,
        private_key=private_key,
        private_key_env=private_key_env,
        dev_fallback=True,
    )
    result = verify_trace(record, key, path=path)
    error = result.pop("error", "")
    shown = {k: v for k, v in result.items() if v != ""}
    dev_path = key.source.removeprefix("dev:") if key.source.startswith("dev:") else ""
    if dev_path:
        # Say which key was used when the user gave none.
        shown["key_source"] = "dev"
        shown["key_path"] = dev_path
    if error:
        if dev_path:
            error = f"{error} (checked with the per-user dev key {dev_path})"
        raise VerificationFailed(error, details=shown)
    # One line, as cmd/gait/trace.go prints it; the fields are in --json.
    text = [f"trace verify ok: {path}"]
    if dev_path:
        text.append(
            f"verified with the per-user dev key {dev_path} (dev mode, not a production key)"
        )
    return Outcome(shown, text=text)
