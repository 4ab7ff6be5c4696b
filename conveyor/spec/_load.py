"""Read manifests: YAML (one or many `---` documents) or JSON, within limits.

JSON is read with the standard library's fast decoder when the text looks
like JSON; anything else goes to the safe YAML builder (`_yaml`). Every
document must be a mapping: one Argo manifest each.

See https://argo-workflows.readthedocs.io/en/latest/workflow-concepts/ for
what a manifest holds.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from conveyor.errors import ManifestError, Problem
from conveyor.spec._limits import MAX_DEPTH, levels, nesting_problem, too_deep
from conveyor.spec._yaml import MAX_EXPANDED_NODES, parse_yaml

__all__ = ["load_documents", "load_file", "MAX_DEPTH", "MAX_EXPANDED_NODES", "DEFAULT_MAX_BYTES"]

DEFAULT_MAX_BYTES = 10 * 1024 * 1024


def _too_large(size: int, max_bytes: int) -> Problem:
    return Problem(
        "",
        f"the manifest is {size:,} bytes, more than the limit of {max_bytes:,} bytes; "
        "split it into smaller files, or raise the limit with CONVEYOR_MAX_MANIFEST_BYTES",
    )


class _NonFinite(ValueError):
    pass


def _no_constant(name: str) -> Any:
    # Python's decoder reads NaN and Infinity, which JSON itself does not have.
    raise _NonFinite(name)


def _too_many(max_values: int) -> Problem:
    return Problem(
        "",
        f"the document holds more than {max_values:,} values (objects, lists, keys and scalars), the "
        "limit CONVEYOR_MAX_MANIFEST_VALUES sets; split the manifest, pass big data as artifacts, or "
        "raise the limit",
    )


def _json_values(data: Any, limit: int) -> int:
    """Values and keys in decoded JSON, counted as the server counts a body's (stops past `limit`)."""
    count = 0
    for level in levels(data):
        count += len(level) + sum(len(node) for node in level if isinstance(node, dict))
        if count > limit:
            break
    return count


def _from_json(text: str, max_values: int | None = None) -> list[tuple[int, Any]] | None:
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except RecursionError:  # deeper than the decoder itself goes
        raise ManifestError([Problem("", too_deep())]) from None
    except _NonFinite as exc:
        raise ManifestError([Problem("", f"{exc} is not valid JSON: JSON (so Argo's API) has no NaN or "
                                         f'infinity; quote it ("{exc}") to keep it as text, or use a '
                                         "finite number")]) from None
    except ValueError:
        return None  # not JSON; YAML's flow style may still read it
    problem = nesting_problem(data)
    if problem:
        raise ManifestError([Problem("", problem)])
    if max_values is not None and _json_values(data, max_values) > max_values:
        raise ManifestError([_too_many(max_values)])
    return [(1, data)]


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    return "a number" if isinstance(value, (int, float)) else f"a {type(value).__name__}"


def _refuse_lone_surrogates(text: str, source: str) -> None:
    # Text decoded with errors="surrogateescape" (or built in Python) can hold lone
    # surrogates; no YAML parser or UTF-8 store accepts them.
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ManifestError(
            [
                Problem(
                    "",
                    f"the manifest is not valid Unicode text (a lone surrogate "
                    f"U+{ord(text[exc.start]):04X} at offset {exc.start}); save it as UTF-8",
                )
            ],
            source,
        ) from None


def load_documents(
    text: str | bytes,
    source: str = "<input>",
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_values: int | None = None,
) -> list[dict[str, Any]]:
    """Parse YAML (multi-document) or JSON into manifests; raise ManifestError if unusable.

    Empty documents are skipped. Every document must be a mapping. `max_values`
    bounds the values of each document (the server's CONVEYOR_MAX_MANIFEST_VALUES).
    """
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise ManifestError([_too_large(size, max_bytes)], source)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ManifestError(
                [
                    Problem(
                        "",
                        f"the manifest is not valid UTF-8 (bad byte at offset {exc.start}); save it as UTF-8",
                    )
                ],
                source,
            ) from None
    else:
        _refuse_lone_surrogates(text, source)
        if text.startswith("\ufeff"):
            text = text[1:]
    try:
        stripped = text.lstrip()
        docs = _from_json(text, max_values) if stripped[:1] in ("{", "[") else None
        if docs is None:
            docs = parse_yaml(text, max_values)
    except ManifestError as exc:
        raise ManifestError(exc.problems, source) from None
    problems: list[Problem] = []
    manifests: list[dict[str, Any]] = []
    for number, (line, data) in enumerate(docs, start=1):
        if data is None:
            continue
        if not isinstance(data, dict):
            problems.append(
                Problem(
                    "",
                    f"document {number} (line {line}) is {_kind_of(data)}, not a mapping; each document "
                    "must be one Argo manifest with apiVersion, kind, metadata and spec",
                )
            )
            continue
        manifests.append(data)
    if problems:
        raise ManifestError(problems, source)
    return manifests


def load_file(
    path: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES, max_values: int | None = None
) -> list[dict[str, Any]]:
    """Read and parse a manifest file; `-` reads standard input. Limits as for load_documents."""
    name = str(path)
    try:
        if name == "-":
            raw = sys.stdin.buffer.read(max_bytes + 1)
            name = "<stdin>"
        else:
            with open(path, "rb") as handle:
                raw = handle.read(max_bytes + 1)
    except OSError as exc:
        raise ManifestError(
            [Problem("", f"cannot read the file: {exc.strerror or exc}")], name
        ) from None
    if len(raw) > max_bytes:
        # The true size is unknown for a stream; say "more than" rather than guess.
        raise ManifestError([_too_large(len(raw), max_bytes)], name)
    return load_documents(raw, name, max_bytes=max_bytes, max_values=max_values)
