"""`conveyor server`: serve Argo Server's REST API on this machine.

Workflows submitted over HTTP (Hera, curl, the argo CLI's HTTP mode) run
here, recorded in the same store `conveyor run` uses. On start the server
resumes the workflows a previous process left unfinished; on SIGINT or
SIGTERM it stops accepting requests, stops driving workflows (they stay
Running in the store and resume on the next start) and exits 0.

`--auth-mode` is Argo Server's: `server` asks for no token (the default on
a loopback address, with a warning in the log), `client` asks every request
for a token from `conveyor token create`. On any other address the default
is `client`, and `server` is refused unless `--insecure-no-auth` says the
network is trusted: whoever can reach the port can run commands here.
https://argo-workflows.readthedocs.io/en/latest/argo-server/
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING

import click

from conveyor.cli._common import open_store
from conveyor.cli._memory import bound_arenas, return_large_blocks
from conveyor.cli.main import handle_errors
from conveyor.config import Settings
from conveyor.errors import ConveyorError, InvalidInput

if TYPE_CHECKING:
    import uvicorn
    from fastapi import FastAPI

    from conveyor.runtime import Service
    from conveyor.store import Store

__all__ = ["OnReady", "bind", "choose_auth_mode", "configure_logging", "is_loopback", "serve", "server"]

_log = logging.getLogger("conveyor")
#: how long open streams (watches, followed logs) get to finish on shutdown
_GRACE_S = 3


def _uvicorn_server(app: FastAPI) -> uvicorn.Server:
    # Imported here, not at the top: every other command would pay for FastAPI and uvicorn.
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            # Signals are handled in `serve`: uvicorn's own handlers re-raise the
            # signal after shutdown, which ends the process with a traceback (SIGINT)
            # or status 143 (SIGTERM) instead of a clean exit.
            yield

    return Server(uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=_GRACE_S))


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio turns Nagle off only on sockets that say TCP, and with it on
    # every request after the first on a kept-alive connection waited ~40 ms for a delayed ACK
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)  # now, not in uvicorn: with SO_REUSEADDR a port in use fails only here
    except OSError as exc:
        sock.close()
        raise InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror}; choose another --host or --port") from None
    sock.set_inheritable(True)
    return sock


def configure_logging() -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    _log.propagate = False


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # any other host name: it may resolve to an address others can reach
        return False


def choose_auth_mode(host: str, auth_mode: str | None, insecure_no_auth: bool) -> str:
    """The auth mode to serve `host` with; InvalidInput for an unsafe or contradictory choice."""
    local = is_loopback(host)
    if auth_mode is None:
        auth_mode = "server" if local or insecure_no_auth else "client"
    if auth_mode == "client" and insecure_no_auth:
        raise InvalidInput("--insecure-no-auth contradicts --auth-mode client; leave one of them out")
    if auth_mode == "server" and not local and not insecure_no_auth:
        raise InvalidInput(
            f"refusing to serve {host} without authentication (--auth-mode server): anyone who can reach it "
            "could run commands on this machine. Use --auth-mode client (tokens from `conveyor token create`), "
            "listen on 127.0.0.1, or pass --insecure-no-auth if every machine that can reach it is trusted"
        )
    return auth_mode


def _log_auth_mode(auth_mode: str, url: str, store: Store) -> None:
    if auth_mode == "server":
        _log.warning("auth mode server: no token is asked for and every request may do everything; anyone "
                     "who can connect to %s can run commands on this machine (--auth-mode client asks for "
                     "tokens)", url)
    elif not any(t.revoked_at is None for t in store.list_tokens()):
        _log.warning("auth mode client, but there are no tokens yet: every request will be refused until "
                     "you create one (conveyor token create --namespace NS --role write)")
    else:
        _log.info("auth mode client: every request needs Authorization: Bearer <token>")


#: called once the server answers, with its Service and URL (`conveyor up` loads its examples there)
OnReady = Callable[["Service", str], Awaitable[None]]


async def serve(settings: Settings, sock: socket.socket, url: str, auth_mode: str,
                 on_ready: OnReady | None = None) -> None:
    from conveyor.api import create_app
    from conveyor.runtime import Service, choose_executor
    from conveyor.store import ArtifactRepo
    from conveyor.ui import mount_ui

    # Before anything large is allocated: status documents freed go back to the OS
    # instead of staying in malloc's arenas, and the threads share two arenas
    # (`_memory.py` has the measurements).
    return_large_blocks()
    bound_arenas()
    store = open_store(settings)
    _log_auth_mode(auth_mode, url, store)
    executor, why = await choose_executor(settings, _log.warning)
    _log.info(why)
    service = Service(settings, store, ArtifactRepo(settings.artifact_dir), executor)
    app = create_app(service, auth_mode=auth_mode)
    mount_ui(app)
    server = _uvicorn_server(app)

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
            _log.info("serving the web UI at %s/ and Argo's REST API at %s/api/v1 (OpenAPI: %s/openapi.json)",
                      url, url, url)
            if on_ready is not None:
                try:
                    await on_ready(service, url)
                except ConveyorError as exc:  # the server itself is fine: keep serving
                    _log.error("%s", exc.message)

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
@click.option("--auth-mode", type=click.Choice(["server", "client"]), default=None,
              help="server: no token asked for (default on a loopback --host); client: every request needs a "
                   "token from `conveyor token create` (default on any other --host)")
@click.option("--insecure-no-auth", is_flag=True,
              help="allow --auth-mode server on an address other machines can reach")
@handle_errors
def server(host: str, port: int, auth_mode: str | None, insecure_no_auth: bool) -> None:
    """Serve Argo Server's REST API (/api/v1/...): run workflows submitted over HTTP."""
    settings = Settings.from_env()
    auth_mode = choose_auth_mode(host, auth_mode, insecure_no_auth)
    configure_logging()
    sock = bind(host, port)
    bound = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    asyncio.run(serve(settings, sock, f"http://{shown}:{bound}", auth_mode))
