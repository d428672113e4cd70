"""The decision service behind the HTTP endpoints, free of any web framework.

One :class:`DecisionService` owns one long-lived :class:`gait.gate.Gate` (policy
compiled and signing key resolved once at start). ``evaluate`` is blocking
(sign + trace write, fsynced in groups) and thread-safe; the ASGI app runs it on worker
threads. Policy reloads swap the compiled table with one attribute store, so a
request sees the old table or the new one, never a mix.
"""

from __future__ import annotations

import hmac
import os
import sys
import threading
import time
from typing import Any

import msgspec

from gait.errors import GaitError
from gait.serve.config import ServeConfig
from gait.serve.request import CLIENT_PATH_FIELDS, EvaluateRequest, RequestRejected

__all__ = ["DecisionService", "encode_json", "error_body"]

SERVICE_NAME = "gait.mcp.serve"
_ENCODER = msgspec.json.Encoder(order="sorted")


def encode_json(payload: Any) -> bytes:
    """One JSON line: sorted keys, no HTML escaping, trailing newline."""
    return _ENCODER.encode(payload) + b"\n"


def error_body(message: str) -> bytes:
    return encode_json({"ok": False, "error": message})


# A file changed this recently may still be changing within the same timestamp tick
# (an editor saving in place, a copy in progress): its stat is not trusted, and the
# watcher compares its content until a read sees it older than this.
RACY_WINDOW_NS = 2_000_000_000


def _policy_stamp(path: str) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    # ctime too: a write that keeps size and mtime (or restores the mtime) still moves it.
    return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)


def _is_racy(stamp: tuple[int, int, int, int] | None, now_ns: int) -> bool:
    """Was the file changed so recently that a later write could keep the same stamp?"""
    return stamp is not None and now_ns - max(stamp[0], stamp[1]) < RACY_WINDOW_NS


