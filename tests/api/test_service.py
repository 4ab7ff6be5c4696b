"""What the API added to the Service: ADDED / DELETED for listeners, log_files, lint_template."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from conveyor.config import Settings
from conveyor.errors import InvalidInput
from conveyor.runtime import Service, choose_executor
from conveyor.store import ArtifactRepo, Store
from tests.api.conftest import manifest


def with_service(settings: Settings, body: Callable[[Service], Awaitable[None]]) -> None:
    async def main() -> None:
        store = Store.open(settings.db_path)
        executor, _ = await choose_executor(settings, lambda msg: None)
        service = Service(settings, store, ArtifactRepo(settings.artifact_dir), executor)
        try:
            await body(service)
        finally:
            await service.close()
            store.close()

    asyncio.run(main())


def test_listeners_hear_added_modified_and_deleted_and_a_broken_one_harms_nothing(settings: Settings) -> None:
    heard: list[tuple[str, str]] = []

    def broken(kind: str, wf: dict[str, Any]) -> None:
        raise RuntimeError("listener bug")

    async def body(service: Service) -> None:
        service.listeners += [broken, lambda kind, wf: heard.append((kind, wf["status"]["phase"]))]
        service.create_workflow("default", manifest("true", name="heard"))
        final = await service.wait("default", "heard", 20)
        assert final["status"]["phase"] == "Succeeded"
        await service.delete_workflow("default", "heard")

    with_service(settings, body)
    assert heard[0] == ("ADDED", "Pending")
    assert ("MODIFIED", "Succeeded") in heard
    assert heard[-1] == ("DELETED", "Succeeded")


def test_log_files_finds_running_tasks_then_the_indexed_file(settings: Settings) -> None:
    async def body(service: Service) -> None:
        service.create_workflow("default", manifest("echo started; sleep 30", name="logged"))
        for _ in range(200):
            files = service.log_files("default", "logged")
            if "main" in files.get("logged", {}) and files["logged"]["main"].read_text():
                break
            await asyncio.sleep(0.05)
        running = service.log_files("default", "logged")["logged"]["main"]
        assert running.read_text() == "started\n"
        assert service.store.list_logs("default", "logged") == []  # not indexed while it runs
        service.control("default", "logged", {"type": "terminate"})
        await service.wait("default", "logged", 20)
        indexed = service.store.list_logs("default", "logged")
        assert [row["path"] for row in indexed] == [str(running)]
        assert service.log_files("default", "logged") == {"logged": {"main": running}}
        assert service.log_files("default", "nothing") == {}

    with_service(settings, body)


def test_lint_template_validates_and_stores_nothing(settings: Settings) -> None:
    async def body(service: Service) -> None:
        tpl = {**manifest("true", name="tpl"), "kind": "WorkflowTemplate"}
        linted = service.lint_template("WorkflowTemplate", "default", tpl)
        assert linted["metadata"] == {"name": "tpl", "namespace": "default"}
        assert service.store.get_template("WorkflowTemplate", "default", "tpl") is None
        with pytest.raises(InvalidInput, match="unknown template kind"):
            service.lint_template("Pipeline", "default", tpl)

    with_service(settings, body)
