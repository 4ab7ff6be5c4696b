"""`output=couler.create_local_artifact(path)`: a step's file kept as an output artifact."""

from __future__ import annotations

import pytest

import conveyor.couler as couler
from conveyor.errors import InvalidInput
from tests.couler.test_run_templates import Built, templates


def test_an_output_artifact_is_declared_and_returned(built: Built) -> None:
    out = couler.run_container(image="alpine", command=["sh", "-c", "echo 1 > /tmp/outputs/stats.json"],
                               output=couler.create_local_artifact("/tmp/outputs/stats.json"), step_name="make")
    assert templates(built())["make"]["outputs"] == {"artifacts": [{"name": "stats", "path": "/tmp/outputs/stats.json"}]}
    assert [(o.template, o.output) for o in out] == [("make", "outputs.result"), ("make", "outputs.artifacts.stats")]


def test_named_and_global_artifacts_of_a_script(built: Built) -> None:
    couler.run_script(image="python:3.11", source="print(1)", step_name="s",
                      output=[couler.create_local_artifact("/tmp/a.txt", name="first", is_global=True),
                              couler.create_local_artifact("/tmp/b")])
    assert templates(built())["s"]["outputs"]["artifacts"] == [
        {"name": "first", "path": "/tmp/a.txt", "globalName": "first"}, {"name": "b", "path": "/tmp/b"}]


@pytest.mark.parametrize("output, match", [
    ("stats.json", "output="),
    ([couler.create_local_artifact("/tmp/x.json"), couler.create_local_artifact("/data/x.csv")], "its own name"),
])
def test_bad_outputs_say_what_to_do(output: object, match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        couler.run_container(image="alpine", command=["true"], output=output)


def test_a_relative_path_or_passing_an_artifact_on_is_refused() -> None:
    with pytest.raises(InvalidInput, match="absolute path"):
        couler.create_local_artifact("outputs/stats.json")
    made = couler.run_container(image="alpine", command=["true"], step_name="a",
                                output=couler.create_local_artifact("/tmp/x"))
    with pytest.raises(InvalidInput, match="not supported"):
        couler.run_container(image="alpine", command=["cat"], args=[made[1]], step_name="b")
