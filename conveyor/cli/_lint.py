"""`conveyor lint FILE...`: schema and semantic checks, every problem with its path."""

from __future__ import annotations

import sys

import click

from conveyor.cli._common import OverlayLookup, open_store, read_manifests
from conveyor.cli.main import err, handle_errors
from conveyor.config import Settings
from conveyor.errors import ConveyorError, ManifestError
from conveyor.expr import expression_problems
from conveyor.spec import lint as lint_manifest
from conveyor.spec import normalize

__all__ = ["lint"]


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, allow_dash=True))
@handle_errors
def lint(files: tuple[str, ...]) -> None:
    """Check manifests; prints each problem as PATH: MESSAGE and exits 2 if any."""
    settings = Settings.from_env()
    store = open_store(settings) if settings.db_path.exists() else None
    total = 0
    for path in files:
        try:
            docs = read_manifests(path, settings)
        except ManifestError as exc:
            for p in exc.problems:
                err.print(f"{path}: {p}", markup=False)
            total += len(exc.problems)
            continue
        except ConveyorError as exc:
            err.print(f"{path}: {exc.message}", markup=False)
            total += 1
            continue
        lookup = OverlayLookup(store, docs, settings.namespace)
        problems = 0
        for i, doc in enumerate(docs):
            where = path if len(docs) == 1 else f"{path}#{i + 1}"
            normal = normalize(doc)
            found = lint_manifest(normal, templates=lookup) or expression_problems(normal)
            for p in found:
                err.print(f"{where}: {p}", markup=False)
            problems += len(found)
        if problems == 0:
            click.echo(f"✔ {path}: no problems found")
        total += problems
    if total:
        err.print(f"✖ {total} problem(s) found", markup=False)
        sys.exit(2)
