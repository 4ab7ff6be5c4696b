"""The state machine's transitions, driven with a simulated clock and no I/O."""

from __future__ import annotations

import json
from typing import Any

from conveyor.engine import Machine
from conveyor.engine._ids import fnv32a, node_id
from tests.engine.sim import Sim, argv, sim, workflow

STEPS = """
spec:
  entrypoint: main
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: main
    steps:
    - - name: hello
        template: say
        arguments: {parameters: [{name: msg, value: "hello {{workflow.parameters.who}}"}]}
    - - name: echo
        template: say
        arguments: {parameters: [{name: msg, value: "got {{steps.hello.outputs.result}}"}]}
  - name: say
    inputs: {parameters: [{name: msg}]}
    container: {image: busybox, command: [echo], args: ["{{inputs.parameters.msg}}"]}
"""


def echo_result(plan: dict[str, Any]) -> dict[str, Any]:
    return {"phase": "Succeeded", "exitCode": 0, "result": argv(plan)[-1]}


def test_steps_pass_results_and_name_nodes_like_argo() -> None:
    s = sim(STEPS, echo_result)
    m = s.run()
    assert m.phase == "Succeeded"
    assert [argv(a.plan) for a in s.launches] == [["echo", "hello world"], ["echo", "got hello world"]]
    names = {n.name for n in m.nodes.values()}
    assert {"wf", "wf[0]", "wf[0].hello", "wf[1]", "wf[1].echo"} == names
    hello = s.node("hello")
    assert hello.id == f"wf-{fnv32a('wf[0].hello')}" == node_id("wf", "wf[0].hello")
    assert m.nodes["wf"].type == "Steps" and s.node("[0]").type == "StepGroup"
    status = m.status()
    assert status["progress"] == "2/2"
    assert status["nodes"][hello.id]["outputs"]["result"] == "hello world"
    assert status["nodes"]["wf"]["outboundNodes"] == [s.node("echo").id]
    # groups chain: the first step's node points to the next group
    assert s.node("[1]").id in hello.children


DIAMOND = """
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: t}
      - {name: B, template: t, depends: A}
      - {name: C, template: fail, depends: A}
      - {name: should-execute-1, template: t, depends: "A && (C.Succeeded || C.Failed)"}
      - {name: should-execute-2, template: t, depends: B || C}
      - {name: should-not-execute, template: t, depends: B && C}
      - {name: should-execute-3, template: t, depends: should-execute-2.Succeeded || should-not-execute}
  - name: t
    container: {image: busybox, command: [sh, -c, "exit 0"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
"""


def by_exit(plan: dict[str, Any]) -> dict[str, Any]:
    code = 1 if "exit 1" in argv(plan) else 0
    return {"phase": "Failed" if code else "Succeeded", "exitCode": code, "message": "Error (exit code 1)" if code else ""}


def test_dag_enhanced_depends_omits_and_succeeds() -> None:
    s = sim(DIAMOND, by_exit)
    m = s.run()
    assert m.phase == "Succeeded", m.message
    assert s.node("C").phase == "Failed"
    assert s.node("should-not-execute").phase == "Omitted"
    assert s.node("should-not-execute").type == "Skipped"
    for name in ("should-execute-1", "should-execute-2", "should-execute-3"):
        assert s.node(name).phase == "Succeeded"
    # B and C only after A; edges follow dependencies
    assert s.launched()[0] == "A"
    assert s.node("B").id in s.node("A").children


def test_dag_fails_when_a_leaf_branch_failed() -> None:
    s = sim(
        """
spec:
  entrypoint: d
  templates:
  - name: d
    dag:
      tasks:
      - {name: A, template: fail}
      - {name: B, template: t, depends: A}
  - name: t
    container: {image: busybox, command: [sh, -c, "exit 0"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
""",
        by_exit,
    )
    m = s.run()
    assert m.phase == "Failed"
    assert s.node("B").phase == "Omitted"
    assert "failed" in m.message


def test_loops_name_items_and_aggregate_outputs() -> None:
    text = """
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - name: gen
        template: t
        arguments: {parameters: [{name: v, value: "{{item.n}}"}]}
        withItems: [{n: 1}, {n: 2}, {n: 3}]
    - - name: sum
        template: t
        arguments: {parameters: [{name: v, value: "{{steps.gen.outputs.parameters.out}}"}]}
  - name: t
    inputs: {parameters: [{name: v}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.v}}"]}
    outputs: {parameters: [{name: out, valueFrom: {path: /tmp/out}}]}
"""

    def doubled(plan: dict[str, Any]) -> dict[str, Any]:
        v = argv(plan)[-1]
        return {"phase": "Succeeded", "exitCode": 0, "parameters": {"out": v * 2}}

    s = sim(text, doubled)
    m = s.run()
    assert m.phase == "Succeeded"
    assert [n for n in s.launched() if n.startswith("gen")] == ["gen(0:n:1)", "gen(1:n:2)", "gen(2:n:3)"]
    assert json.loads(argv(s.launches[-1].plan)[-1]) == ["11", "22", "33"]


