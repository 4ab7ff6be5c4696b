"""`create_app(service)`: the FastAPI application serving Argo Server's REST API.

The lifespan starts the Service (resuming the workflows a previous process
left unfinished, one log line each) and closes it on shutdown; workflows
still running then stay Running in the store and resume on the next start.
FastAPI's own OpenAPI document is at `/openapi.json` (and `/docs`).
Request bodies are bounded before anything else reads them (see `bodies.py`).
`auth_mode` is Argo's `--auth-mode`: "server" (no token asked for) or
"client" (a token on every request; see `auth.py`).
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.types import ASGIApp, Receive, Scope, Send

from conveyor import __version__
from conveyor.api import (
    logs,
    routes_archived,
    routes_conveyor,
    routes_cron,
    routes_info,
    routes_kube,
    routes_kube_discovery,
    routes_templates,
    routes_workflows,
    submit,
    watch,
)
from conveyor.api.auth import AUTH_MODES
from conveyor.api.bodies import BodyLimit, bounded_body
from conveyor.api.errors import install_error_handlers
from conveyor.errors import InvalidInput
from conveyor.runtime import Service
from conveyor.runtime.cron import CronTicker

__all__ = ["create_app"]

_log = logging.getLogger("conveyor")

_DESCRIPTION = """\
Argo Workflows' REST API (`/api/v1/...`), served by conveyor on one machine.
Requests and replies are Argo Server's: Argo's own clients (Hera's
WorkflowsService, the argo CLI's HTTP mode) talk to it unchanged. Errors are
gRPC-gateway bodies `{"code", "message", "details"}`. Logs and watches stream
one JSON object per line, or server-sent events with `Accept: text/event-stream`.
Workflows and CronWorkflows are also served at Kubernetes' paths
(`/apis/argoproj.io/v1alpha1/...`), with Kubernetes' shapes and `Status`
errors, for kubectl and Kubernetes clients pointed here by a kubeconfig.
"""


class JsonBodies:
    """Read request bodies as JSON whatever their Content-Type says, as grpc-gateway does.

    `curl -d '{...}'` sends `application/x-www-form-urlencoded` unless told
    otherwise; without this, a good body would be rejected as "not an object".
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            given = dict(scope["headers"]).get(b"content-type", b"")
            if not given or given.startswith((b"application/x-www-form-urlencoded", b"text/plain")):
                headers = [h for h in scope["headers"] if h[0] != b"content-type"]
                scope = {**scope, "headers": [*headers, (b"content-type", b"application/json")]}
        await self.app(scope, receive, send)


def create_app(service: Service, *, auth_mode: str = "server") -> FastAPI:
    if auth_mode not in AUTH_MODES:
        raise InvalidInput(f"auth mode {auth_mode!r} is not known; use one of {', '.join(AUTH_MODES)}")
    hub = watch.WatchHub(service)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for name in await service.start():
            _log.info("resumed workflow %s (left unfinished by a previous process)", name)
        ticker = CronTicker(service)
        service.on_cron_change = ticker.notify
        cron = asyncio.ensure_future(ticker.run())
        try:
            yield
        finally:
            cron.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await cron
            hub.close()
            await service.close()

    app = FastAPI(title="conveyor", version=__version__, description=_DESCRIPTION, lifespan=lifespan,
                  dependencies=[Depends(bounded_body)])
    app.state.service = service
    app.state.hub = hub
    app.state.auth_mode = auth_mode
    install_error_handlers(app)
    app.add_middleware(JsonBodies)
    app.add_middleware(BodyLimit, service=service)
    for module in (routes_info, routes_workflows, submit, logs, watch, routes_templates, routes_cron,
                   routes_archived, routes_kube, routes_kube_discovery, routes_conveyor):
        app.include_router(module.router)
    return app
