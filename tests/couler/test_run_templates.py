"""run_script and run_container: the templates and steps they create."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import conveyor.couler as couler
from conveyor.errors import InvalidInput

Built = Callable[[], dict[str, Any]]


def greet(name: str = "x") -> None:  # an annotated signature: Couler's ':' split would cut it wrong
    import os

    print("hello", os.environ["USER_NAME"])


def templates(wf: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {t["name"]: t for t in wf["spec"]["templates"]}


def test_run_script_turns_the_function_body_into_the_source(built: Built) -> None:
    def step() -> list[couler.Output]:
        return couler.run_script(image="python:3.11", source=greet, env={"USER_NAME": "ada", "N": 3, "ON": True},
                                 resources={"cpu": 1, "memory": "1Gi"}, timeout=30, retry=2,
                                 node_selector={"pool": "cpu"}, image_pull_policy=couler.ImagePullPolicy.Always,
                                 working_dir="/work")

    out = step()
    wf = built()
    tmpl = templates(wf)["step"]  # named after the function that called run_script
    assert tmpl["activeDeadlineSeconds"] == 30
    assert tmpl["retryStrategy"] == {"limit": 2, "retryPolicy": "Always"}
    assert tmpl["nodeSelector"] == {"pool": "cpu"}
    assert tmpl["script"] == {
        "image": "python:3.11",
        "command": ["python"],
        "source": 'import os\n\nprint("hello", os.environ["USER_NAME"])\n',
        "env": [{"name": "USER_NAME", "value": "ada"}, {"name": "N", "value": "3"}, {"name": "ON", "value": "true"}],
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        "imagePullPolicy": "Always",
        "workingDir": "/work",
    }
    # steps mode: one step named <template>-<calling line>
    [[only]] = wf["spec"]["templates"][0]["steps"]
    assert only["template"] == "step" and only["name"].startswith("step-")
    assert out[0].value == f"couler.{only['name']}.step.outputs.result"


def test_run_script_with_text_and_command(built: Built) -> None:
    couler.run_script(image="bash:5", command="bash", source="echo hi", step_name="say_hi")
    tmpl = templates(built())["say-hi"]  # '_' is not allowed in Argo names
    assert tmpl["script"] == {"image": "bash:5", "command": ["bash"], "source": "echo hi"}


def test_run_script_needs_a_source() -> None:
    with pytest.raises(InvalidInput, match="source"):
        couler.run_script(image="python:3.11")
    with pytest.raises(InvalidInput, match="lambda"):
        couler.run_script(image="python:3.11", source=lambda: print("x"))


def test_run_container_command_and_args_become_input_parameters(built: Built) -> None:
    def cowsay(message: str) -> list[couler.Output]:
        return couler.run_container(image="docker/whalesay", command=["cowsay"], args=[message])

    cowsay("hello")
    cowsay("again")
    wf = built()
    tmpl = templates(wf)["cowsay"]
    assert tmpl["inputs"] == {"parameters": [{"name": "para-cowsay-0"}]}
    assert tmpl["container"] == {"image": "docker/whalesay", "command": ["cowsay"],
                                 "args": ["{{inputs.parameters.para-cowsay-0}}"]}
    steps = [g[0] for g in wf["spec"]["templates"][0]["steps"]]
    assert [s["arguments"]["parameters"][0]["value"] for s in steps] == ["hello", "again"]
    assert len({s["name"] for s in steps}) == 2


def test_a_step_output_passed_as_an_argument_is_a_reference(built: Built) -> None:
    def produce() -> list[couler.Output]:
        return couler.run_script(image="python:3.11", source="print(42)")

    def consume(value: Any) -> list[couler.Output]:
        return couler.run_container(image="alpine", command=["echo"], args=value)

    consume(produce())
    steps = [g[0] for g in built()["spec"]["templates"][0]["steps"]]
    assert steps[1]["arguments"]["parameters"][0]["value"] == "{{steps." + steps[0]["name"] + ".outputs.result}}"


def test_secret_becomes_secret_key_refs(built: Built) -> None:
    name = couler.obtain_secret(["user", "password"], name="db")
    couler.run_container(image="alpine", command=["env"], secret=name, env={"A": "1"})
    [tmpl] = built()["spec"]["templates"][1:]
    assert tmpl["container"]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "user", "valueFrom": {"secretKeyRef": {"name": "db", "key": "user"}}},
        {"name": "password", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}},
    ]
    created = couler.create_secret({"token": "s3cret"})
    assert created.startswith("couler-") and couler.get_secret(created).keys == ("token",)  # type: ignore[union-attr]
    with pytest.raises(InvalidInput, match="unknown"):
        couler.run_container(image="alpine", command=["env"], secret="nope")


@pytest.mark.parametrize("kwargs, match", [
    ({"timeout": 0}, "timeout"),
    ({"retry": "3"}, "retry"),
    ({"image_pull_policy": "Sometimes"}, "image_pull_policy"),
    ({"output": object()}, "output="),
    ({"volume_mounts": []}, "volume_mounts="),
])
def test_bad_arguments_say_what_to_do(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        couler.run_container(image="alpine", command=["true"], **kwargs)


def test_daemon_and_a_parallelism_containers_cannot_have(built: Built, caplog: pytest.LogCaptureFixture) -> None:
    couler.run_container(image="nginx", command=["nginx"], daemon=True, parallelism=2, step_name="web")
    tmpl = templates(built())["web"]
    assert tmpl["daemon"] is True and "parallelism" not in tmpl
    assert "parallelism" in caplog.text


def shout() -> None:
    import sys

    print(sys.argv[1].upper())


def test_python_script_arguments_arrive_in_sys_argv(built: Built) -> None:
    def loud(word: str) -> list[couler.Output]:
        return couler.run_script(image="python:3.11", source=shout, args=[word])

    couler.map(lambda w: loud(w), ["a", "b"])
    script = built()["spec"]["templates"][1]["script"]
    # Argo puts args before the script path, where python would read them as the script.
    assert "args" not in script
    assert script["env"] == [{"name": "COULER_ARG_0", "value": "{{inputs.parameters.para-loud-0}}"}]
    assert script["source"].startswith('import os as _os, sys as _sys\n_sys.argv[1:] = [_os.environ["COULER_ARG_0"]]\n')
