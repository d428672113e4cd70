"""HTTP decision service (``gait mcp serve``): starlette on uvicorn, optional extra ``gait[serve]``.

:class:`ServeConfig` and :func:`validate_config` are framework-free; the app
(:func:`gait.serve.app.create_app`) and the runner (:func:`gait.serve.server.run_server`)
import starlette/uvicorn only when called.
"""

from __future__ import annotations

from gait.serve.config import ServeConfig, validate_config
from gait.serve.request import EvaluateRequest, RequestRejected
from gait.serve.service import DecisionService

__all__ = [
    "DecisionService",
    "EvaluateRequest",
    "RequestRejected",
    "ServeConfig",
    "validate_config",
]
