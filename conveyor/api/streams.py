"""Streamed replies as Argo Server sends them: one `{"result": ...}` object per line.

With `Accept: text/event-stream` each object goes out as a server-sent event
(`data: {...}` and a blank line), which is how Argo's UI reads logs and
watches. An error after the stream has started cannot change the status
line any more, so it is sent as a last `{"error": {...}}` object, grpc-gateway's
StreamError.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from conveyor.errors import ConveyorError

__all__ = ["stream_results", "wants_sse"]


def wants_sse(request: Request) -> bool:
    return "text/event-stream" in request.headers.get("accept", "")


def _error(exc: ConveyorError) -> dict[str, Any]:
    return {"error": {"grpc_code": exc.grpc_code, "http_code": exc.http_status, "message": exc.message,
                      "http_status": HTTPStatus(exc.http_status).phrase, "details": []}}


def stream_results(request: Request, results: AsyncIterator[dict[str, Any]]) -> StreamingResponse:
    sse = wants_sse(request)

    def encode(obj: dict[str, Any]) -> bytes:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
        return f"data: {text}\n\n".encode() if sse else f"{text}\n".encode()

    async def body() -> AsyncIterator[bytes]:
        try:
            async for result in results:
                yield encode({"result": result})
        except ConveyorError as exc:
            yield encode(_error(exc))

    # No buffering on the way: proxies (nginx) would otherwise hold events back.
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    media = "text/event-stream" if sse else "application/json"
    return StreamingResponse(body(), media_type=media, headers=headers)
