"""Every error as Argo Server's gRPC-gateway body: `{"code", "message", "details"}`.

One handler maps `ConveyorError` subclasses by the HTTP status and gRPC code
each carries (409 / 6 for a duplicate name, 404 / 5 not found, 400 / 3
invalid). FastAPI's own request validation (bad JSON, wrong types) and
routing errors (unknown path, wrong method) come out in the same shape, so
a client needs one error parser and never sees a traceback. On the
Kubernetes-style paths (`/apis/...`, see `kube.py`) the same errors come out
as Kubernetes `Status` objects instead, which is what clients there parse.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import Scope

from conveyor.api import kube
from conveyor.errors import ConveyorError, ManifestError, Problem
from conveyor.spec import too_deep

__all__ = ["error_body", "install_error_handlers", "refusal"]

_log = logging.getLogger("conveyor.api")

#: HTTP status -> gRPC code, as grpc-gateway maps them back (runtime.HTTPStatusFromCode)
_GRPC_CODES = {400: 3, 401: 16, 403: 7, 404: 5, 405: 12, 409: 6, 412: 9, 413: 3, 415: 3, 422: 3,
               429: 8, 499: 1, 501: 12, 503: 14, 504: 4}


def error_body(code: int, message: str) -> dict[str, Any]:
    return {"code": code, "message": message, "details": []}


def _reply(request: Request, status: int, code: int, message: str, problems: Sequence[Problem] = ()) -> JSONResponse:
    # RFC 6750: a 401 names the scheme the client should authenticate with.
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if kube.is_kube_path(request.url.path):
        status, body = kube.failure(request, status, message, problems)
        return JSONResponse(body, status_code=status, headers=headers)
    return JSONResponse(error_body(code, message), status_code=status, headers=headers)


def refusal(scope: Scope, status: int, message: str) -> JSONResponse:
    """An error reply for middleware, which has a scope rather than a Request."""
    return _reply(Request(scope), status, _GRPC_CODES.get(status, 2), message)


def unreadable_body(cause: BaseException | None) -> str:
    """Why a body that is not JSON at all could not be read (FastAPI only says that it could not)."""
    if isinstance(cause, UnicodeDecodeError):
        return (
            f"the request body is not valid UTF-8 (bad byte at offset {cause.start}); "
            "send JSON encoded as UTF-8"
        )
    if isinstance(cause, RecursionError):
        return too_deep("the request body")
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "the request body has a number too long to read (over 4,300 digits); write it as a string"
    what = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
    return f"the request body cannot be read as JSON{what}; send one JSON object (see /openapi.json)"


def _where(loc: Sequence[Any]) -> str:
    """('body', 'workflow', 'spec') -> 'body.workflow.spec'; ('query', 'x') -> 'query parameter x'."""
    parts = [str(p) for p in loc]
    if len(parts) == 2 and parts[0] in ("query", "path", "header"):
        return f"{parts[0]} parameter {parts[1]}"
    return ".".join(parts)


#: what pydantic says of a body that is not a JSON object (an array, a string, YAML text)
_NOT_AN_OBJECT = ("model_attributes_type", "dict_type", "model_type")


def validation_message(errors: Sequence[Any], content_type: str = "") -> str:
    problems = []
    for err in errors:
        loc = list(err.get("loc") or ())
        if loc == ["body"] and err.get("type") in _NOT_AN_OBJECT:
            kind = content_type.split(";")[0].strip().lower()
            if kind and kind != "application/json" and not kind.endswith("+json"):
                problems.append(
                    f"the request body must be JSON, and {kind} is not read here; convert it "
                    "first (for YAML, e.g. `yq -o json`), or use `conveyor submit`, which does"
                )
            else:
                problems.append("the request body must be a JSON object (each route's fields are in /openapi.json)")
            continue
        if err.get("type") == "json_invalid":
            # loc is ('body', <character offset>) for a body that is not JSON at all
            detail = (err.get("ctx") or {}).get("error", "")
            at = f" at character {loc[1]}" if len(loc) > 1 else ""
            problems.append(f"request body is not valid JSON{at}: {detail}".rstrip(": "))
        elif loc == ["body"] and err.get("type") == "missing":
            problems.append("the request has no JSON body; send one (see /openapi.json)")
        else:
            problems.append(f"{_where(loc)}: {err.get('msg', 'invalid')}")
    return "invalid request: " + "; ".join(problems)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ConveyorError)
    async def conveyor_error(request: Request, exc: ConveyorError) -> JSONResponse:
        if exc.http_status >= 500:
            _log.error("%s %s failed: %s", request.method, request.url.path, exc.message)
        problems = exc.problems if isinstance(exc, ManifestError) else ()
        return _reply(request, exc.http_status, exc.grpc_code, exc.message, problems)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _reply(request, 400, 3, validation_message(exc.errors(), request.headers.get("content-type", "")))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        where = f"{request.method} {request.url.path}"
        if exc.status_code == 404:
            message = f"{where}: no such route (the routes conveyor serves are in /openapi.json)"
        elif exc.status_code == 405:
            message = f"{where}: method not allowed on this route"
        elif exc.status_code == 400 and exc.detail == "There was an error parsing the body":
            message = f"{where}: {unreadable_body(exc.__cause__)}"
        else:
            message = f"{where}: {exc.detail}"
        return _reply(request, exc.status_code, _GRPC_CODES.get(exc.status_code, 2), message)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        # A bug, not bad input: log the traceback here and keep it out of the reply.
        _log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        return _reply(request, 500, 13, f"internal error ({type(exc).__name__}); the server log has the details")
