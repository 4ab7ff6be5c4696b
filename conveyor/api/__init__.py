"""The HTTP face: Argo Server's REST API (`/api/v1/...`) over the Service.

https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from conveyor.api.app import create_app

__all__ = ["create_app"]
