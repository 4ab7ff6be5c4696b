"""`conveyor server`: serve Argo Server's REST API on this machine.

Workflows submitted over HTTP (Hera, curl, the argo CLI's HTTP mode) run
here, recorded in the same store `conveyor run` uses. On start the server
resumes the workflows a previous process left unfinished; on SIGINT or
SIGTERM it stops accepting requests, stops driving workflows (they stay
Running in the store and resume on the next start) and exits 0.
https://argo-workflows.readthedocs.io/en/latest/argo-server/
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from conveyor.cli._common import open_store
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import ConveyorError, InvalidInput

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

__all__ = ["server"]

_log = logging.getLogger("conveyor")
#: how long open streams (watches, followed logs) get to finish on shutdown
_GRACE_S = 3


def _uvicorn_server(app: FastAPI) -> uvicorn.Server:
    # Imported here, not at the top: every other command would pay for FastAPI and uvicorn.
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Signals are handled in `_serve`: uvicorn's own handlers re-raise the
            # signal after shutdown, which ends the process with a traceback (SIGINT)
            # or status 143 (SIGTERM) instead of a clean exit.
            yield

    return Server(uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=_GRACE_S))


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # now, not in uvicorn: with SO_REUSEADDR a port in use fails only here
    except OSError as exc:
        sock.close()
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def _configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False


async def _serve(settings: Settings, sock: socket.socket, url: str) -> None:
    from conveyor.api import create_app
    from conveyor.runtime import Service, choose_executor
    from conveyor.store import ArtifactRepo

    store = open_store(settings)
    executor, why = await choose_executor(settings, _log.warning)
    _log.info(why)
    service = Service(settings, store, ArtifactRepo(settings.artifact_dir), executor)
    server = _uvicorn_server(create_app(service))

    def stop() -> None:
        if server.should_exit:  # a second signal: stop waiting for open streams
            server.force_exit = True
        server.should_exit = True

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)

    async def announce() -> None:
        while not server.started and not server.should_exit:
            await asyncio.sleep(0.05)
        if server.started:
            _log.info("serving Argo's REST API at %s/api/v1 (OpenAPI: %s/openapi.json)", url, url)

    announcer = asyncio.ensure_future(announce())
    try:
        await server.serve(sockets=[sock])
        if server.force_exit:  # the lifespan shutdown was skipped
            await service.close()
        if not server.started:
            raise ConveyorError("the server could not start; the messages above say why")
    finally:
        announcer.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        store.close()


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: every interface)")
@click.option("--port", default=2746, show_default=True, type=click.IntRange(0, 65535), help="port (Argo Server's is 2746)")
@handle_errors
def server(host: str, port: int) -> None:
    """Serve Argo Server's REST API (/api/v1/...): run workflows submitted over HTTP."""
    settings = Settings.from_env()
    _configure_logging()
    sock = _bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    asyncio.run(_serve(settings, sock, f"http://{shown}:{bound}"))
