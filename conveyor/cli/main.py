"""`conveyor`: the command line. Parse, call, print; exit 0 / 1 / 2.

Exit codes: 0 the workflow Succeeded (or lint found nothing), 1 it Failed or
ended in Error, 2 the input was invalid (every problem is listed).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console

from conveyor import __version__
from conveyor.errors import ConveyorError, InvalidInput, ManifestError

__all__ = ["main", "cli"]

F = TypeVar("F", bound=Callable[..., Any])

err = Console(stderr=True, highlight=False, soft_wrap=True)


def handle_errors(fn: F) -> F:
    """Turn conveyor's errors into one clear message and an exit code, never a traceback."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except ManifestError as exc:
            err.print(f"[red]invalid:[/red] {exc.message}", markup=True)
            sys.exit(2)
        except InvalidInput as exc:
            err.print(f"[red]invalid:[/red] {exc.message}", markup=True)
            sys.exit(2)
        except ConveyorError as exc:
            err.print(f"[red]error:[/red] {exc.message}", markup=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conveyor")
def cli() -> None:
    """conveyor: run Argo Workflows on one machine, with no Kubernetes."""


def _register() -> None:
    from conveyor.cli import _config, _control, _lint, _run, _template, _token

    cli.add_command(_lint.lint)
    cli.add_command(_run.run)
    cli.add_command(_template.template)
    cli.add_command(_token.token)
    cli.add_command(_config.config)
    cli.add_command(_config.env)
    for command in (_control.resume, _control.stop, _control.terminate):
        cli.add_command(command)
    from conveyor.cli import _server  # FastAPI and uvicorn load only when `server` runs

    cli.add_command(_server.server)


_register()


def main() -> None:
    cli(prog_name="conveyor")


if __name__ == "__main__":  # pragma: no cover
    main()
