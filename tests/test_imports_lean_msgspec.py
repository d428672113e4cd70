"""msgspec loaded without typing_extensions (gait.cli.fast) reads the same type hints.

The hot one-shot commands import msgspec so that it falls back to :mod:`typing`
for type hints instead of typing_extensions (which imports inspect, ast and
dis: ~9 ms of a one-shot command). These tests hold that the fallback is the
same for gait: every msgspec Struct in gait gets identical hints either way,
and each hot command prints the same bytes with msgspec loaded either way.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import typing
from pathlib import Path

import msgspec
import pytest
import typing_extensions

import gait
from gait.cli import fast
from gait.signing.keyfiles import init_key_files

REPO = Path(__file__).resolve().parent.parent
POLICY = REPO / "examples" / "policy" / "base_high_risk.yaml"
INTENTS = REPO / "examples" / "policy" / "intents"

# Optional extras (web server, MCP, Redis) are not what the hot commands load.
_SKIP = ("gait.serve", "gait.mcp", "gait.sdk", "gait.pytest_plugin")


def _gait_structs() -> list[type]:
    for info in pkgutil.walk_packages(gait.__path__, "gait."):
        if info.name.startswith(_SKIP):
            continue
        importlib.import_module(info.name)
    found: list[type] = []
    todo = list(msgspec.Struct.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("gait."):
            found.append(cls)
    return found


def _hints(lookup: typing.Any, cls: type) -> tuple[str, object]:
    """The hints, or the error (a Struct whose annotations name type-checking-only imports)."""
    try:
        return "hints", lookup(cls, include_extras=True)
    except Exception as err:
        return "error", (type(err), str(err))


def test_every_gait_struct_has_the_same_hints_through_typing() -> None:
    structs = _gait_structs()
    assert len(structs) > 20  # the policy, intent, trace, runpack and gate records
    resolved = 0
    for cls in structs:
        plain = _hints(typing.get_type_hints, cls)
        assert plain == _hints(typing_extensions.get_type_hints, cls), cls
        resolved += plain[0] == "hints"
    assert resolved > 20
    assert typing_extensions.Required is typing.Required
    assert typing_extensions.NotRequired is typing.NotRequired


LEAN = r"""
import sys
from gait.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
# msgspec with typing_extensions, as any other program loads it
NORMAL = r"""
import sys
import typing_extensions, msgspec
from gait.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


def _run(code: str, argv: list[str], cwd: Path) -> tuple[int, str, str]:
    proc = subprocess.run(
        [sys.executable, "-c", code, *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return proc.returncode, proc.stdout, proc.stderr


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lean")
    init_key_files(str(root), "k")
    argv = ["gate", "eval", str(POLICY), str(INTENTS / "intent_read.json")]
    argv += ["--key-mode", "prod", "--private-key", str(root / "k_private.key")]
    code, _out, err = _run(LEAN, [*argv, "--trace-out", str(root / "trace.json")], root)
    assert code == 0, err
    subprocess.run(
        [sys.executable, "-m", "gait.cli.main", "demo"],
        cwd=root,
        capture_output=True,
        timeout=60,
        check=True,
    )
    return root


def test_hot_commands_print_the_same_with_msgspec_loaded_either_way(work: Path) -> None:
    argvs = [["policy", "test", str(POLICY), str(i), "--json"] for i in sorted(INTENTS.glob("*"))]
    pub = str(work / "k_public.key")
    argvs += [
        ["trace", "verify", str(work / "trace.json"), "--public-key", pub, "--json"],
        ["verify", str(work / "gait-out" / "runpack_run_demo.zip"), "--json"],
    ]
    codes = set()
    for argv in argvs:
        lean, normal = _run(LEAN, argv, work), _run(NORMAL, argv, work)
        assert lean == normal, argv
        assert lean[1].startswith("{"), lean
        codes.add(lean[0])
    assert {0, 3} <= codes


def test_gate_eval_decides_the_same_with_msgspec_loaded_either_way(work: Path) -> None:
    key = ["--key-mode", "prod", "--private-key", str(work / "k_private.key")]
    for intent in sorted(INTENTS.glob("*.json")):
        seen = []
        for code in (LEAN, NORMAL):
            cwd = work / f"gate_{len(seen)}_{intent.stem}"  # same argv, its own directory
            cwd.mkdir()
            argv = ["gate", "eval", str(POLICY), str(intent), *key, "--trace-out", "t.json"]
            exit_code, stdout, stderr = _run(code, [*argv, "--json"], cwd)
            payload = json.loads(stdout)
            payload.pop("trace_id")  # differs per run; everything decided must not
            trace = json.loads((cwd / "t.json").read_text())
            signed = {k: v for k, v in trace.items() if k in ("verdict", "reason_codes")}
            seen.append((exit_code, payload, stderr, signed))
        assert seen[0] == seen[1], intent
        assert seen[0][0] in (0, 3, 4)


def test_lean_import_only_in_a_fresh_process() -> None:
    # Here msgspec is loaded already: nothing changes, typing_extensions stays.
    fast.load_msgspec_without_typing_extensions()
    assert sys.modules["typing_extensions"] is typing_extensions
    code = (
        "import sys\n"
        "from gait.cli.fast import load_msgspec_without_typing_extensions as lean\n"
        "lean()\n"
        "loaded = ('msgspec' in sys.modules, 'typing_extensions' in sys.modules)\n"
        "import typing_extensions\n"
        "print(loaded, typing_extensions.__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert out.strip() == "(True, False) typing_extensions"
