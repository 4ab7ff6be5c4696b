"""ArgoSubmitter: submit the built workflow to an Argo Server REST API.

Couler's own ArgoSubmitter creates the Workflow through the Kubernetes API
(CustomObjectsApi, `/apis/argoproj.io/v1alpha1/...`), which needs a kubeconfig.
This one posts to the Argo Server REST API (`/api/v1/workflows/{namespace}`),
which conveyor's server and a real Argo Server both answer, so the same script
submits to either; the server and token come from CONVEYOR_HOST/PIPELINE_HOST
and CONVEYOR_TOKEN/PIPELINE_TOKEN. (conveyor's server also answers the
Kubernetes-style routes, for tools that use them.)
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import httpx

from conveyor.client import ArgoClient, Target
from conveyor.config import Settings
from conveyor.couler._state import Secret
from conveyor.errors import InvalidInput

__all__ = ["ArgoSubmitter"]

log = logging.getLogger(__name__)

Json = dict[str, Any]


def secrets_to_create(secrets: Iterable[Secret] | None) -> list[Secret]:
    """The secrets create_secret() asked for that do not exist yet (not obtain_secret, not dry runs)."""
    return [s for s in secrets or () if not s.use_existing and not s.dry_run]


class ArgoSubmitter:
    """Couler's `ArgoSubmitter(namespace=...)`; `config_file`, `context`, `client_configuration` and
    `persist_config` name a kubeconfig in Couler and are accepted and ignored here."""

    def __init__(self, namespace: str | None = None, config_file: str | None = None, context: str | None = None,
                 client_configuration: Any = None, persist_config: bool = True, *, host: str | None = None,
                 token: str | None = None, settings: Settings | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        settings = settings or Settings.from_env()
        self.target = Target.from_settings(settings, host=host, namespace=namespace, token=token)
        self.namespace = self.target.namespace
        self._transport = transport
        log.info("Argo submitter: %s, namespace %s", self.target.host, self.namespace)

    def submit(self, workflow_yaml: Json, secrets: Iterable[Secret] | None = None) -> Json:
        """Create the Workflow (or CronWorkflow); returns the object the server created."""
        missing = secrets_to_create(secrets)
        if missing:
            names = ", ".join(s.name for s in missing)
            raise InvalidInput(
                f"create_secret() asks to create the Kubernetes Secret(s) {names}, which the Argo Server REST "
                f"API cannot do; create them first (kubectl create secret generic NAME --from-literal=KEY=VALUE "
                f"-n {self.namespace}) and refer to them with couler.obtain_secret(keys, name=NAME)")
        with ArgoClient(self.target, transport=self._transport) as client:
            if workflow_yaml.get("kind") == "CronWorkflow":
                created = client.create_resource("CronWorkflow", workflow_yaml, namespace=self.namespace)
            else:
                created = client.create_workflow(workflow_yaml, namespace=self.namespace)
        log.info('Workflow %s has been submitted in "%s" namespace', (created.get("metadata") or {}).get("name"),
                 self.namespace)
        return created