def test_retry_with_backoff_then_success() -> None:
    attempts = []

    def flaky(plan: dict[str, Any]) -> dict[str, Any]:
        attempts.append(plan["node_name"])
        if len(attempts) < 3:
            return {"phase": "Failed", "exitCode": 1, "message": "Error (exit code 1)"}
        return {"phase": "Succeeded", "exitCode": 0}

    s = sim(
        """
spec:
  entrypoint: t
  templates:
  - name: t
    retryStrategy: {limit: "4", backoff: {duration: "2", factor: "2"}}
    container: {image: busybox, command: [sh, -c, "exit 1"]}
""",
        flaky,
    )
    m = s.run()
    assert m.phase == "Succeeded"
    assert attempts == ["wf(0)", "wf(1)", "wf(2)"]
    retry = m.nodes["wf"]
    assert retry.type == "Retry" and len(retry.children) == 3
    # task 1 s, backoff 2 s, task 1 s, backoff 4 s, task 1 s
    assert m.finished_at - m.started_at == 9


def test_retry_limit_and_policy() -> None:
    fail = lambda plan: {"phase": "Failed", "exitCode": 2}  # noqa: E731
    s = sim("""
spec:
  entrypoint: t
  templates:
  - name: t
    retryStrategy: {limit: 2}
    container: {image: busybox, command: [false]}
""", fail)
    assert s.run().phase == "Failed"
    assert len(s.launches) == 3
    error = lambda plan: {"phase": "Error", "message": "boom"}  # noqa: E731
    s = sim("""
spec:
  entrypoint: t
  templates:
  - name: t
    retryStrategy: {limit: 2, retryPolicy: OnFailure}
    container: {image: busybox, command: [false]}
""", error)
    assert s.run().phase == "Error"
    assert len(s.launches) == 1  # OnFailure does not retry errors


def test_retry_expression_sees_last_retry() -> None:
    codes = iter([2, 1, 0])

    def script(plan: dict[str, Any]) -> dict[str, Any]:
        code = next(codes)
        return {"phase": "Failed" if code else "Succeeded", "exitCode": code}

    s = sim("""
spec:
  entrypoint: t
  templates:
  - name: t
    retryStrategy: {limit: 10, expression: "asInt(lastRetry.exitCode) > 1"}
    container: {image: busybox, command: [false]}
""", script)
    assert s.run().phase == "Failed"
    assert len(s.launches) == 2  # exit 2 retried, exit 1 not


def test_workflow_parallelism_caps_running_pods() -> None:
    s = sim("""
spec:
  entrypoint: main
  parallelism: 2
  templates:
  - name: main
    steps:
    - - {name: t, template: t, withSequence: {count: "7"}}
  - name: t
    container: {image: busybox, command: [true]}
""")
    assert s.run().phase == "Succeeded"
    assert len(s.launches) == 7 and s.peak_running == 2


def test_template_parallelism_caps_children() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 3
    dag:
      tasks:
      - {name: t, template: t, withItems: [a, b, c, d, e, f, g, h]}
  - name: t
    container: {image: busybox, command: [true]}
""")
    assert s.run().phase == "Succeeded"
    assert len(s.launches) == 8 and s.peak_running == 3


def test_mutex_serialises_instances() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: t, template: t, withItems: [1, 2, 3]}
  - name: t
    synchronization: {mutexes: [{name: lock}]}
    container: {image: busybox, command: [true]}
""")
    assert s.run().phase == "Succeeded"
    assert s.peak_running == 1 and len(s.launches) == 3


def test_when_skips_and_continue_on_failed() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: bad, template: fail, continueOn: {failed: true}}
    - - {name: run-it, template: t, when: "{{steps.bad.status}} == Failed"}
      - {name: skip-it, template: t, when: "{{steps.bad.status}} == Succeeded"}
  - name: t
    container: {image: busybox, command: [sh, -c, "exit 0"]}
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
""", by_exit)
    m = s.run()
    assert m.phase == "Succeeded"
    assert s.node("run-it").phase == "Succeeded"
    assert s.node("skip-it").phase == "Skipped" and "evaluated false" in s.node("skip-it").message


def test_exit_handler_sees_status_and_failures() -> None:
    s = sim("""
