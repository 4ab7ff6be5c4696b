"""ArgoClient: one method per Argo Server REST call the CLI and Couler need.

Errors come back as conveyor's own exceptions (the server's gRPC-gateway body
`{"code", "message"}` mapped by HTTP status), so callers print one clear line.
https://argo-workflows.readthedocs.io/en/latest/swagger/
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from conveyor.config import Settings
from conveyor.errors import (
    AlreadyExists,
    ConveyorError,
    Forbidden,
    InvalidInput,
    NotFound,
    Unauthenticated,
)

__all__ = ["ArgoClient", "ServerUnreachable", "Target"]

Json = dict[str, Any]

_BY_STATUS: dict[int, type[ConveyorError]] = {
    400: InvalidInput, 401: Unauthenticated, 403: Forbidden, 404: NotFound, 409: AlreadyExists,
}


class ServerUnreachable(ConveyorError):
    """Nothing answered at the server's address."""

    http_status = 503
    grpc_code = 14  # UNAVAILABLE


@dataclass(frozen=True)
class Target:
    """Where requests go: the server's base URL, the namespace, and the bearer token."""

    host: str
    namespace: str
    token: str = ""
    verify_ssl: bool = True

    @classmethod
    def from_settings(cls, settings: Settings, *, host: str | None = None, namespace: str | None = None,
                      token: str | None = None) -> Target:
        """Flags win over the environment (`CONVEYOR_*`, then the seed's `PIPELINE_*`)."""
        url = (host or settings.server_url).strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            # httpx would read "localhost:2746" as the scheme "localhost" and fail with a puzzling message.
            raise InvalidInput(f"server address {url!r} has no scheme; write http://{url} (or https://{url})")
        return cls(
            host=url,
            namespace=namespace or settings.server_namespace,
            token=settings.server_token if token is None else token,
            verify_ssl=settings.verify_ssl,
        )


def _seg(value: str) -> str:
    """A user value placed in a URL path: quoted, so `../` or `?` cannot change the route."""
    return quote(value, safe="")


