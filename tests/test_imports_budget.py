"""Import budget of the hot one-shot commands (issue 12).

Each command runs in a fresh interpreter; afterwards the set of imported
third-party packages and gait subpackages must stay within the lists stated
here, and the heavy packages a command does not need (click, lark,
cryptography, yaml, web frameworks) must not be loaded at all. A change that
makes a hot command import more fails here; widen a list only on purpose.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"
DSL_POLICY = REPO / "tests" / "policy" / "data" / "handwritten.gaitpol"
INTENT = REPO / "examples" / "policy" / "intents" / "intent_delete.json"

PROBE = r"""
import contextlib, io, sys
from gait.cli.main import main
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    code = main(sys.argv[3:])
names = set(sys.modules)
stdlib = set(sys.stdlib_module_names)
third = {n.split(".")[0] for n in names} - stdlib - {"gait", "__main__"}
third = {n for n in third if not n.startswith("_") and n != "cython_runtime"}
gait = {".".join(n.split(".")[:2]) for n in names if n.startswith("gait.")}
import json  # after the modules were listed: the probe's own imports do not count
with open(sys.argv[1], "w") as f:
    json.dump({"code": code, "third": sorted(third), "gait": sorted(gait),
               "pickle": "pickle" in names, "stdlib": sorted(names & set(sys.argv[2].split(","))),
               "modules": sorted(n for n in names if n.startswith("gait."))}, f)
"""

# Standard-library modules that cost a one-shot command milliseconds each, and the
# hot commands that must not load them (they did once, for no use of theirs).
WATCHED_STDLIB = (
    "calendar",
    "locale",
    "typing",
    "re",
    "json",
    "hashlib",
    "dataclasses",
    "inspect",
    "pathlib",
    "threading",
    "urllib.parse",
    "ipaddress",
)
# pathlib loads urllib.parse and ipaddress (~3 ms together): no hot command needs them.
NO_PATHS = {"pathlib", "urllib.parse", "ipaddress"}
STDLIB_FORBIDDEN: dict[str, set[str]] = {
    # msgspec is loaded without typing_extensions (gait.cli.fast), so nothing loads inspect
    # gait.canonical hashes with the interpreter's SHA-256 in one-shot commands: no hashlib
    "policy test": {"calendar", "locale", "dataclasses", "inspect", "threading", "hashlib"}
    | NO_PATHS,
    "gate eval": {"calendar", "locale", "threading", "hashlib", "dataclasses", "inspect"}
    | NO_PATHS,
    # manifest.json and refs.json are plain documents: read and written without json
    "verify": {"calendar", "locale", "dataclasses", "threading", "hashlib", "json"} | NO_PATHS,
    "trace verify": {"calendar", "locale", "dataclasses", "threading", "hashlib"} | NO_PATHS,
    # plain-text version output needs none of typing, regexes, JSON or hashing
    "version": {"typing", "re", "json", "hashlib", "dataclasses"},
}

# gait modules a hot command must not load although its subpackage is allowed:
# they were loaded once for work the common inputs never need.
MODULES_FORBIDDEN: dict[str, set[str]] = {
    # refs without a context set are checked by gait.intent.refs_check alone; the
    # argument is resolved by gait.runpack.locate, not the whole reader
    "verify": {"gait.intent.envelope", "gait.runpack.reader", "gait.runpack.intake"},
}

# Always off the one-shot paths: the web stack, MCP, Redis, and Lark (the DSL
# parser is generated; the lark package is only a build-time tool). rfc8785 is
# loaded only for values msgspec's sorted encoder cannot write as JCS (floats);
# typing_extensions not at all (see gait.cli.fast.load_msgspec_without_typing_extensions).
NEVER = {"lark", "starlette", "uvicorn", "httpx", "anyio", "mcp", "redis", "h11", "pydantic"}

CORE = {"gait.canonical", "gait.cli", "gait.errors", "gait.safejson"}
DECIDE = CORE | {"gait.engine", "gait.fsutil", "gait.intent", "gait.policy", "gait.vocab"}
GATE = DECIDE | {"gait.gate", "gait.signing", "gait.state", "gait.trace"}

# name: (argv, expected exit, allowed third-party packages, allowed gait subpackages, must not load)
BUDGETS: dict[str, tuple[list[str], int, set[str], set[str], set[str]]] = {
    "policy test": (  # the shipped YAML policy is read without PyYAML
        ["policy", "test", str(POLICY), str(INTENT), "--json"],
        3,
        {"msgspec"},
        DECIDE,
        {"click", "cryptography", "yaml"},
    ),
    "policy test (dsl policy)": (
        ["policy", "test", str(DSL_POLICY), str(INTENT), "--json"],
        3,
        {"msgspec"},
        DECIDE,
        {"click", "cryptography", "yaml"},
    ),
    "gate eval": (
        ["gate", "eval", "--policy", str(POLICY), "--intent", str(INTENT), "--json"],
        3,
        {"cryptography", "msgspec"},
        GATE,
        {"click", "yaml"},
    ),
    "gate eval --trace-out": (
        ["gate", "eval", str(POLICY), str(INTENT), "--trace-out", "{work}/t.json", "--json"],
        3,
        {"cryptography", "msgspec"},
        GATE,
        {"click", "yaml"},
    ),
    "gate eval (dsl policy)": (
        ["gate", "eval", "--policy", str(DSL_POLICY), "--intent", str(INTENT), "--json"],
        3,
        {"cryptography", "msgspec"},
        GATE,
        {"click", "yaml"},
    ),
    "verify": (  # the demo pack is signed with the per-user dev key: its signature is checked
        ["verify", "{work}/gait-out/runpack_run_demo.zip", "--json"],
        0,
        {"cryptography", "msgspec"},
        CORE | {"gait.fsutil", "gait.intent", "gait.runpack", "gait.signing"},
        {"click", "yaml", "gait.policy", "gait.engine"},
    ),
    "trace verify": (
        ["trace", "verify", "{work}/trace.json", "--public-key", "{work}/k_public.key", "--json"],
        0,
        {"cryptography", "msgspec"},
        CORE | {"gait.fsutil", "gait.signing", "gait.trace"},
        {"click", "yaml", "gait.policy", "gait.engine"},
    ),
    "--help": (["--help"], 0, {"click"}, {"gait.cli", "gait.errors"}, {"msgspec", "yaml"}),
    "version": (["version"], 0, set(), {"gait.cli", "gait.errors"}, {"click", "msgspec", "yaml"}),
}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo runpack, a key pair and a trace signed with it."""
    from gait.cli.main import main

    root = tmp_path_factory.mktemp("budget")
    subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "demo"],
        cwd=root,
        capture_output=True,
        timeout=60,
        check=True,
    )
    from gait.signing.keyfiles import init_key_files

    init_key_files(str(root), "k")
    argv = ["gate", "eval", "--policy", str(POLICY), "--intent", str(INTENT)]
    argv += ["--key-mode", "prod", "--private-key", str(root / "k_private.key")]
    assert main([*argv, "--trace-out", str(root / "trace.json"), "--json"]) == 3
    return root


