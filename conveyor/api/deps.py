"""What every route module shares: the Service of the app, and plain JSON replies.

Routes answer with `JSONResponse` rather than letting FastAPI re-validate
through their response models: workflows are passed through exactly as
stored (they can be large), and the models only document the shapes.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse

from conveyor.api.models import ErrorBody
from conveyor.errors import InvalidInput
from conveyor.runtime import Service

__all__ = ["ERRORS", "JSONText", "ServiceDep", "checked", "reply", "service_of"]


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(service_of)]


def reply(body: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status)


class JSONText(JSONResponse):
    """A reply whose content is JSON text already (an object as the store keeps it:
    compact and UTF-8, the bytes JSONResponse would write for the parsed object)."""

    def render(self, content: Any) -> bytes:
        if not isinstance(content, str):
            raise TypeError(f"JSONText takes JSON text, not {type(content).__name__}")
        return content.encode("utf-8")


#: what every route documents for its failures: the gRPC-gateway error body
ERRORS: dict[int | str, dict[str, Any]] = {
    "default": {"model": ErrorBody, "description": "An error: 400 / 3 invalid, 404 / 5 not found, 409 / 6 already exists"},
}


def checked(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    """`manifest` once its metadata is known to be an object (or absent).

    Everything else about a manifest is for `conveyor.spec` to judge, with every
    problem listed; the Service reads metadata before that, so check it here.
    """
    meta = manifest.get("metadata", {})
    if meta is None:  # `metadata: null`, as a YAML `metadata:` with nothing under it reads
        return {k: v for k, v in manifest.items() if k != "metadata"}
    if not isinstance(meta, dict):
        raise InvalidInput(f"{where}.metadata must be an object, got {type(meta).__name__}")
    return manifest
