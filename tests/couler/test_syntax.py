"""dag, set_dependencies, when, map, concurrent and exit handlers: the shapes they build."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import conveyor.couler as couler
from conveyor.errors import InvalidInput

Built = Callable[[], dict[str, Any]]


def job(name: str) -> list[couler.Output]:
    return couler.run_container(image="docker/whalesay", command=["cowsay"], args=[name], step_name=name)


def flip_coin() -> list[couler.Output]:
    return couler.run_script(image="python:3.11", source="print('heads')", step_name="flip-coin")


def heads() -> list[couler.Output]:
    return couler.run_container(image="alpine", command=["echo", "it was heads"])


def tails() -> list[couler.Output]:
    return couler.run_container(image="alpine", command=["echo", "it was tails"])


def tasks(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in wf["spec"]["templates"][0]["dag"]["tasks"]}


def steps(wf: dict[str, Any], template: int = 0) -> list[list[dict[str, Any]]]:
    return wf["spec"]["templates"][template]["steps"]  # type: ignore[no-any-return]


def test_set_dependencies_with_lists(built: Built) -> None:
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    couler.set_dependencies(lambda: job("B"), dependencies=["A"])
    couler.set_dependencies(lambda: job("C"), dependencies=["A"])
    couler.set_dependencies(lambda: job("D"), dependencies=["B", "C"])
    got = tasks(built())
    assert {n: t.get("dependencies") for n, t in got.items()} == {"A": None, "B": ["A"], "C": ["A"], "D": ["B", "C"]}
    assert got["B"]["template"] == "B" and got["B"]["arguments"]["parameters"] == [{"name": "para-B-0", "value": "B"}]


def test_set_dependencies_with_depends_logic_turns_every_list_into_depends(built: Built) -> None:
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    couler.set_dependencies(lambda: job("B"), dependencies=["A"])
    couler.set_dependencies(lambda: job("C"), dependencies="A.Succeeded && B.Failed")
    got = tasks(built())
    # Argo rejects a DAG that mixes `depends` and `dependencies`.
    assert {n: t.get("depends") for n, t in got.items()} == {"A": None, "B": "A", "C": "A.Succeeded && B.Failed"}
    assert not any("dependencies" in t for t in got.values())


def test_set_dependencies_rejects_other_types() -> None:
    with pytest.raises(InvalidInput, match="list of task names"):
        couler.set_dependencies(lambda: job("A"), dependencies=3)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="function"):
        couler.set_dependencies(job("A"))  # type: ignore[arg-type]


def test_dag_of_chains_is_a_diamond(built: Built) -> None:
    couler.dag([
        [lambda: job("A")],
        [lambda: job("A"), lambda: job("B")],
        [lambda: job("A"), lambda: job("C")],
        [lambda: job("B"), lambda: job("D")],
        [lambda: job("C"), lambda: job("D")],
    ])
    got = tasks(built())
    assert {n: t.get("dependencies") for n, t in got.items()} == {"A": None, "B": ["A"], "C": ["A"], "D": ["B", "C"]}


def test_when_in_steps_puts_both_branches_in_one_group(built: Built) -> None:
    result = flip_coin()
    couler.when(couler.equal(result, "heads"), lambda: heads())
    couler.when(couler.not_equal(result, "heads"), lambda: tails())
    groups = steps(built())
    flip = groups[0][0]["name"]
    assert [[(s["template"], s.get("when")) for s in g] for g in groups] == [
        [("flip-coin", None)],
        [("heads", "{{steps." + flip + ".outputs.result}} == heads"),
         ("tails", "{{steps." + flip + ".outputs.result}} != heads")],
    ]


def test_when_in_a_dag_depends_on_the_compared_task(built: Built) -> None:
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    couler.set_dependencies(lambda: couler.when(couler.equal(flip_coin(), "heads"), lambda: heads()),
                            dependencies=["A"])
    got = tasks(built())
    assert got["flip-coin"]["dependencies"] == ["A"]
    assert got["heads"]["when"] == "{{tasks.flip-coin.outputs.result}} == heads"
    assert got["heads"]["dependencies"] == ["flip-coin"]


@pytest.mark.parametrize("predicate, op", [(couler.bigger, ">"), (couler.smaller_equal, "<=")])
def test_other_predicates(built: Built, predicate: Callable[..., dict[str, Any]], op: str) -> None:
    couler.when(predicate(flip_coin, 3), lambda: heads())
    assert steps(built())[1][0]["when"].endswith("outputs.result}} " + op + " 3")


def test_when_needs_a_step_output() -> None:
    with pytest.raises(InvalidInput, match="step's output"):
        couler.when(couler.equal("heads", "heads"), lambda: heads())


def consume(*messages: str) -> list[couler.Output]:
    return couler.run_container(image="alpine", command=["echo"], args=list(messages))


def test_map_runs_one_step_with_items(built: Built) -> None:
    couler.map(lambda x: consume(x), ["t1", "t2", "t3"])
    [[step]] = steps(built())
    assert step["template"] == "consume"
    assert step["arguments"]["parameters"] == [{"name": "para-consume-0", "value": "{{item.para-consume-0}}"}]
    assert step["withItems"] == [{"para-consume-0": v} for v in ("t1", "t2", "t3")]


def test_map_with_two_lists_in_a_dag(built: Built) -> None:
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    couler.set_dependencies(lambda: couler.map(lambda x, y: consume(x, y), ["a", "b"], ["1", "2"]),
                            dependencies=["A"])
    task = tasks(built())["consume"]
    assert task["dependencies"] == ["A"]
    assert task["withItems"] == [{"para-consume-0": "a", "para-consume-1": "1"},
                                 {"para-consume-0": "b", "para-consume-1": "2"}]


def test_map_checks_its_lists() -> None:
    with pytest.raises(InvalidInput, match="same length"):
        couler.map(lambda x, y: consume(x, y), ["a", "b"], ["1"])
    with pytest.raises(InvalidInput, match="exactly once"):
        couler.map(lambda x: [consume(x), consume(x)], ["a"])
    with pytest.raises(InvalidInput, match="takes 0"):
        couler.map(lambda x: heads(), ["a"])


def test_concurrent_steps_share_one_group(built: Built) -> None:
    couler.concurrent([lambda: consume("hello"), lambda: heads(), lambda: tails()])
    consume("after")
    groups = steps(built())
    assert [[s["template"] for s in g] for g in groups] == [["consume", "heads", "tails"], ["consume"]]


def test_concurrent_in_a_dag_gives_each_the_same_upstream(built: Built) -> None:
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    couler.set_dependencies(lambda: couler.concurrent([lambda: job("B"), lambda: job("C")]), dependencies=["A"])
    got = tasks(built())
    assert got["B"]["dependencies"] == ["A"] and got["C"]["dependencies"] == ["A"]


def test_concurrent_subtasks_get_their_own_steps_template(built: Built) -> None:
    def two() -> None:
        consume("one")
        consume("two")

    couler.concurrent([two, lambda: heads()], subtasks=True)
    wf = built()
    by_name = {t["name"]: t for t in wf["spec"]["templates"]}
    [group] = steps(wf)
    subs = [by_name[s["template"]] for s in group]
    assert [len(t["steps"]) for t in subs] == [2, 1]


def test_exit_handlers_run_on_the_workflow_status(built: Built) -> None:
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    couler.set_exit_handler(couler.WFStatus.Succeeded, lambda: heads())
    couler.set_exit_handler("Failed", lambda: tails())
    wf = built()
    assert wf["spec"]["onExit"] == "exit-handler"
    handler = wf["spec"]["templates"][-1]
    assert handler["name"] == "exit-handler"
    assert [[(s["template"], s["when"]) for s in g] for g in handler["steps"]] == [
        [("heads", "{{workflow.status}} == Succeeded")], [("tails", "{{workflow.status}} == Failed")]]
    assert "heads" not in tasks(wf)
    with pytest.raises(InvalidInput, match="Succeeded, Failed, Error"):
        couler.set_exit_handler("Done", lambda: tails())


def test_steps_and_a_dag_do_not_mix() -> None:
    heads()
    couler.set_dependencies(lambda: job("A"), dependencies=None)
    with pytest.raises(InvalidInput, match="mixes plain steps"):
        couler.workflow_yaml()


def test_a_loop_on_one_line_gives_unique_step_names(built: Built) -> None:
    for word in ("a", "b"):
        consume(word)
    names = [g[0]["name"] for g in steps(built())]
    assert len(set(names)) == 2 and names[1] == names[0] + "-2"
