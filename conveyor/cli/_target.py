"""Where a client command's requests go: an Argo Server, or (with no server) the local store.

Every client command takes `--host`, `-n/--namespace`, `--token` and `-k`.
Flags win over CONVEYOR_HOST / CONVEYOR_NAMESPACE / CONVEYOR_TOKEN, which win
over PIPELINE_HOST / PIPELINE_NS / PIPELINE_TOKEN (see `Settings`).

The fallback rule: when no host was given anywhere and nothing answers at the
default address, the commands that make sense without a server (`get`,
`list`, `logs`, `resume|stop|terminate`, `template ...`) work on the local
store under CONVEYOR_HOME and say so in one line on stderr. The others ask
`remote()`, whose ServerUnreachable names the address and what to do.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import wraps
from typing import Any, Protocol, TypeVar

import click
from rich.markup import escape

from conveyor.cli._common import open_store
from conveyor.cli._local import LocalApi
from conveyor.cli.main import err
from conveyor.client import ArgoClient, Target
from conveyor.config import Settings

__all__ = ["Api", "Connection", "server_options"]

Json = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])


class Api(Protocol):
    """What both ArgoClient and LocalApi answer: the calls the fallback commands make."""

    def get_workflow(self, name: str, *, namespace: str | None = None, fields: str | None = None) -> Json: ...

    def list_workflows(self, *, namespace: str | None = None, label_selector: str | None = None,
                       field_selector: str | None = None, limit: int | None = None,
                       continue_token: str | None = None, fields: str | None = None) -> Json: ...

    def logs(self, name: str, *, namespace: str | None = None, pod_name: str | None = None,
             container: str = "main", follow: bool = False, grep: str | None = None) -> Iterator[Json]: ...

    def workflow_action(self, name: str, verb: str, body: Json | None = None, *,
                        namespace: str | None = None) -> Json: ...

    def create_resource(self, kind: str, manifest: Json, *, namespace: str | None = None) -> Json: ...

    def update_resource(self, kind: str, manifest: Json, *, namespace: str | None = None) -> Json: ...

    def list_resources(self, kind: str, *, namespace: str | None = None,
                       label_selector: str | None = None) -> Json: ...

    def get_resource(self, kind: str, name: str, *, namespace: str | None = None) -> Json: ...

    def delete_resource(self, kind: str, name: str, *, namespace: str | None = None) -> None: ...


@dataclass(frozen=True)
class Connection:
    """The connection flags as given; resolved only inside the command, so a bad value is one error line."""

    host: str | None = None
    namespace: str | None = None
    token: str | None = None
    insecure: bool = False

    def _target(self, settings: Settings) -> Target:
        target = Target.from_settings(settings, host=self.host, namespace=self.namespace, token=self.token)
        return dataclasses.replace(target, verify_ssl=False) if self.insecure else target

    def remote(self) -> ArgoClient:
        """A client for the server; its calls raise ServerUnreachable when nothing answers."""
        client = ArgoClient(self._target(Settings.from_env()))
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            ctx.call_on_close(client.close)
        return client

    def api(self) -> Api:
        """The server, or the local store when no host was given and nothing answers at the default one."""
        settings = Settings.from_env()
        client = self.remote()
        given = self.host or os.environ.get("CONVEYOR_HOST") or os.environ.get("PIPELINE_HOST")
        if given or client.answers():
            return client
        err.print(f"[dim]no server at {escape(client.target.host)}; using the local store at "
                  f"{escape(str(settings.db_path))}[/dim]")
        return LocalApi(settings, open_store(settings), self.namespace or settings.namespace)


_OPTIONS = (
    click.option("--host", default=None, metavar="URL",
                 help="Argo Server or `conveyor server` address [default: CONVEYOR_HOST, PIPELINE_HOST, "
                      "http://127.0.0.1:2746]"),
    click.option("-n", "--namespace", default=None,
                 help="namespace [default: CONVEYOR_NAMESPACE, PIPELINE_NS, default]"),
    click.option("--token", default=None, help="bearer token [default: CONVEYOR_TOKEN, PIPELINE_TOKEN]"),
    click.option("-k", "--insecure-skip-verify", "insecure", is_flag=True,
                 help="do not check the server's TLS certificate"),
)


def server_options(fn: F) -> F:
    """Add the connection options; the command receives them as one `conn: Connection`."""

    @wraps(fn)
    def wrapper(*args: Any, host: str | None, namespace: str | None, token: str | None, insecure: bool,
                **kwargs: Any) -> Any:
        return fn(*args, conn=Connection(host, namespace, token, insecure), **kwargs)

    command: Any = wrapper
    for option in reversed(_OPTIONS):
        command = option(command)
    return command  # type: ignore[no-any-return]
