"""Start-up objects are moved out of the cyclic collector's sight once the app serves."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from gait.serve.app import create_app
from tests.serve.test_inline_lane import _service


def test_lifespan_start_freezes_what_start_up_built(tmp_path):
    service = _service(tmp_path)
    app = create_app(service)
    started: list[int] = []
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not messages:
            await asyncio.sleep(3600)
        message = messages.pop(0)
        if message["type"] == "lifespan.shutdown":
            started.append(gc.get_freeze_count())  # taken while the app is serving
        return message

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        asyncio.run(asyncio.wait_for(app({"type": "lifespan"}, receive, send), 30))
    finally:
        gc.unfreeze()  # leave the test process as it was
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert started and started[0] > 1000
