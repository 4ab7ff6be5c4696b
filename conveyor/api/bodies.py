"""Bounds on request bodies, checked before a route (or pydantic) reads them.

Hostile input must cost the server little and never reach code that recurses
into it or copies it many times over, so a body is refused

- with 413 when it is over CONVEYOR_MAX_MANIFEST_BYTES, before it is held in
  memory (`BodyLimit`, an ASGI middleware);
- with 400 when it holds more than CONVEYOR_MAX_MANIFEST_VALUES JSON values,
  before it is parsed (`BodyLimit` again: memory follows values, not bytes,
  and 10 MB of `{},` is 3.5 million objects, a gigabyte once parsed, copied
  and validated);
- with 400 when it nests deeper than `spec.MAX_DEPTH` levels or holds a lone
  UTF-16 surrogate, once parsed and before the route runs (`bounded_body`, an
  app-wide dependency that reads the body FastAPI parsed from its cache).

The errors name the limit and its setting; see `errors.py` for their shape.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from conveyor.api.errors import refusal
from conveyor.errors import InvalidInput
from conveyor.runtime import Service
from conveyor.spec import nesting_problem

__all__ = ["BodyLimit", "bounded_body", "json_values"]

_BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
#: what a too-large body is read on for, at most, so that its client sees the 413
#: rather than a reset connection; past it the connection is dropped after the reply
_DRAIN_LIMIT_BYTES = 256 * 1024 * 1024


class BodyLimit:
    """Refuse bodies over CONVEYOR_MAX_MANIFEST_BYTES (413) or CONVEYOR_MAX_MANIFEST_VALUES (400).

    The limits are read from the service's settings. A declared Content-Length
    over the limit is refused before any of the body is read; a chunked body is
    counted as it arrives. Either way what was sent is read and dropped (up to
    `_DRAIN_LIMIT_BYTES`), since a client that is still writing would otherwise
    see a reset connection instead of the answer.
    """

    def __init__(self, app: ASGIApp, service: Service) -> None:
        self.app = app
        self.service = service

    @property
    def max_bytes(self) -> int:
        return self.service.settings.max_manifest_bytes

    @property
    def max_values(self) -> int:
        return self.service.settings.max_manifest_values

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        size = 0
        if declared is None or declared <= self.max_bytes:
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    return  # the client went away
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > self.max_bytes:
                    break
                chunks.append(chunk)
                if not message.get("more_body", False):
                    await self._pass(scope, b"".join(chunks), receive, send)
                    return
            chunks.clear()
        size += await _drain(receive)
        told = f"{declared:,} bytes" if declared is not None else f"at least {size:,} bytes"
        await refusal(
            scope,
            413,
            (
                f"the request body is {told}, more than the limit of {self.max_bytes:,} bytes "
                "(CONVEYOR_MAX_MANIFEST_BYTES on the server); split the manifest (move templates into "
                "WorkflowTemplates, pass big data as artifacts) or raise the limit"
            ),
        )(scope, receive, send)

    async def _pass(self, scope: Scope, body: bytes, receive: Receive, send: Send) -> None:
        values = json_values(body, self.max_values)
        if values > self.max_values:
            await refusal(
                scope,
                400,
                (
                    f"the request body holds {values:,} JSON values (objects, lists, strings, numbers and keys), "
                    f"more than the limit of {self.max_values:,} (CONVEYOR_MAX_MANIFEST_VALUES on the server); "
                    "split the manifest, pass big data as artifacts, or raise the limit"
                ),
            )(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


_STRUCTURE = (b",", b":", b"[", b"{")
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def json_values(body: bytes, limit: int) -> int:
    """How many values and keys a JSON text holds, exactly once it is more than `limit`.

    Every value or key but the first follows a `,`, `:`, `[` or `{`; counting those
    bytes is a fast upper bound, and only when it passes the limit are strings
    (whose bytes do not count) and blanks taken out to make the count exact (an
    empty `{}` or `[]` is one value, not two).
    """
    bound = 1 + sum(body.count(c) for c in _STRUCTURE)
    if bound <= limit:
        return bound
    bare = _JSON_STRING.sub(b'""', body).translate(None, b" \t\r\n")
    return 1 + sum(bare.count(c) for c in _STRUCTURE) - bare.count(b"{}") - bare.count(b"[]")


def _content_length(scope: Scope) -> int | None:
    for key, value in scope["headers"]:
        if key == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the buffered body, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _drain(receive: Receive) -> int:
    """Read and drop the rest of a body (up to the drain limit); how many bytes that was."""
    size = 0
    while size <= _DRAIN_LIMIT_BYTES:
        message = await receive()
        if message["type"] != "http.request":
            break
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return size


# A \uD800-\uDFFF escape: JSON allows it alone, but text with a lone surrogate cannot
# be stored or sent back as UTF-8. Bodies without one (nearly all) skip the string walk.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


async def bounded_body(request: Request) -> None:
    """Refuse a JSON body that nests too deeply or holds a lone surrogate, before the route
    (or pydantic) walks it. The body FastAPI parsed for the route is read again from its cache."""
    route = request.scope.get("route")
    if (
        request.method not in _BODY_METHODS
        or not isinstance(route, APIRoute)
        or route.body_field is None
    ):
        return
    body = await request.body()
    if not body:
        return
    try:
        data = await request.json()
    except Exception:  # noqa: BLE001 - FastAPI has answered a body it could not parse
        return
    problem = nesting_problem(data, "the request body")
    if problem is None and _SURROGATE_ESCAPE.search(body):
        problem = _lone_surrogate(data)
    if problem:
        raise InvalidInput(problem)


def _lone_surrogate(data: Any) -> str | None:
    pending = [data]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            pending.extend(node)
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
        elif isinstance(node, str):
            try:
                node.encode("utf-8")
            except UnicodeEncodeError:
                return (
                    f"the request body has a string with a lone UTF-16 surrogate ({node[:40]!r}); "
                    "such text cannot be stored as UTF-8, so send valid Unicode"
                )
    return None
