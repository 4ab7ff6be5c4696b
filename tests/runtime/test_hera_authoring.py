"""A workflow written with Hera's Python API runs on conveyor as Hera renders it.

No `from __future__ import annotations` here: Hera reads the script functions'
parameter types at runtime.
"""

from typing import Any

from hera.workflows import DAG, Container, Parameter, Workflow, script

from tests.conftest import RunWorkflow


@script()
def square(n: int) -> None:
    print(n * n)


@script()
def total(values: list) -> None:
    print(sum(int(v) for v in values))


def build() -> dict[str, Any]:
    with Workflow(generate_name="hera-", entrypoint="main", arguments=[Parameter(name="greeting", value="hi")]) as w:
        hello = Container(name="hello", image="busybox", command=["echo", "{{workflow.parameters.greeting}}"])
        with DAG(name="main", parallelism=2):
            h = hello()
            sq = square(with_items=[1, 2, 3], arguments={"n": "{{item}}"})
            t = total(arguments={"values": "{{tasks.square.outputs.result}}"})
            h >> sq >> t
    return w.to_dict()


def test_hera_dag_with_scripts_loops_and_parallelism(run_workflow: RunWorkflow) -> None:
    result = run_workflow(build(), parameters={"greeting": "hello from hera"})
    status = result["status"]
    assert status["phase"] == "Succeeded", status.get("message")
    by_name = {n["displayName"]: n for n in status["nodes"].values()}
    assert by_name["hello"]["outputs"]["result"] == "hello from hera"
    assert [by_name[f"square({i}:{i + 1})"]["outputs"]["result"] for i in range(3)] == ["1", "4", "9"]
    assert by_name["total"]["outputs"]["result"] == "14"
