"""conveyor's web UI: a static single-page app served by `conveyor server` at `/`.

The page is a client of the same Argo Server REST API every other client
uses (plus the read-only `/api/v1/conveyor/` routes for namespaces, settings
and cron next-run times), with the caller's token kept in the browser's
session storage. Every asset ships in this package: no CDN, nothing fetched
from the internet. The only third-party file is js-yaml (MIT), vendored
under `assets/vendor/` with its licence, for the manifest view.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS", "mount_ui"]

ASSETS = Path(__file__).resolve().parent / "assets"
#: the page itself is never cached, so a new conveyor's assets are picked up at once
_NO_CACHE = {"Cache-Control": "no-cache"}


def mount_ui(app: FastAPI) -> None:
    """Serve the UI at `/` and its assets under `/ui/`; API routes keep priority."""

    async def index() -> FileResponse:
        return FileResponse(ASSETS / "index.html", headers=_NO_CACHE)

    app.add_api_route("/", index, methods=["GET"], include_in_schema=False)
    app.mount("/ui", StaticFiles(directory=ASSETS), name="ui")
