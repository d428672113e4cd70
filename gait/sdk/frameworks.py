"""Agent-framework tool-call shapes → full intent requests (serve_sdk.md §4, integrations).

Accepted shapes (as the frameworks document them):

* ``openai_agents``: ``{"name": …, "arguments": {…}}`` (arguments may also be
  the JSON string the model produced);
* ``autogen``: ``{"function_call": {"name": …, "arguments": "<json string>"}}``;
* ``autogpt``: ``{"command": {"name": …, "args": {…}}, "skill_provenance": {…}}``;
* ``langchain``: a LangChain ``ToolCall`` ``{"name": …, "args": {…}, "id": …}``.

File tools get the targets a policy needs: ``write_file`` → ``tool.write``
with a ``path`` target (operation ``write``, endpoint class ``fs.write``) and
``arg_provenance [{arg_path: "$.path", source: "user"}]``; likewise
``read_file`` and ``delete_file``. Other tool names are kept as given, with no
inferred targets (pass ``targets=`` to add some).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from gait.errors import InvalidInput
from gait.sdk.intents import IntentRequest, capture_intent

__all__ = ["FILE_TOOLS", "FRAMEWORKS", "framework_call", "framework_intent"]

FRAMEWORKS = ("openai_agents", "autogen", "autogpt", "langchain")

# framework tool name → (intent tool name, target operation, endpoint class)
FILE_TOOLS: dict[str, tuple[str, str, str]] = {
    "write_file": ("tool.write", "write", "fs.write"),
    "read_file": ("tool.read", "read", "fs.read"),
    "delete_file": ("tool.delete", "delete", "fs.delete"),
}


def _arguments(value: Any, field: str) -> dict[str, Any]:
    """An arguments object, or a JSON string holding one; null/empty → ``{}``."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        from gait.safejson import NotJSON, loads

        try:
            value = loads(value, field)  # a repeated key is an error naming it, as elsewhere
        except NotJSON as err:
            detail = err.message.removeprefix(f"{field}: invalid JSON: ")
            raise InvalidInput(f"{field} is not valid JSON: {detail}") from None
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field} must be a JSON object")
    return dict(value)


def _name(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} is required")
    return value.strip()


def _object(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidInput(f"{field} must be a JSON object")
    return value


def framework_call(framework: str, payload: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``(tool name, arguments)`` from one framework's call payload. Errors name the field."""
    payload = _object(payload, f"{framework} tool call")
    if framework == "openai_agents":
        return _name(payload.get("name"), "name"), _arguments(payload.get("arguments"), "arguments")
    if framework == "autogen":
        call = _object(payload.get("function_call"), "function_call")
        return (
            _name(call.get("name"), "function_call.name"),
            _arguments(call.get("arguments"), "function_call.arguments"),
        )
    if framework == "autogpt":
        command = _object(payload.get("command"), "command")
        return _name(command.get("name"), "command.name"), _arguments(
            command.get("args"), "command.args"
        )
    if framework == "langchain":
        return _name(payload.get("name"), "name"), _arguments(payload.get("args"), "args")
    raise InvalidInput(
        f"unsupported framework: {framework} (expected one of {', '.join(FRAMEWORKS)})"
    )


def framework_intent(
    framework: str,
    payload: Mapping[str, Any],
    context: Mapping[str, Any],
    *,
    targets: Iterable[Mapping[str, Any]] = (),
    arg_provenance: Iterable[Mapping[str, Any]] = (),
    skill_provenance: Mapping[str, Any] | None = None,
    delegation: Mapping[str, Any] | None = None,
    created_at: str | None = None,
) -> IntentRequest:
    """A full intent request for one framework tool call.

    ``context`` gives identity, workspace, session id, auth context, credential
    scopes…; ``risk_class`` defaults to ``high``. AutoGPT's
    ``skill_provenance`` is taken from the payload unless given here.
    """
    name, args = framework_call(framework, payload)
    ctx = dict(context)
    ctx.setdefault("risk_class", "high")
    found_targets = [dict(t) for t in targets]
    provenance = [dict(p) for p in arg_provenance]
    mapped = FILE_TOOLS.get(name.lower())
    if mapped is not None:
        name, operation, endpoint_class = mapped
        path = args.get("path")
        if not isinstance(path, str) or not path.strip():
            raise InvalidInput(f"{framework} {name}: args.path is required")
        if not found_targets:
            found_targets = [
                {
                    "kind": "path",
                    "value": path,
                    "operation": operation,
                    "endpoint_class": endpoint_class,
                }
            ]
        if not provenance:
            provenance = [{"arg_path": "$.path", "source": "user"}]
    if skill_provenance is None and framework == "autogpt":
        found = payload.get("skill_provenance")
        if found is not None:
            skill_provenance = _object(found, "skill_provenance")
    return capture_intent(
        name,
        args,
        ctx,
        targets=found_targets,
        arg_provenance=provenance,
        created_at=created_at,
        skill_provenance=skill_provenance,
        delegation=delegation,
    )