spec:
  entrypoint: fail
  onExit: report
  templates:
  - name: fail
    container: {image: busybox, command: [sh, -c, "exit 1"]}
  - name: report
    container: {image: busybox, command: [echo, "{{workflow.status}} {{workflow.failures}}"]}
""", by_exit)
    m = s.run()
    assert m.phase == "Failed"
    exit_node = s.node("wf.onExit")
    assert exit_node.phase == "Succeeded"
    text = argv(s.launches[-1].plan)[-1]
    assert text.startswith("Failed ") and json.loads(text.split(" ", 1)[1])[0]["displayName"] == "wf"


def test_stop_kills_and_runs_exit_handler_terminate_does_not() -> None:
    text = """
spec:
  entrypoint: long
  onExit: bye
  templates:
  - name: long
    container: {image: busybox, command: [sleep, "100"]}
  - name: bye
    container: {image: busybox, command: [echo, bye]}
"""
    for kind, handler_runs in (("stop", True), ("terminate", False)):
        s = sim(text)
        s.hold = {"wf"}
        s.run()
        assert s.machine.phase == "Running"
        s.send({"type": kind})
        m = s.run()
        assert m.phase == "Failed"
        assert [k.node_id for k in s.kills] == ["wf"]
        exits = [n for n in m.nodes.values() if n.name == "wf.onExit"]
        assert [n.phase for n in exits] == (["Succeeded"] if handler_runs else [])
        assert "Stopped with strategy" in m.message


def test_template_deadline_kills_the_pod() -> None:
    s = sim("""
spec:
  entrypoint: t
  templates:
  - name: t
    activeDeadlineSeconds: 10
    container: {image: busybox, command: [sleep, "1d"]}
""")
    s.hold = {"wf"}
    m = s.run()
    assert m.phase == "Failed"
    assert m.nodes["wf"].message == "Pod was active on the node longer than the specified deadline"
    assert s.kills and m.finished_at - m.started_at == 10


def test_suspend_until_resumed_with_supplied_output() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - name: use
        template: t
        arguments: {parameters: [{name: m, value: "{{steps.approve.outputs.parameters.message}}"}]}
  - name: approve
    suspend: {}
    outputs: {parameters: [{name: message, valueFrom: {supplied: {}}}]}
  - name: t
    inputs: {parameters: [{name: m}]}
    container: {image: busybox, command: [echo, "{{inputs.parameters.m}}"]}
""")
    s.run()
    assert s.machine.phase == "Running" and s.node("approve").phase == "Running"
    s.send({"type": "resume", "parameters": {"message": "ship it"}})
    m = s.run()
    assert m.phase == "Succeeded"
    assert argv(s.launches[-1].plan) == ["echo", "ship it"]


def test_suspend_with_duration_resumes_itself() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    suspend: {duration: "30s"}
""")
    m = s.run()
    assert m.phase == "Succeeded" and m.finished_at - m.started_at == 30


def test_missing_input_is_an_error_node_with_a_clear_message() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: t, template: t}
  - name: t
    inputs: {parameters: [{name: needed}]}
    container: {image: busybox, command: [true]}
""")
    m = s.run()
    assert m.phase == "Failed"
    assert s.node("t").phase == "Error"
    assert s.node("t").message == "inputs.parameters.needed was not supplied"


def test_recursion_without_end_is_stopped() -> None:
    s = sim("""
spec:
  entrypoint: again
  templates:
  - name: again
    steps:
    - - {name: again, template: again}
""")
    m = s.run()
    assert m.phase in ("Failed", "Error")
    assert any("deeper than" in n.message for n in m.nodes.values())


def test_replaying_events_rebuilds_the_same_state() -> None:
    s = sim(DIAMOND, by_exit)
    s.run()
    again = Machine(workflow(DIAMOND))
    for at, event in s.events:
        again.apply(event, at)
    assert again.status() == s.machine.status()


def test_global_outputs_and_workflow_outputs() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: use
  - name: make
    container: {image: busybox, command: [true]}
    outputs: {parameters: [{name: p, globalName: shared, valueFrom: {path: /tmp/p}}]}
  - name: use
    container: {image: busybox, command: [echo, "{{workflow.outputs.parameters.shared}}"]}