class ArgoClient:
    def __init__(self, target: Target, *, timeout_s: float = 30.0, transport: httpx.BaseTransport | None = None) -> None:
        self.target = target
        headers = {"Accept": "application/json"}
        if target.token:
            # Argo Server accepts the token with or without the "Bearer " prefix; send it as given when
            # it already carries one, so tokens copied from `argo auth token` work too.
            token = target.token
            headers["Authorization"] = token if token.lower().startswith("bearer ") else f"Bearer {token}"
        self._http = httpx.Client(base_url=target.host, headers=headers, timeout=timeout_s,
                                  verify=target.verify_ssl, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ArgoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ---------------------------------------------------------------

    def _ns(self, namespace: str | None) -> str:
        return _seg(namespace or self.target.namespace)

    def _raise(self, response: httpx.Response) -> None:
        if response.status_code < 400:
            return
        try:
            body = response.json()
            message = str(body.get("message") or body)
        except (ValueError, AttributeError):
            # a proxy's HTML error page: one line of it, so the CLI's error stays one line
            message = " ".join(response.text.split())[:300] or response.reason_phrase
        cls = _BY_STATUS.get(response.status_code, ConveyorError)
        if cls is Unauthenticated:
            create = "" if "token create" in message else "; create one with `conveyor token create`"
            message += f" (check --token or PIPELINE_TOKEN{create})"
        elif cls is ConveyorError:
            message = f"{self.target.host} answered {response.status_code}: {message}"
        raise cls(message)

    def _unreachable(self, exc: httpx.TransportError) -> ServerUnreachable:
        reason = str(exc) or type(exc).__name__
        return ServerUnreachable(
            f"cannot reach the server at {self.target.host} ({reason}); start one with `conveyor server` "
            "or point PIPELINE_HOST (or --host) at a running one"
        )

    def _not_argo(self, what: str) -> ConveyorError:
        return ConveyorError(f"{self.target.host} answered {what} that is not JSON; is it an Argo Server "
                             "(or `conveyor server`)? Check PIPELINE_HOST or --host")

    def answers(self, timeout_s: float = 2.0) -> bool:
        """Whether anything answers HTTP at the host (any status: a 401 still means a server is there)."""
        try:
            self._http.get("/api/v1/version", timeout=timeout_s)
        except httpx.TransportError:
            return False
        return True

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            response = self._http.request(method, path, params=clean, json=body)
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None
        except httpx.InvalidURL as exc:
            raise InvalidInput(f"{self.target.host}{path} is not a valid URL: {exc}") from None
        self._raise(response)
        try:
            return response.json() if response.content else {}
        except ValueError:
            raise self._not_argo("a body") from None

    def stream(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[Json]:
        """The `result` of each line of a gRPC-gateway NDJSON stream (logs, watch)."""
        clean = {k: v for k, v in (params or {}).items() if v is not None and v != ""}
        try:
            with self._http.stream("GET", path, params=clean, timeout=httpx.Timeout(30.0, read=None)) as response:
                if response.status_code >= 400:
                    response.read()
                    self._raise(response)
                for line in response.iter_lines():
                    if not line.strip():
                        continue
                    try:
                        item = json.loads(line)
                    except ValueError:
                        raise self._not_argo("a stream line") from None
                    if "error" in item:
                        error = item["error"] or {}
                        raise ConveyorError(str(error.get("message") or error))
                    yield item.get("result") or {}
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from None

    # -- workflows --------------------------------------------------------------

    def create_workflow(self, workflow: Json, *, namespace: str | None = None, dry_run: bool = False) -> Json:
        body: Json = {"workflow": workflow}
        if dry_run:
            body["serverDryRun"] = True
        ns = namespace or (workflow.get("metadata") or {}).get("namespace")
        return self.request("POST", f"/api/v1/workflows/{self._ns(ns)}", body=body)  # type: ignore[no-any-return]

    def lint_workflow(self, workflow: Json, *, namespace: str | None = None) -> Json:
        ns = namespace or (workflow.get("metadata") or {}).get("namespace")
        return self.request("POST", f"/api/v1/workflows/{self._ns(ns)}/lint",  # type: ignore[no-any-return]
                            body={"workflow": workflow})

    def submit_from(self, kind: str, name: str, *, namespace: str | None = None,
                    parameters: list[str] | None = None, generate_name: str | None = None,
                    labels: str | None = None, workflow_name: str | None = None,
                    entrypoint: str | None = None, server_dry_run: bool = False) -> Json:
        """Submit a workflow from a WorkflowTemplate, ClusterWorkflowTemplate or CronWorkflow."""
        options: Json = {}
        if parameters:
            options["parameters"] = parameters
        if generate_name:
            options["generateName"] = generate_name
        if labels:
            options["labels"] = labels
        if workflow_name:
            options["name"] = workflow_name
        if entrypoint:
            options["entryPoint"] = entrypoint
        if server_dry_run:
            options["serverDryRun"] = True
        body = {"resourceKind": kind, "resourceName": name, "submitOptions": options}
        return self.request("POST", f"/api/v1/workflows/{self._ns(namespace)}/submit",  # type: ignore[no-any-return]
                            body=body)

    def get_workflow(self, name: str, *, namespace: str | None = None, fields: str | None = None) -> Json:
        return self.request("GET", f"/api/v1/workflows/{self._ns(namespace)}/{_seg(name)}",  # type: ignore[no-any-return]
                            params={"fields": fields})

    def list_workflows(self, *, namespace: str | None = None, label_selector: str | None = None,
                       field_selector: str | None = None, limit: int | None = None,
                       continue_token: str | None = None, fields: str | None = None) -> Json:
        params = {"listOptions.labelSelector": label_selector, "listOptions.fieldSelector": field_selector,
                  "listOptions.limit": limit, "listOptions.continue": continue_token, "fields": fields}
        return self.request("GET", f"/api/v1/workflows/{self._ns(namespace)}",  # type: ignore[no-any-return]
                            params=params)

    def delete_workflow(self, name: str, *, namespace: str | None = None) -> None:
        self.request("DELETE", f"/api/v1/workflows/{self._ns(namespace)}/{_seg(name)}")

    def workflow_action(self, name: str, verb: str, body: Json | None = None, *,
                        namespace: str | None = None) -> Json:
        """PUT .../{name}/{verb} for stop, terminate, suspend, resume, set, retry, resubmit."""
        ns = self._ns(namespace)
        payload = {"name": name, "namespace": namespace or self.target.namespace, **(body or {})}
        return self.request("PUT", f"/api/v1/workflows/{ns}/{_seg(name)}/{_seg(verb)}",  # type: ignore[no-any-return]
                            body=payload)

    def logs(self, name: str, *, namespace: str | None = None, pod_name: str | None = None,
             container: str = "main", follow: bool = False, grep: str | None = None) -> Iterator[Json]:
        """Log entries `{"podName", "content"}` of a workflow, or of one of its pods."""
        params = {"podName": pod_name, "logOptions.container": container,
                  "logOptions.follow": "true" if follow else None, "grep": grep}
        yield from self.stream(f"/api/v1/workflows/{self._ns(namespace)}/{_seg(name)}/log", params)

    def watch(self, name: str | None = None, *, namespace: str | None = None,
              label_selector: str | None = None) -> Iterator[Json]:
        """Watch events `{"type", "object"}`; the current state comes first."""
        params = {"listOptions.fieldSelector": f"metadata.name={name}" if name else None,
                  "listOptions.labelSelector": label_selector}
        yield from self.stream(f"/api/v1/workflow-events/{self._ns(namespace)}", params)

    # -- templates and cron workflows ---------------------------------------------

    _KINDS = {
        "WorkflowTemplate": ("/api/v1/workflow-templates/{ns}", "template"),
        "ClusterWorkflowTemplate": ("/api/v1/cluster-workflow-templates", "template"),
        "CronWorkflow": ("/api/v1/cron-workflows/{ns}", "cronWorkflow"),
    }

    def _base(self, kind: str, namespace: str | None) -> tuple[str, str]:
        try:
            base, wrapper = self._KINDS[kind]
        except KeyError:
            raise InvalidInput(f"kind {kind!r} is not a template kind; use one of {', '.join(self._KINDS)}") from None
        return base.format(ns=self._ns(namespace)), wrapper

    def create_resource(self, kind: str, manifest: Json, *, namespace: str | None = None) -> Json:
        ns = namespace or (manifest.get("metadata") or {}).get("namespace")
        base, wrapper = self._base(kind, ns)
        return self.request("POST", base, body={wrapper: manifest})  # type: ignore[no-any-return]

    def update_resource(self, kind: str, manifest: Json, *, namespace: str | None = None) -> Json:
        ns = namespace or (manifest.get("metadata") or {}).get("namespace")
        base, wrapper = self._base(kind, ns)
        name = _seg((manifest.get("metadata") or {}).get("name", ""))
        return self.request("PUT", f"{base}/{name}", body={wrapper: manifest})  # type: ignore[no-any-return]

    def list_resources(self, kind: str, *, namespace: str | None = None,
                       label_selector: str | None = None) -> Json:
        base, _ = self._base(kind, namespace)
        return self.request("GET", base,  # type: ignore[no-any-return]
                            params={"listOptions.labelSelector": label_selector})

    def get_resource(self, kind: str, name: str, *, namespace: str | None = None) -> Json:
        base, _ = self._base(kind, namespace)
        return self.request("GET", f"{base}/{_seg(name)}")  # type: ignore[no-any-return]

    def delete_resource(self, kind: str, name: str, *, namespace: str | None = None) -> None:
        base, _ = self._base(kind, namespace)
        self.request("DELETE", f"{base}/{_seg(name)}")

    def cron_action(self, name: str, verb: str, *, namespace: str | None = None) -> Json:
        """suspend or resume a CronWorkflow."""
        base, _ = self._base("CronWorkflow", namespace)
        return self.request("PUT", f"{base}/{_seg(name)}/{_seg(verb)}",  # type: ignore[no-any-return]
                            body={"name": name, "namespace": namespace or self.target.namespace})

    def version(self) -> Json:
        return self.request("GET", "/api/v1/version")  # type: ignore[no-any-return]