def loaded(argv: list[str], cwd: Path) -> dict[str, object]:
    out = cwd / "probe.json"
    subprocess.run(
        [sys.executable, "-c", PROBE, str(out), ",".join(WATCHED_STDLIB), *argv],
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.read_text())


@pytest.mark.parametrize("name", list(BUDGETS))
def test_hot_command_stays_in_its_import_budget(name: str, work: Path) -> None:
    argv, code, third, gait, forbidden = BUDGETS[name]
    argv = [a.replace("{work}", str(work)) for a in argv]
    seen = loaded(argv, work)
    assert seen["code"] == code, seen
    extra_third = set(seen["third"]) - third  # type: ignore[arg-type]
    extra_gait = set(seen["gait"]) - gait  # type: ignore[arg-type]
    assert not extra_third, f"{name} now imports {sorted(extra_third)}"
    assert not extra_gait, f"{name} now imports {sorted(extra_gait)}"
    everything = set(seen["third"]) | set(seen["gait"])  # type: ignore[arg-type]
    assert not everything & (forbidden | NEVER), f"{name} imports {everything & forbidden}"
    command = name.split(" (")[0].removesuffix(" --trace-out")  # variants: the command's list
    heavy = set(seen["stdlib"]) & STDLIB_FORBIDDEN.get(command, set())  # type: ignore[arg-type]
    heavy |= set(seen["modules"]) & MODULES_FORBIDDEN.get(name, set())  # type: ignore[arg-type]
    assert not heavy, f"{name} imports {sorted(heavy)}"
    # Nothing on a one-shot path can unpickle anything (issue 11 A1).
    assert seen["pickle"] is False, f"{name} imports pickle"