""", lambda plan: {"phase": "Succeeded", "exitCode": 0, "parameters": {"p": "42"}})
    m = s.run()
    assert m.phase == "Succeeded"
    assert argv(s.launches[-1].plan) == ["echo", "42"]
    assert m.status()["outputs"]["parameters"] == [{"name": "shared", "value": "42"}]


def test_status_has_argo_shape() -> None:
    s = sim(STEPS, echo_result)
    status = s.run().status()
    assert status["phase"] == "Succeeded"
    assert status["startedAt"].endswith("Z") and status["finishedAt"].endswith("Z")
    for n in status["nodes"].values():
        assert {"id", "name", "displayName", "type", "phase"} <= set(n)
        if n["type"] == "Pod":
            assert n["templateName"] == "say" and n["boundaryID"] == "wf"


def test_pod_names_follow_argo_v2() -> None:
    s: Sim = sim(STEPS, echo_result)
    s.run()
    hello = s.node("hello")
    assert hello.pod_name == f"wf-say-{fnv32a('wf[0].hello')}"


def test_empty_retry_strategy_retries_without_limit() -> None:
    codes = iter([1, 1, 1, 1, 0])
    s = sim("""
spec:
  entrypoint: t
  templates:
  - name: t
    retryStrategy: {}
    container: {image: busybox, command: [false]}
""", lambda plan: (lambda c: {"phase": "Failed" if c else "Succeeded", "exitCode": c})(next(codes)))
    assert s.run().phase == "Succeeded"
    assert len(s.launches) == 5


def test_steps_fail_fast_leaves_queued_items_unrun() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    failFast: true
    steps:
    - - {name: u, template: t, arguments: {parameters: [{name: c, value: "{{item}}"}]}, withItems: ["0", "1", "0", "0"]}
  - name: t
    inputs: {parameters: [{name: c}]}
    container: {image: busybox, command: [sh, -c, "exit {{inputs.parameters.c}}"]}
""", lambda plan: {"phase": "Failed" if argv(plan)[-1].endswith("1") else "Succeeded", "exitCode": 0})
    m = s.run()
    assert m.phase == "Failed"
    assert len(s.launches) == 2
    assert [s.node(f"u({i}:0)").phase for i in (2, 3)] == ["Omitted", "Omitted"]


def test_artifacts_flow_from_outputs_to_inputs_by_key() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: make, template: make}
    - - name: use
        template: use
        arguments: {artifacts: [{name: data, from: "{{steps.make.outputs.artifacts.out}}"}]}
  - name: make
    container: {image: busybox, command: [true]}
    outputs: {artifacts: [{name: out, path: /tmp/out.txt}]}
  - name: use
    inputs: {artifacts: [{name: data, path: /in/data.txt}]}
    container: {image: busybox, command: [cat, "{{inputs.artifacts.data.path}}"]}
""", lambda plan: {"phase": "Succeeded", "exitCode": 0,
                   "artifacts": {n: {"key": a["key"]} for n, a in plan["outputs"]["artifacts"].items()}})
    m = s.run()
    assert m.phase == "Succeeded"
    make_plan, use_plan = (a.plan for a in s.launches)
    key = make_plan["outputs"]["artifacts"]["out"]["key"]
    assert key == f"wf/{s.node('make').pod_name}/out.tgz"
    assert use_plan["inputs"]["artifacts"] == [{"name": "data", "path": "/in/data.txt", "local": {"key": key}}]
    assert argv(use_plan) == ["cat", "/in/data.txt"]


def test_semaphore_limit_comes_from_settings() -> None:
    text = """
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: t, template: t, withSequence: {count: "6"}}
  - name: t
    synchronization: {semaphores: [{configMapKeyRef: {name: my-config, key: template}}]}
    container: {image: busybox, command: [true]}
"""
    s = Sim(Machine(workflow(text), semaphore_limits={"my-config/template": 3}))
    assert s.run().phase == "Succeeded"
    assert s.peak_running == 3 and len(s.launches) == 6
    s = sim(text)  # an unknown semaphore has limit 1
    s.run()
    assert s.peak_running == 1


def test_recovery_relaunches_running_pods_and_rearms_timers() -> None:
    text = """
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: done-before, template: t}
    - - {name: long, template: t}
      - {name: wait, template: pause}
  - name: t
    container: {image: busybox, command: [true]}
  - name: pause
    suspend: {duration: "60"}
