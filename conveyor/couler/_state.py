"""The workflow being built: Couler's module-level state, kept in one object.

Couler users write `couler.run_script(...)` at module level and submit with
`couler.run()`, so the workflow under construction is global by design. Every
piece of it lives in `STATE`; `cleanup()` empties it in place (tests call it
between cases, `run()` after each submission) while `config_defaults` survives,
as in Couler.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["STATE", "Build", "Defaults", "Secret", "cleanup"]

Json = dict[str, Any]


@dataclass
class Secret:
    """A Kubernetes Secret the workflow's tasks read (`create_secret` / `obtain_secret`)."""

    name: str
    namespace: str
    keys: tuple[str, ...]
    data: dict[str, str] = field(repr=False, default_factory=dict)
    dry_run: bool = False
    use_existing: bool = False
    artifact_secret: bool = False

    def to_env_list(self) -> list[Json]:
        return [{"name": k, "valueFrom": {"secretKeyRef": {"name": self.name, "key": k}}} for k in self.keys]


@dataclass
class Defaults:
    """`config_defaults(...)`: kept across `cleanup()`."""

    name_salter: Callable[[str], str] | None = None
    service_account: str | None = None
    #: set_default_submitter(...): what run() uses when given no submitter
    submitter: Any = None


@dataclass
class Build:
    # -- the workflow ---------------------------------------------------------
    name: str | None = None
    user_id: str | None = None
    timeout: int | None = None
    time_to_clean: int | None = None
    service_account: str | None = None
    cron: Json | None = None
    cluster_config: Any = None
    tolerations: list[Json] = field(default_factory=list)
    image_pull_secrets: list[Json] = field(default_factory=list)
    #: template name -> template, in creation order
    templates: dict[str, Json] = field(default_factory=dict)
    #: template name -> (pool, enable_ulogfs), for old-style cluster configs
    pod_hints: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    #: group key -> the steps run in parallel at that point (steps mode)
    steps: dict[Hashable, list[Json]] = field(default_factory=dict)
    dag_mode: bool = False
    dag_tasks: dict[str, Json] = field(default_factory=dict)
    exit_steps: dict[Hashable, list[Json]] = field(default_factory=dict)
    secrets: dict[str, Secret] = field(default_factory=dict)
    #: step or task name -> the handles run_script/run_container returned
    outputs: dict[str, list[Any]] = field(default_factory=dict)

    # -- where the next step goes (set by dag/when/map/... while they run) -----
    upstream: list[str] | None = None
    depends_logic: str | None = None
    when: str | None = None
    when_task: str | None = None
    condition_key: Hashable | None = None
    concurrent_key: Hashable | None = None
    in_exit_handler: bool = False
    #: map() collects the call here instead of placing it
    capture: list[Json] | None = None
    #: concurrent(subtasks=True) collects each function's steps here
    sub_steps: dict[Hashable, list[Json]] | None = None
    counter: int = 0

    defaults: Defaults = field(default_factory=Defaults)

    def next_id(self) -> int:
        self.counter += 1
        return self.counter

    def step_names(self) -> set[str]:
        groups = [*self.steps.values(), *self.exit_steps.values(), *(self.sub_steps or {}).values()]
        return {s["name"] for group in groups for s in group}


STATE = Build()


def cleanup() -> None:
    """Forget the workflow being built (Couler's `_cleanup`); `config_defaults` stay."""
    defaults = STATE.defaults
    STATE.__dict__.update(Build(defaults=defaults).__dict__)
