"""`/api/v1/version`, `/api/v1/info` and `/api/v1/userinfo`, Argo Server's InfoService.

The version carries every field Argo's (and Hera's `get_version`) Version
requires; the Go-specific ones describe the Python that runs conveyor.
conveyor serves every namespace, so `managedNamespace` is empty, as
Argo Server's is when it is not namespaced. Version and info need no token
in any auth mode. The user info is `{}` in server mode, as Argo answers
there; in client mode it describes the token: its name (also as `subject`,
Argo's field for who is asking), namespaces and role.
https://argo-workflows.readthedocs.io/en/latest/rest-api/
"""

from __future__ import annotations

import platform
import sys

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from conveyor import __version__
from conveyor.api.auth import Auth
from conveyor.api.deps import ERRORS, reply
from conveyor.api.models import GetUserInfoResponse, InfoResponse, Version

__all__ = ["router", "version_info"]

router = APIRouter(tags=["InfoService"], responses=ERRORS)
#: Python's machine names -> the GOARCH spelling Argo's `platform` uses
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}


def version_info() -> dict[str, str]:
    machine = platform.machine().lower()
    return {
        "version": f"v{__version__}",
        "buildDate": "",
        "gitCommit": "",
        "gitTag": f"v{__version__}",
        "gitTreeState": "",
        "goVersion": f"python{platform.python_version()}",  # not Go: what runs the server
        "compiler": sys.implementation.name,
        "platform": f"{sys.platform}/{_ARCH.get(machine, machine)}",
    }


@router.get("/api/v1/version", response_model=Version)
async def get_version() -> JSONResponse:
    return reply(version_info())


@router.get("/api/v1/info", response_model=InfoResponse)
async def get_info() -> JSONResponse:
    return reply({"managedNamespace": "", "links": [], "columns": [], "modals": {}, "navColor": ""})


@router.get("/api/v1/userinfo", response_model=GetUserInfoResponse)
async def get_user_info(auth: Auth) -> JSONResponse:
    token = auth.token
    if token is None:
        return reply({})
    return reply({"issuer": "conveyor", "subject": token.name, "name": token.name,
                  "namespaces": list(token.namespaces), "role": token.role})
