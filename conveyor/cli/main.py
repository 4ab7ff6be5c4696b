"""`conveyor`: the command line. Parse, call, print; exit 0 / 1 / 2.

Exit codes: 0 the workflow Succeeded (or lint found nothing), 1 it Failed or
ended in Error (or the server answered with an error), 2 the input was
invalid (every problem is listed). Errors are one line on stderr, never a
traceback.

`run`, `lint`, `server`, `token`, `secret`, `image`, `registry`, `config` and
`env` work on this machine;
the others are clients of an Argo Server (`conveyor server` or a real one),
see `_target` for where they connect and their no-server fallback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from importlib import import_module
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.markup import escape

from conveyor import __version__
from conveyor.errors import ConveyorError, InvalidInput

__all__ = ["main", "cli"]

F = TypeVar("F", bound=Callable[..., Any])

err = Console(stderr=True, highlight=False, soft_wrap=True)


def handle_errors(fn: F) -> F:
    """Turn conveyor's errors into one clear message and an exit code, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except InvalidInput as exc:  # ManifestError too: its message lists every problem
            err.print(f"[red]invalid:[/red] {escape(exc.message)}", markup=True)
            sys.exit(2)
        except ConveyorError as exc:
            # escaped: server messages may hold [brackets] that rich would read as markup
            err.print(f"[red]error:[/red] {escape(exc.message)}", markup=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class _LazyGroup(click.Group):
    """Loads a command's module only when that command runs.

    Manifest reading and the runtime pull in Hera's models (over a second to
    import); client commands such as `list` or `get` need none of it.
    """

    lazy: dict[str, str] = {}  # command name -> "module:attribute" under conveyor.cli

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, _, attr = self.lazy[cmd_name].partition(":")
            self.add_command(getattr(import_module(f"conveyor.cli.{module}"), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conveyor")
def cli() -> None:
    """conveyor: run Argo Workflows on one machine, with no Kubernetes, or drive an Argo Server."""


def _register() -> None:
    assert isinstance(cli, _LazyGroup)
    cli.lazy = {
        # on this machine
        "lint": "_lint:lint", "run": "_run:run", "server": "_server:server", "up": "_up:up", "token": "_token:token",
        "config": "_config:config", "env": "_config:env", "secret": "_secret:secret",
        "image": "_image:image", "registry": "_image:registry",
        # clients of an Argo Server (`_target`)
        "submit": "_submit:submit", "list": "_workflows:list_", "get": "_workflows:get",
        "logs": "_workflows:logs", "watch": "_workflows:watch", "delete": "_workflows:delete",
        "retry": "_control:retry", "resubmit": "_control:resubmit", "stop": "_control:stop",
        "terminate": "_control:terminate", "suspend": "_control:suspend", "resume": "_control:resume",
        "template": "_template:template", "cron": "_cron:cron", "export": "_export:export",
    }


_register()


def main() -> None:
    cli(prog_name="conveyor")


if __name__ == "__main__":  # pragma: no cover
    main()