class DecisionService:
    """Decide tool calls for the HTTP endpoints; see the module docstring."""

    def __init__(self, config: ServeConfig, *, environ: dict[str, str] | None = None) -> None:
        from gait.gate import Gate, GateOptions
        from gait.gate.pipeline import FlagNames
        from gait.policy import compile_policy_file

        self.config = config
        env = os.environ if environ is None else environ
        # Anything but an explicit "off" requires the token (fail closed on a config
        # built without validate_config, e.g. auth_mode="Token"); an empty token matches nothing.
        self._auth = config.auth_mode != "off"
        token = env.get(config.auth_token_env, "") if self._auth else ""
        self._token = token.strip().encode("utf-8")
        # Read and verified once, before the policy (the proxy's order) and before binding:
        # a bad envelope stops start-up (exit 6) instead of failing every request.
        # Its age is still computed per decision.
        self.context_envelope: Any = None
        if config.context_envelope:
            from gait.errors import InvalidInput
            from gait.intent.envelope import load_envelope

            try:
                self.context_envelope = load_envelope(config.context_envelope)
            except InvalidInput as err:
                raise InvalidInput(
                    f"--context-envelope {config.context_envelope}: {err.message}"
                ) from None
        self._policy_stamp = _policy_stamp(config.policy)
        self._policy_racy = _is_racy(self._policy_stamp, time.time_ns())
        compiled = compile_policy_file(config.policy)
        # Digest of the last bytes the watcher tried (compiled or refused).
        self._policy_source = compiled.ir.source_digest
        from gait.serve.tracesink import GroupCommitTraceSink

        # Concurrent decisions share their trace fsyncs (group commit); see tracesink.
        self.trace_sink = GroupCommitTraceSink(config.trace_durability)
        self.gate = Gate(
            compiled,
            GateOptions(
                profile=config.profile,
                key_mode=config.key_mode,
                private_key=config.private_key or None,
                private_key_env=config.private_key_env or None,
                state=config.state or None,
            ),
            option_names=FlagNames(),  # configuration errors name the serve flags
            sink=self.trace_sink,
        )
        cfg = config
        self._inline_ok = (
            cfg.trace_durability == "batch"
            and not getattr(self.gate.store, "shared", True)
            and not (cfg.pack_dir or cfg.export_log_out or cfg.export_otel_out or cfg.retention)
        )
        self._inline_policy: tuple[Any, bool] = (None, False)
        self._reload_lock = threading.Lock()
        self._name_lock = threading.Lock()
        self._last_ns = 0

    def close(self) -> None:
        """Flush traces not yet durable, then release the state store (shutdown)."""
        try:
            self.trace_sink.close()
        finally:
            self.gate.close()

    # --- auth -------------------------------------------------------------

    def check_auth(self, authorization: str | None) -> None:
        """§3.3: ``Authorization: Bearer <token>``, compared in constant time; 401 otherwise."""
        if not self._auth:
            return
        if not authorization:
            raise RequestRejected(401, "missing bearer authorization")
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise RequestRejected(401, "missing bearer authorization")
        given = value.strip().encode("utf-8", "surrogateescape")
        if not self._token or not hmac.compare_digest(given, self._token):
            raise RequestRejected(401, "invalid bearer authorization")

    # --- health -----------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """``/healthz`` body: the spec's two fields, plus the policy digest and state health."""
        body: dict[str, Any] = {
            "ok": True,
            "service": SERVICE_NAME,
            "policy_digest": self.gate.compiled.policy_digest,
        }
        probe = getattr(self.gate, "state_health", None)
        if probe is not None:
            try:
                ok, detail = probe()
            except Exception as err:  # a broken probe is a degraded store, not a dead server
                ok, detail = False, f"state health check failed: {type(err).__name__}"
            body["state"] = {"ok": bool(ok), "detail": str(detail)}
            body["status"] = "ok" if ok else "degraded"
        return body

    # --- policy reload ----------------------------------------------------

    def reload_policy(self, *, force: bool = False) -> bool:
        """Recompile the policy file if it changed (or ``force``); True when the table changed.

        A file that no longer compiles leaves the current table in place; the error
        is reported on stderr and serving continues (never an empty or partial table).
        "Changed" is the file's stat (mtime, ctime, size, inode) or, while the file
        was changed less than RACY_WINDOW_NS before the last read, its content: a
        write in place that lands after a read but within the same timestamp tick
        keeps the stat, and must still be picked up (not leave the old table forever).
        """
        from gait.canonical import sha256_hex
        from gait.policy.compiler import compile_policy
        from gait.policy.source import read_policy_bytes

        path = self.config.policy
        with self._reload_lock:
            stamp = _policy_stamp(path)  # before the read: a later write changes it
            if not force and stamp == self._policy_stamp and not self._policy_racy:
                return False
            self._policy_stamp = stamp
            self._policy_racy = _is_racy(stamp, time.time_ns())
            try:
                data = read_policy_bytes(path)
                digest = sha256_hex(data)
                if not force and digest == self._policy_source:
                    return False  # same bytes as last time: nothing new to say
                self._policy_source = digest
                compiled = compile_policy(data, path=str(path))
            except GaitError as err:
                _log(f"mcp serve: policy reload failed, keeping the current policy: {err}")
                return False
            if compiled.policy_digest == self.gate.compiled.policy_digest:
                return False
            self.gate.reload(compiled)
            _log(f"mcp serve: policy reloaded digest={compiled.policy_digest}")
            return True

    # --- evaluate ---------------------------------------------------------

    def runs_inline(self, request: EvaluateRequest) -> bool:
        """Can this request be decided on the event loop without waiting on I/O?

        Only with batch durability (no fsync before the answer), a local state
        store, no export or pack files, a policy without rate limits, budgets,
        flow rules, brokered credentials or MCP trust (state file writes, broker
        commands), and a request that names no session,
        journal, runpack or pack (a journal append is fsynced in every mode). The
        call's bytes are not parsed here: any mention of ``session_id`` in them
        sends the request to a decision thread. When in doubt, a thread: it is
        always correct, only slower at one connection.
        """
        if not self.inline_capable():
            return False
        asks_for_files = (
            request.session_id
            or request.session_journal
            or request.checkpoint_interval
            or request.trace_path
            or request.runpack_out
            or request.emit_runpack
            or request.pack_out
            or request.emit_pack
        )
        return not asks_for_files and not _mentions_session(bytes(request.call))

    def inline_capable(self) -> bool:
        """May any request run inline (server settings and the current policy)?"""
        return self._inline_ok and self._policy_inline_ok()

    def _policy_inline_ok(self) -> bool:
        """No rule of the current policy touches the state store or runs a broker."""
        compiled = self.gate.compiled
        cached = self._inline_policy
        if cached[0] is not compiled:
            ir = compiled.ir
            ok = not ir.flow_rows and not compiled.policy.mcp_trust.enabled
            ok = ok and not any(
                row.rate_limit is not None
                or row.destructive_budget is not None
                or row.require_broker_credential
                or row.broker_reference
                or row.flow
                for row in ir.rows
            )
            cached = self._inline_policy = (compiled, ok)
        return cached[1]

    def _unique_ns(self) -> int:
        """A wall-clock timestamp never handed out twice (trace names must not collide)."""
        now = time.time_ns()
        with self._name_lock:
            if now <= self._last_ns:
                now = self._last_ns + 1
            self._last_ns = now
        return now

    def evaluate(self, request: EvaluateRequest) -> tuple[int, dict[str, Any]]:
        """Decide one request; returns (HTTP status, response object). Raises RequestRejected."""
        decode_tool_call, default_trace_name, evaluate_call = _decision_functions()
        cfg = self.config
        self._check_request(request)
        try:
            call = decode_tool_call(
                bytes(request.call), adapter=request.adapter or cfg.adapter, profile=cfg.profile
            )
            if call.context_envelope_path and not cfg.allow_client_artifact_paths:
                raise RequestRejected(
                    400,
                    "request.call.context.context_envelope_path is not allowed by server "
                    "configuration",
                )
            session_id = request.session_id.strip() or call.session_id
            self._check_checkpointing(request, session_id)
            # Artifact names use the request's own run id (empty: ``trace__<ts>``), as mcp proxy.
            now_ns = self._unique_ns()
            stem = default_trace_name(request.run_id, now_ns)
            trace_path = request.trace_path.strip() or os.path.join(cfg.trace_dir, stem)
            runpack_out = request.runpack_out.strip() or None
            if runpack_out is None and request.emit_runpack and cfg.runpack_dir:
                name = "runpack_" + stem.removeprefix("trace_").removesuffix(".json") + ".zip"
                runpack_out = os.path.join(cfg.runpack_dir, name)
            result = evaluate_call(
                self.gate,
                call,
                run_id=request.run_id,
                trace_path=trace_path,
                runpack_out=runpack_out,
                export_log_out=cfg.export_log_out or None,
                export_otel_out=cfg.export_otel_out or None,
                context_envelope=self.context_envelope,
                job_root=cfg.job_root or None,
                job_status=self._job_status,
                now_ns=now_ns,
            )
            pack_out = self._pack_target(request, call, stem)
            if pack_out:
                from gait.serve.packs import write_decision_pack

                result.pack_path, result.pack_id = write_decision_pack(self.gate, result, pack_out)
        except GaitError as err:
            raise RequestRejected(400, err.message) from None
        except OSError as err:
            raise RequestRejected(400, f"evaluate: {err.strerror or err}") from None
        payload = result.payload()
        payload["exit_code"] = result.exit_code
        warnings = self._journal(request, session_id, result.run_id, payload)
        warnings += self._apply_retention()
        if warnings:
            payload["warnings"] = [*payload.get("warnings", ()), *warnings]
        return self._status_for(payload.get("verdict", "")), payload

    def _check_request(self, request: EvaluateRequest) -> None:
        """Refusals that need no decoding: client paths (§3.2) and pack requests."""
        cfg = self.config
        if not cfg.allow_client_artifact_paths:
            for name in CLIENT_PATH_FIELDS:
                if getattr(request, name).strip():
                    raise RequestRejected(
                        400, f"request.{name} is not allowed by server configuration"
                    )
        if request.pack_out:  # an empty one has nothing to check
            from gait.errors import InvalidInput
            from gait.serve.packs import check_pack_out

            try:
                check_pack_out(request.pack_out)
            except InvalidInput as err:
                raise RequestRejected(400, err.message) from None
        if request.emit_pack and not cfg.pack_dir:
            raise RequestRejected(400, "request.emit_pack requires the server's --pack-dir")

    def _job_status(self, job_id: str) -> str:
        """Emergency-stop check: the job's status under ``--job-root`` (gait job stop)."""
        from gait.packs.jobs import JobStore

        return JobStore(self.config.job_root).status(job_id)

    def _pack_target(self, request: EvaluateRequest, call: Any, stem: str) -> str:
        """Where this decision's pack goes: client path, ``emit_pack``, or auto for writes."""
        if request.pack_out.strip():
            return request.pack_out.strip()
        if not self.config.pack_dir:
            return ""
        from gait.serve.packs import is_state_changing

        if request.emit_pack or is_state_changing(call.intent):
            name = "pack_" + stem.removeprefix("trace_").removesuffix(".json") + ".zip"
            return os.path.join(self.config.pack_dir, name)
        return ""

    def _check_checkpointing(self, request: EvaluateRequest, session_id: str) -> None:
        """Refuse a checkpoint request that cannot be honoured, before anything is written."""
        interval = request.checkpoint_interval
        if interval < 0:
            raise RequestRejected(400, "request.checkpoint_interval must be >= 0")
        if interval > 0 and not session_id:
            raise RequestRejected(400, "request.checkpoint_interval requires a session id")
        if interval > 0 and not self.config.runpack_dir:
            raise RequestRejected(
                400, "request.checkpoint_interval requires the server's --runpack-dir"
            )

    def _journal(
        self, request: EvaluateRequest, session_id: str, run_id: str, payload: dict[str, Any]
    ) -> list[str]:
        """Session journal (and checkpoint) for a decision whose session is known."""
        if not session_id:
            return []
        from gait.serve.sessions import journal_decision

        event = {
            key: payload[key]
            for key in (
                "tool_name",
                "verdict",
                "trace_id",
                "trace_path",
                "intent_digest",
                "policy_digest",
                "reason_codes",
                "violations",
            )
            if key in payload
        }
        try:
            return journal_decision(
                session_id=session_id,
                run_id=run_id,
                session_dir=self.config.session_dir,
                journal_path=request.session_journal.strip(),
                runpack_dir=self.config.runpack_dir,
                checkpoint_interval=request.checkpoint_interval,
                event=event,
                store=getattr(self.gate, "store", None),
            )
        except GaitError as err:
            # The decision and its trace exist; a journal fault must still not pass silently.
            raise RequestRejected(400, f"session journal: {err.message}") from None
        except OSError as err:
            raise RequestRejected(400, f"session journal: {err.strerror or err}") from None

    def _status_for(self, verdict: str) -> int:
        if self.config.http_verdict_status != "strict":
            return 200
        if verdict == "block":
            return 403
        if verdict in ("require_approval", "dry_run"):
            return 409
        return 200

    def _apply_retention(self) -> list[str]:
        cfg = self.config
        if not cfg.retention:
            return []
        from gait.serve.retention import sweep

        dirs = {
            "trace": cfg.trace_dir,
            "runpack": cfg.runpack_dir,
            "pack": cfg.pack_dir,
            "session": cfg.session_dir,
        }
        store = getattr(self.gate, "store", None)
        warnings = []
        for name in sorted(cfg.retention):
            if not dirs[name] or not cfg.retention[name].active:
                continue
            # One sweeper per directory among servers sharing a store: a sweep that
            # finds the lease taken is skipped (the holder is sweeping the same files).
            if store is not None and getattr(store, "shared", False):
                key = f"serve_retention:{name}:{os.path.abspath(dirs[name])}"
                try:
                    with store.lease(key, ttl=RETENTION_LEASE_TTL, wait=0) as held:
                        if not held:
                            continue
                        by_age, by_count = sweep(
                            dirs[name], name, cfg.retention[name], time.time_ns()
                        )
                except GaitError as err:
                    warnings.append(f"retention_{name}_skipped={err.code}")
                    continue
            else:
                by_age, by_count = sweep(dirs[name], name, cfg.retention[name], time.time_ns())
            if by_age or by_count:
                warnings.append(f"retention_{name}_removed_age={by_age} removed_count={by_count}")
        return warnings


_DECISION_FUNCTIONS: list[Any] = []


def _decision_functions() -> Any:
    """(decode_tool_call, default_trace_name, evaluate_call), imported at the first
    decision rather than at start-up, and not again per request (a from-import
    inside a function costs a few µs every time)."""
    if not _DECISION_FUNCTIONS:
        from gait.mcp.decode import decode_tool_call
        from gait.mcp.proxy import default_trace_name, evaluate_call

        _DECISION_FUNCTIONS[:] = [(decode_tool_call, default_trace_name, evaluate_call)]
    return _DECISION_FUNCTIONS[0]


def _mentions_session(raw: bytes) -> bool:
    """The call may carry a session id (an escape could spell the key): journal I/O ahead."""
    return b"session_id" in raw or b"\\" in raw


RETENTION_LEASE_TTL = 60.0  # seconds; a sweep that outlives it may overlap the next one


def _log(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