"""
    s = sim(text)
    s.hold = {"long"}
    s.run(until=1_010.0)
    assert s.node("long").phase == "Running" and s.node("wait").phase == "Running"
    # a new process rebuilds the state from the stored events...
    again = Machine(workflow(text))
    for at, event in s.events:
        again.apply(event, at)
    assert again.status() == s.machine.status()
    # ...and, told it recovered, launches the running pod again and re-arms the timer
    actions = again.apply({"type": "recovered"}, 1_020.0)
    long_id = s.node("long").id
    assert [a.node_id for a in actions if type(a).__name__ == "Launch"] == [long_id]
    timers = [a for a in actions if type(a).__name__ == "SetTimer"]
    assert [(t.timer_id, t.at) for t in timers] == [(f"suspend:{s.node('wait').id}", s.node("wait").started_at + 60)]
    assert again.status()["nodes"][long_id]["failedPodRestarts"] == 1
    done_before = s.node("done-before").id
    assert not any(getattr(a, "node_id", None) == done_before for a in actions)  # never run twice
    again.apply({"type": "task_finished", "node": long_id, "result": {"phase": "Succeeded", "exitCode": 0}}, 1_030.0)
    again.apply({"type": "timer", "id": timers[0].timer_id}, timers[0].at)
    assert again.phase == "Succeeded"


def test_exit_hooks_under_parallelism_do_not_leak_slots() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    parallelism: 1
    steps:
    - - name: t
        template: t
        withItems: [1, 2, 3]
        hooks: {exit: {template: cleanup}}
  - name: t
    container: {image: busybox, command: [true]}
  - name: cleanup
    container: {image: busybox, command: [echo, bye]}
""")
    m = s.run()
    assert m.phase == "Succeeded"
    assert sum(1 for n in m.nodes.values() if n.name.endswith(".onExit")) == 3
    assert s.peak_running <= 2  # one step and, at most, the previous step's hook


def test_suspended_workflow_starts_no_new_pods_until_resumed() -> None:
    text = """
spec:
  entrypoint: main
  suspend: true
  templates:
  - name: main
    steps:
    - - {name: a, template: t}
    - - {name: b, template: t}
  - name: t
    container: {image: busybox, command: [true]}
"""
    s = sim(text)
    s.run()
    assert s.machine.phase == "Running" and s.launches == []
    s.send({"type": "resume"})
    assert s.launched() == ["a"]  # launched at once; it runs for a second
    s.send({"type": "suspend"})
    s.run(until=s.now + 5)
    assert s.launched() == ["a"] and s.node("a").phase == "Succeeded"  # the running pod finished
    s.send({"type": "resume"})
    assert s.run().phase == "Succeeded" and s.launched() == ["a", "b"]


def test_node_set_supplies_outputs_then_resumes() -> None:
    s = sim("""
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: approve, template: approve}
    - - {name: deploy, template: t, when: "{{steps.approve.outputs.parameters.ok}} == YES"}
  - name: approve
    suspend: {}
    outputs: {parameters: [{name: ok, valueFrom: {supplied: {}}}]}
  - name: t
    container: {image: busybox, command: [true]}
""")
    s.run()
    s.send({"type": "set", "selector": "displayName=approve", "parameters": {"ok": "YES"}})
    assert s.node("approve").phase == "Running"  # outputs supplied, still waiting
    s.send({"type": "set", "selector": "displayName=approve", "phase": "Succeeded"})
    assert s.run().phase == "Succeeded"
    assert s.node("deploy").phase == "Succeeded"


def test_two_node_names_with_one_hash_get_two_ids_and_pods_the_same_on_replay() -> None:
    # fnv32a("bench-loop-ztb39.work(942:942)") == fnv32a("bench-loop-ztb39.work(2583:2583)")
    text = """
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: work, template: t, withItems: ITEMS}
  - name: t
    container: {image: busybox, command: [true]}
""".replace("ITEMS", str(list(range(2584))))
    wf = workflow(text, name="bench-loop-ztb39")
    s = Sim(Machine(wf))
    m = s.run()
    assert m.phase == "Succeeded"
    a, b = "bench-loop-ztb39.work(942:942)", "bench-loop-ztb39.work(2583:2583)"
    assert fnv32a(a) == fnv32a(b)
    by_name = {n.name: n for n in m.nodes.values()}
    assert by_name[a].id == node_id(wf["metadata"]["name"], a)
    assert by_name[b].id == node_id(wf["metadata"]["name"], b + "#1")
    pods = [n.pod_name for n in m.nodes.values() if n.pod_name]
    assert len(pods) == len(set(pods)) == 2584  # artifacts are keyed by pod: none shared
    assert by_name[b].pod_name == f"bench-loop-ztb39-t{by_name[b].id.removeprefix('bench-loop-ztb39')}"
    replayed = Machine(workflow(text, name="bench-loop-ztb39"))
    for at, event in s.events:
        replayed.apply(event, at)
    assert {n.name: n.id for n in replayed.nodes.values()} == {n.name: n.id for n in m.nodes.values()}
