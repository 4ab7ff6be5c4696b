"""A client for the Argo Server REST API (`/api/v1/...`), used by the CLI and
`conveyor.couler`. It speaks only Argo's API, so it works against a conveyor
server and a real Argo Server alike.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from conveyor.client._http import ArgoClient, ServerUnreachable, Target

__all__ = ["ArgoClient", "ServerUnreachable", "Target"]
