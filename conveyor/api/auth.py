"""Who is asking, and may they: Argo Server's `--auth-mode server | client`, with conveyor's tokens.

In `server` mode nobody is asked for anything: every request may do
everything, as in Argo's server mode (the CLI warns, and refuses it on a
non-loopback address unless told `--insecure-no-auth`). In `client` mode
every route but version, info and the OpenAPI document needs an
`Authorization: Bearer <token>` header naming a live token.

Every route takes the `Auth` dependency and calls `require(auth, namespace,
action)` first thing, before it looks anything up, so a token learns nothing
about namespaces it is not for (not even whether a name exists there). The
rules:
- a token acts only in its namespaces (`*`: every namespace). A list or
  watch is of one namespace (the one in the path), so a token lists only
  its own namespaces' objects;
- role `read` may get, list, watch, read logs and lint; anything else
  (create, update, delete, submit, stop, terminate, suspend, resume, retry,
  resubmit, and any action added later) needs `write` or `admin`. There is
  no token API yet, so `write` and `admin` differ only in the next rule;
- cluster-scoped objects (ClusterWorkflowTemplates) may be read by any live
  token, as workflows in every namespace may use them; changing one changes
  what runs in every namespace, so it takes an `admin` token for `*`.
Streams (logs, watch) are authorized when they open and are not cut when
the token is revoked later.
https://argo-workflows.readthedocs.io/en/latest/argo-server-auth-mode/
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from conveyor.errors import Forbidden, InvalidInput, Unauthenticated
from conveyor.spec import namespace_problem
from conveyor.store import ALL_NAMESPACES, TokenInfo

__all__ = ["AUTH_MODES", "READ_ACTIONS", "TOKEN_REQUIRED", "Auth", "AuthContext", "authenticate", "require"]

AUTH_MODES = ("server", "client")
#: what a `read` token may do; every other action counts as a write (so a new one fails closed)
READ_ACTIONS = frozenset({"get", "list", "watch", "logs", "lint"})
TOKEN_REQUIRED = "token required: send Authorization: Bearer <token>"
#: what secrets.token_urlsafe produces, after the prefix
_TOKEN_TEXT = re.compile(r"[A-Za-z0-9_-]+")

# Declared as Argo Server's swagger declares it (an apiKey named Authorization), so
# /docs offers an "Authorize" box; the header is parsed below, not by FastAPI.
_header = APIKeyHeader(
    name="Authorization", scheme_name="BearerToken", auto_error=False,
    description="`Bearer <token>`, a token from `conveyor token create`; needed when the server "
                "runs with --auth-mode client",
)


@dataclass(frozen=True)
class AuthContext:
    """The caller of one request."""

    token: TokenInfo | None  # None in server mode: the caller may do everything
    resource: str = ""  # what the request's path names ("workflows"), for messages


def _resource(path: str) -> str:
    """'/api/v1/cron-workflows/ns/x' -> 'cron workflows'."""
    parts = path.split("/")
    segment = parts[3] if len(parts) > 3 and parts[1:3] == ["api", "v1"] else "objects"
    return "workflows" if segment == "workflow-events" else segment.replace("-", " ")


def authenticate(request: Request, header: Annotated[str | None, Depends(_header)]) -> AuthContext:
    # A plain def: FastAPI runs it in a worker thread, so a store busy with a write
    # (find_token may record last use) never stalls the event loop and its streams.
    resource = _resource(request.url.path)
    if request.app.state.auth_mode == "server":
        return AuthContext(None, resource)
    scheme, _, text = (header or "").strip().partition(" ")
    text = text.strip()
    if scheme.lower() != "bearer" or not _TOKEN_TEXT.fullmatch(text):
        raise Unauthenticated(TOKEN_REQUIRED)
    token = request.app.state.service.store.find_token(text)
    if token is None:
        raise Unauthenticated("unknown or revoked token: ask for a new one (conveyor token create)")
    return AuthContext(token, resource)


Auth = Annotated[AuthContext, Depends(authenticate)]


def _scope(token: TokenInfo) -> str:
    return "every namespace" if ALL_NAMESPACES in token.namespaces else "namespaces " + ", ".join(token.namespaces)


def require(ctx: AuthContext, namespace: str | None, action: str) -> None:
    """Forbidden unless the caller may `action` in `namespace` (None: a cluster-scoped object).

    A namespace that cannot exist (not a DNS label: `..`, `a%2Fb`) is refused first, in
    every auth mode, so no later step ever puts one in a path.
    """
    if namespace is not None and namespace != ALL_NAMESPACES and (problem := namespace_problem(namespace)):
        raise InvalidInput(problem)
    token = ctx.token
    if token is None:
        return
    reading = action in READ_ACTIONS
    who = f'token "{token.name}" (role {token.role}, {_scope(token)})'
    if namespace is None:
        if reading or (token.role == "admin" and ALL_NAMESPACES in token.namespaces):
            return
        raise Forbidden(f"{who} may not {action} {ctx.resource}: they are cluster-scoped, shared by every "
                        f"namespace, so changing them takes an admin token for every namespace "
                        f"(conveyor token create --role admin --namespace '*')")
    if not token.covers(namespace):
        raise Forbidden(f'{who} may not {action} {ctx.resource} in namespace "{namespace}": '
                        "it is not one of the token's namespaces")
    if not reading and token.role == "read":
        raise Forbidden(f"{who} may not {action} {ctx.resource}: role read may only get, list, watch, "
                        "read logs and lint; use a token with role write or admin")
