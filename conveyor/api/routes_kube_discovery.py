"""Kubernetes discovery: `/apis`, `/apis/argoproj.io`, `/apis/argoproj.io/v1alpha1`, and `/version`.

CustomObjectsApi needs none of this (its paths are fixed); kubectl and the
`kubernetes` package's dynamic client read it to learn which resources the
server has and what their paths are, before they create or get anything.
Only argoproj.io is served, so the core group (`/api`) is left out: kubectl
and client-go take its 404 as "no core resources here". Discovery needs a
live token in client mode, as Kubernetes asks every authenticated user for
one; `/version` needs none, as on Kubernetes and as `/api/v1/version` here.
https://kubernetes.io/docs/concepts/overview/kubernetes-api/#discovery-api
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from conveyor import __version__
from conveyor.api.auth import Auth
from conveyor.api.deps import reply
from conveyor.api.kube import GROUP, GROUP_VERSION, PREFIX, RESOURCES, STATUS_RESPONSES, TAG
from conveyor.api.routes_info import version_info

__all__ = ["router"]

router = APIRouter(tags=[TAG], responses=STATUS_RESPONSES)


def _group() -> dict[str, Any]:
    version = {"groupVersion": GROUP_VERSION, "version": GROUP_VERSION.rpartition("/")[2]}
    return {"name": GROUP, "versions": [version], "preferredVersion": version}


@router.get("/apis", summary="Kubernetes discovery: the API groups served (APIGroupList)")
async def get_api_groups(auth: Auth) -> JSONResponse:
    return reply({"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group()]})


@router.get(f"/apis/{GROUP}", summary="Kubernetes discovery: the argoproj.io group (APIGroup)")
async def get_api_group(auth: Auth) -> JSONResponse:
    return reply({"kind": "APIGroup", "apiVersion": "v1", **_group()})


@router.get(PREFIX, summary="Kubernetes discovery: the resources of argoproj.io/v1alpha1 (APIResourceList)")
async def get_api_resources(auth: Auth) -> JSONResponse:
    return reply({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION,
                  "resources": [r.discovery() for r in RESOURCES]})


@router.get("/version", summary="Kubernetes' version.Info, describing conveyor")
async def get_kube_version() -> JSONResponse:
    # conveyor's own version, not a Kubernetes one it does not implement; kubectl only prints it.
    info = version_info()
    major, minor = (__version__.split(".") + ["0"])[:2]
    return reply({"major": major, "minor": minor, "gitVersion": info["version"], "gitCommit": info["gitCommit"],
                  "gitTreeState": info["gitTreeState"], "buildDate": info["buildDate"],
                  "goVersion": info["goVersion"], "compiler": info["compiler"], "platform": info["platform"]})
