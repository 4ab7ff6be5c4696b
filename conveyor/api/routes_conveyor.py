"""conveyor's own read-only routes under `/api/v1/conveyor/`, for its web UI.

Argo Server has no call for these (its UI takes namespaces as typed text and
shows no settings), so they live under a prefix of their own that Argo will
not use; every Argo client ignores them.
- `namespaces`: the namespaces the caller may see that hold anything, plus
  the token's own (a token for `*` sees every one);
- `config`: what `conveyor config` prints for the server's environment,
  secrets masked;
- `cron-workflows/{ns}/{name}/next-runs`: the next times a CronWorkflow's
  schedules fire (from the pure schedule functions the ticker uses).
"""

from __future__ import annotations

import os
from datetime import UTC, datetime

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from conveyor.api.auth import Auth, require
from conveyor.api.deps import ERRORS, ServiceDep, reply
from conveyor.config import config_rows
from conveyor.runtime import next_fires
from conveyor.store import ALL_NAMESPACES

__all__ = ["router"]

router = APIRouter(tags=["conveyor"], responses=ERRORS)
_BASE = "/api/v1/conveyor"


@router.get(f"{_BASE}/namespaces", summary="Namespaces the caller may see (conveyor only)")
async def list_namespaces(service: ServiceDep, auth: Auth) -> JSONResponse:
    held = set(service.store.namespaces())
    token = auth.token
    if token is None or ALL_NAMESPACES in token.namespaces:
        seen = held | {service.settings.namespace}
    else:
        seen = set(token.namespaces)
    return reply({"namespaces": sorted(seen)})


@router.get(f"{_BASE}/config", summary="The server's configuration, as `conveyor config` shows it (conveyor only)")
async def get_config(auth: Auth) -> JSONResponse:
    require(auth, None, "get")
    rows = [{"name": n, "value": v, "default": d, "meaning": m} for n, v, d, m in config_rows(os.environ)]
    return reply({"variables": rows})


@router.get(f"{_BASE}/cron-workflows/{{namespace}}/{{name}}/next-runs",
            summary="When a CronWorkflow runs next (conveyor only)")
async def cron_next_runs(namespace: str, name: str, service: ServiceDep, auth: Auth,
                         count: int = Query(5, ge=1, le=50)) -> JSONResponse:
    require(auth, namespace, "get")
    spec = service.get_template("CronWorkflow", namespace, name).get("spec") or {}
    times = next_fires(spec.get("schedules") or [], spec.get("timezone"), datetime.now(UTC), count)
    return reply({"times": [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in times], "suspended": bool(spec.get("suspend"))})
