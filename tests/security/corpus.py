"""Broken and hostile request bodies for a live server, each with the answer it must get.

Every case names the route it is sent to, the status it must get (400; 413 for a
body over CONVEYOR_MAX_MANIFEST_BYTES, HTTP's status for that; 422 for an invalid
object on the Kubernetes paths, Kubernetes' own), and fragments its message must
hold: what is wrong, and where or what to do. Bodies are built when sent, so the
10 MB ones cost nothing until then. tests/spec/broken/ holds the file corpus for
the spec layer; these reach the same checks through the REST API, plus what only
a server sees (sizes, encodings, nesting, value counts, wrappers, routes).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

NS = "default"
WF = f"/api/v1/workflows/{NS}"
LINT = f"{WF}/lint"
SUBMIT = f"{WF}/submit"
WT = f"/api/v1/workflow-templates/{NS}"
CWT = "/api/v1/cluster-workflow-templates"
CRON = f"/api/v1/cron-workflows/{NS}"
KUBE = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/workflows"

#: what the seed objects are called; cases refer to them, and they must not change
SEED_WORKFLOW, SEED_TEMPLATE, SEED_CLUSTER, SEED_CRON = "seed-wf", "seed-tmpl", "seed-cluster", "seed-cron"
MB = 1024 * 1024
LIMIT_BYTES = 10 * MB  # CONVEYOR_MAX_MANIFEST_BYTES's default


@dataclass(frozen=True)
class Case:
    name: str
    category: str
    body: Callable[[], bytes]
    expect: tuple[str, ...]
    path: str = WF
    method: str = "POST"
    status: int = 400
    content_type: str = "application/json"
    #: send without Content-Length (Transfer-Encoding: chunked)
    chunked: bool = False
    headers: dict[str, str] = field(default_factory=dict)


def container(name: str = "main", **extra: Any) -> dict[str, Any]:
    return {"name": name, "container": {"image": "busybox", "command": ["true"], **extra}}


def workflow(spec: dict[str, Any] | None = None, name: str = "broken", **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Workflow",
        "metadata": {"name": name, **meta},
        "spec": spec if spec is not None else {"entrypoint": "main", "templates": [container()]},
    }


def dag(tasks: list[dict[str, Any]], *more: dict[str, Any]) -> dict[str, Any]:
    return {"entrypoint": "main", "templates": [{"name": "main", "dag": {"tasks": tasks}}, container("z"), *more]}


def steps(groups: list[list[dict[str, Any]]], *more: dict[str, Any]) -> dict[str, Any]:
    return {"entrypoint": "main", "templates": [{"name": "main", "steps": groups}, container("z"), *more]}


def js(obj: Any) -> Callable[[], bytes]:
    return lambda: json.dumps(obj).encode()


def create(spec: dict[str, Any] | None = None, name: str = "broken", **meta: Any) -> Callable[[], bytes]:
    return js({"workflow": workflow(spec, name, **meta)})


def raw(text: str | bytes) -> Callable[[], bytes]:
    return lambda: text if isinstance(text, bytes) else text.encode()


def nested(depth: int, inner: str = "1") -> str:
    return '{"a":' * depth + inner + "}" * depth


BILLION_LAUGHS = "\n".join(
    ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    + ["kind: Workflow", "metadata: {name: laughs}", "spec: {entrypoint: i, templates: [{name: i, container: {image: a, args: *i}}]}"]
)


def _cases() -> Iterator[Case]:
    # -- graphs and references --------------------------------------------------
    g = "graph"
    yield Case("dag-cycle", g, create(dag([
        {"name": "A", "template": "z", "depends": "C"}, {"name": "B", "template": "z", "depends": "A"},
        {"name": "C", "template": "z", "depends": "B"}])), ("cycle", "A -> C -> B -> A"))
    yield Case("self-dependency", g, create(dag([{"name": "A", "template": "z", "dependencies": ["A"]}])),
               ("depends on itself",))
    yield Case("unknown-dependency", g, create(dag([{"name": "A", "template": "z", "depends": "X"}])),
               ("'X', which is not a task",))
    yield Case("unknown-template", g, create(steps([[{"name": "s", "template": "missing"}]])),
               ("refers to template 'missing'", "fix the name or add the template"))
    yield Case("entrypoint-unknown", g, create({"entrypoint": "mian", "templates": [container()]}),
               ("entrypoint 'mian' names no template",))
    yield Case("missing-entrypoint", g, create({"templates": [container()]}), ("entrypoint is missing",))
    yield Case("recursion-self", g, create(steps([[{"name": "again", "template": "main"}]])),
               ("recursion has no end", "main -> main", "`when`"))
    yield Case("recursion-mutual", g, create({"entrypoint": "a", "templates": [
        {"name": "a", "dag": {"tasks": [{"name": "x", "template": "b"}]}},
        {"name": "b", "steps": [[{"name": "y", "template": "a"}]]}]}), ("recursion has no end", "a -> b -> a"))
    yield Case("recursion-through-loop", g, create(steps([[{"name": "s", "template": "main", "withItems": [1, 2]}]])),
               ("recursion has no end",))
    yield Case("template-ref-missing", g, create(steps([[{"name": "s", "templateRef": {"name": "nope", "template": "x"}}]])),
               ("WorkflowTemplate 'nope' not found", "create it"))
    yield Case("template-ref-no-such-template", g, create(steps([[{"name": "s", "templateRef": {
        "name": SEED_TEMPLATE, "template": "nope"}}]])), (f"{SEED_TEMPLATE!r} has no template 'nope'",))
    yield Case("workflow-template-ref-missing", g, create({"workflowTemplateRef": {"name": "nope"}}),
               ("WorkflowTemplate 'nope' not found",))
    yield Case("duplicate-template-names", g, create({"entrypoint": "main", "templates": [container(), container()]}),
               ("used by more than one template",))
    yield Case("two-template-types", g, create({"entrypoint": "main", "templates": [
        {"name": "main", "container": {"image": "a"}, "script": {"image": "a", "source": "x"}}]}),
               ("exactly one type",))
    yield Case("no-template-type", g, create({"entrypoint": "main", "templates": [{"name": "main"}]}), ("has no type",))
    yield Case("kubernetes-only-template", g, create({"entrypoint": "main", "templates": [
        {"name": "main", "resource": {"action": "create", "manifest": "x"}}]}), ("needs Kubernetes",))
    yield Case("depends-syntax", g, create(dag([{"name": "A", "template": "z"}, {"name": "B", "template": "z", "depends": "A &&"}])),
               ("ends with an operator",))
    yield Case("depends-parens-too-deep", g, create(dag([{"name": "A", "template": "z"}, {
        "name": "B", "template": "z", "depends": "(" * 150 + "A" + ")" * 150}])), ("nest more than 100 deep",))
    yield Case("missing-required-input", g, create(steps([[{"name": "s", "template": "echo"}]], {
        "name": "echo", "inputs": {"parameters": [{"name": "message"}]}, "container": {"image": "a"}})),
               ("does not pass parameter 'message'",))
    yield Case("undeclared-input", g, create({"entrypoint": "main", "templates": [
        container(args=["{{inputs.parameters.msg}}"])]}), ("declares no input parameter 'msg'",))
    yield Case("cycle-in-workflow-template", g, js({"template": {"metadata": {"name": "cyclic"}, "spec": dag([
        {"name": "A", "template": "z", "depends": "B"}, {"name": "B", "template": "z", "depends": "A"}])}}),
               ("cycle",), path=WT)
    yield Case("update-seed-template-with-recursion", g, js({"template": {
        "metadata": {"name": SEED_TEMPLATE}, "spec": steps([[{"name": "s", "template": "main"}]])}}),
               ("recursion has no end",), path=f"{WT}/{SEED_TEMPLATE}", method="PUT")
    yield Case("cluster-template-unknown-template", g, js({"template": {"metadata": {"name": "cwt-broken"},
                                                                       "spec": steps([[{"name": "s", "template": "gone"}]])}}),
               ("refers to template 'gone'",), path=CWT)
    yield Case("lint-cycle", g, js({"workflow": workflow(dag([{"name": "A", "template": "z", "depends": "B"},
                                                             {"name": "B", "template": "z", "depends": "A"}]))}),
               ("cycle",), path=LINT)

    # -- names that are not DNS labels ---------------------------------------------
    n = "names"
    yield Case("name-uppercase-underscore", n, create(name="My_Workflow"), ("'My_Workflow' is not a valid Kubernetes name",))
    yield Case("name-too-long", n, create(name="a" * 300), ("300 characters long", "at most 63"))
    yield Case("name-unicode", n, create(name="wörkflow"), ("not a valid Kubernetes name",))
    yield Case("name-empty", n, create(name=""), ("needs metadata.name or metadata.generateName",))
    yield Case("generate-name-invalid", n, js({"workflow": {**workflow(), "metadata": {"generateName": "Bad_"}}}),
               ("generateName 'Bad_' is not a valid name prefix",))
    yield Case("namespace-invalid", n, create(), ("namespace 'Bad_NS' is not valid",), path="/api/v1/workflows/Bad_NS")
    yield Case("task-name-underscore", n, create(dag([{"name": "my_task", "template": "z"}])), ("task name 'my_task' is invalid",))
    yield Case("template-name-space", n, create({"entrypoint": "my tmpl", "templates": [container("my tmpl")]}),
               ("template name 'my tmpl' is invalid",))
    yield Case("label-key-invalid", n, create(labels={"bad key!": "v"}), ("label key 'bad key!' is not valid",))
    yield Case("label-value-too-long", n, create(labels={"team": "x" * 64}), ("label 'team' has the value", "annotation"))
    yield Case("cron-name-too-long", n, js({"cronWorkflow": {"metadata": {"name": "c" * 60}, "spec": {
        "schedules": ["0 0 1 1 *"], "workflowSpec": {"entrypoint": "main", "templates": [container()]}}}}),
               ("at most 52",), path=CRON)
    yield Case("workflow-template-name-invalid", n, js({"template": {"metadata": {"name": "Tmpl.Bad_"},
                                                                    "spec": {"templates": [container()]}}}),
               ("not a valid Kubernetes name",), path=WT)

    # -- wrong types and wrong wrappers ----------------------------------------------
    t = "types"
    yield Case("spec-is-a-list", t, js({"workflow": {**workflow(), "spec": []}}), ("spec: expected a mapping",))
    yield Case("parallelism-a-string", t, create({"entrypoint": "main", "parallelism": "abc", "templates": [container()]}),
               ("spec.parallelism: expected an integer, got 'abc'",))
    yield Case("templates-a-mapping", t, create({"entrypoint": "main", "templates": {"name": "main"}}),
               ("spec.templates: expected a list",))
    yield Case("retry-limit-a-list", t, create({"entrypoint": "main", "templates": [
        {**container(), "retryStrategy": {"limit": [1, 2]}}]}), ("expected a string or an integer, got [1, 2]",))
    yield Case("args-a-string", t, create({"entrypoint": "main", "templates": [container(args="echo hi")]}),
               ("container.args: expected a list",))
    yield Case("label-a-number", t, create(labels={"k": 5}), ("metadata.labels.k: expected a string",))
    yield Case("metadata-a-string", t, js({"workflow": {**workflow(), "metadata": "x"}}), ("metadata must be an object",))
    yield Case("workflow-a-string", t, js({"workflow": "x"}), ("body.workflow",))
    yield Case("body-a-list", t, js([workflow()]), ("must be a JSON object",))
    yield Case("body-null", t, raw("null"), ("must be a JSON object",))
    yield Case("kind-pod", t, js({"workflow": {**workflow(), "kind": "Pod"}}), ("body.workflow is a Pod", "send a Workflow"))
    yield Case("api-version-wrong", t, js({"workflow": {**workflow(), "apiVersion": "argoproj.io/v1"}}),
               ("apiVersion is 'argoproj.io/v1'",))
    yield Case("cron-bad-schedule", t, js({"cronWorkflow": {"metadata": {"name": "cron-bad"}, "spec": {
        "schedules": ["every day"], "timezone": "Mars/Olympus",
        "workflowSpec": {"entrypoint": "main", "templates": [container()]}}}}),
               ("needs 5 fields", "'Mars/Olympus' is not a known IANA time zone"), path=CRON)
    yield Case("submit-bad-parameter", t, js({"resourceKind": "WorkflowTemplate", "resourceName": SEED_TEMPLATE,
                                              "submitOptions": {"parameters": ["no-equals-sign"]}}),
               ("'no-equals-sign' is not NAME=VALUE",), path=SUBMIT)
    yield Case("submit-unknown-entrypoint", t, js({"resourceKind": "WorkflowTemplate", "resourceName": SEED_TEMPLATE,
                                                   "submitOptions": {"entryPoint": "nope"}}),
               ("entrypoint 'nope' names no template",), path=SUBMIT)
    yield Case("submit-bad-kind", t, js({"resourceKind": "Pod", "resourceName": "x"}),
               ("resourceKind 'Pod' cannot be submitted",), path=SUBMIT)

    # -- expansion: loops and fan-out ------------------------------------------------
    x = "expansion"
    yield Case("sequence-count-huge", x, create(steps([[{"name": "s", "template": "z", "withSequence": {"count": "100000000000"}}]])),
               ("makes 100,000,000,000 items", "CONVEYOR_MAX_LOOP_ITEMS"))
    yield Case("sequence-range-huge", x, create(steps([[{"name": "s", "template": "z", "withSequence": {"start": "-5000000000", "end": "5000000000"}}]])),
               ("makes 10,000,000,001 items", "loop over batches"))
    yield Case("sequence-count-negative", x, create(steps([[{"name": "s", "template": "z", "withSequence": {"count": "-1"}}]])),
               ("must be 0 or more",))
    yield Case("sequence-count-and-end", x, create(steps([[{"name": "s", "template": "z", "withSequence": {"count": "2", "end": "5"}}]])),
               ("both `count` and `end`",))
    yield Case("items-literal-huge", x, create(steps([[{"name": "s", "template": "z", "withItems": list(range(150_000))}]])),
               ("withItems of step 's' makes 150,000 items", "CONVEYOR_MAX_LOOP_ITEMS"))
    yield Case("param-literal-huge", x, create(steps([[{"name": "s", "template": "z", "withParam": json.dumps(list(range(150_000)))}]])),
               ("withParam of step 's' makes 150,000 items",))
    yield Case("nested-loops-multiply", x, create(steps([[{"name": "outer", "template": "inner", "withSequence": {"count": "1000"}}]], {
        "name": "inner", "steps": [[{"name": "each", "template": "z", "withSequence": {"count": "1000"}}]]})),
               ("surely creates 1,001,001 nodes", "CONVEYOR_MAX_NODES"))
    yield Case("fan-out-chain", x, create({"entrypoint": "t0", "templates": [
        {"name": f"t{i}", "dag": {"tasks": [{"name": "d", "template": f"t{i + 1}", "withItems": ["a", "b"]}]}} for i in range(40)
    ] + [container("t40")]}), ("surely creates", "Loop over batches"))

    # -- size, encoding, nesting -------------------------------------------------------
    s = "size"
    yield Case("manifest-11mb", s, create({"entrypoint": "main", "templates": [container(args=["x" * (11 * MB)])]}),
               ("more than the limit of 10,485,760 bytes", "CONVEYOR_MAX_MANIFEST_BYTES"), status=413)
    yield Case("manifest-11mb-chunked", s, create({"entrypoint": "main", "templates": [container(args=["y" * (11 * MB)])]}),
               ("at least", "CONVEYOR_MAX_MANIFEST_BYTES"), status=413, chunked=True)
    yield Case("manifest-9mb-broken", s, create({"entrypoint": "main", "templates": [container(args=["z" * (9 * MB)])]},
                                                 name="Big_One"), ("'Big_One' is not a valid Kubernetes name",))
    yield Case("values-10mb-of-empty-objects", s, raw(b'{"workflow":{"metadata":{"name":"v"},"spec":{"x":['
                                                      + b",".join([b"{}"] * 3_400_000) + b"]}}}"),
               ("JSON values", "CONVEYOR_MAX_MANIFEST_VALUES"))
    yield Case("nesting-10000-lists", s, raw('{"workflow":' + "[" * 10_000 + "]" * 10_000 + "}"),
               ("nests deeper than 200 levels",))
    yield Case("nesting-10000-objects-in-spec", s, raw('{"workflow":{"metadata":{"name":"n"},"spec":' + nested(10_000) + "}}"),
               ("nests deeper than 200 levels",))
    yield Case("nesting-300-in-a-label", s, raw('{"workflow":{"metadata":{"name":"n","labels":' + nested(300, '"v"') + "}}}"),
               ("nests deeper than 200 levels",))
    yield Case("nesting-600-on-lint", s, raw('{"workflow":{"metadata":{"name":"n"},"spec":{"templates":[{"name":"m","container":{"image":"a","env":'
                                             + "[" * 600 + "]" * 600 + "}}]}}}"), ("nests deeper than 200 levels",), path=LINT)
    yield Case("nesting-5000-on-kubernetes-path", s, raw(nested(5000)), ("nests deeper than 200 levels",), path=KUBE)
    yield Case("invalid-utf8", s, raw(b'{"workflow":{"metadata":{"name":"\xff\xfe"}}}'), ("not valid UTF-8", "offset"))
    yield Case("lone-surrogate", s, raw('{"workflow":{"metadata":{"name":"s"},"spec":{"entrypoint":"main","templates":'
                                        '[{"name":"main","container":{"image":"a","args":["\\udc00"]}}]}}}'),
               ("lone UTF-16 surrogate", "valid Unicode"))
    yield Case("number-5000-digits", s, raw('{"workflow":{"spec":{"parallelism":1' + "0" * 5000 + "}}}"),
               ("number too long", "write it as a string"))
    yield Case("integer-beyond-int64", s, raw('{"workflow":{"metadata":{"name":"i"},"spec":{"entrypoint":"main",'
                                              '"activeDeadlineSeconds":18446744073709551616,"templates":[{"name":"main",'
                                              '"container":{"image":"a"}}]}}}'),
               ("spec.activeDeadlineSeconds", "the integer 18446744073709551616 is outside the 64-bit range"))
    yield Case("integer-beyond-int64-negative-on-kubernetes-path", s,
               js(workflow({"entrypoint": "main", "parallelism": -(2**63) - 1, "templates": [container()]})),
               ("spec.parallelism", "outside the 64-bit range"), path=KUBE, status=422)
    yield Case("json-nan", s, raw('{"workflow":{"metadata":{"name":"n"},"spec":{"entrypoint":"main","parallelism":NaN,'
                                  '"templates":[{"name":"main","container":{"image":"a"}}]}}}'),
               ("spec.parallelism", "NaN is not a number JSON"))
    yield Case("json-infinity-in-a-parameter", s, raw('{"workflow":{"metadata":{"name":"n"},"spec":{"entrypoint":"main",'
                                                      '"arguments":{"parameters":[{"name":"p","value":-Infinity}]},'
                                                      '"templates":[{"name":"main","container":{"image":"a"}}]}}}'),
               ("spec.arguments.parameters[p].value", "-infinity is not a number JSON", "quote it"))
    yield Case("json-1e400-on-lint", s, raw('{"workflow":{"metadata":{"name":"n"},"spec":{"entrypoint":"main",'
                                            '"parallelism":1e400,"templates":[{"name":"main","container":{"image":"a"}}]}}}'),
               ("spec.parallelism", "infinity is not a number"), path=LINT)
    yield Case("when-nested-100-parentheses", s, create(steps([[{"name": "s", "template": "z",
                                                                 "when": "(" * 100 + "1" + ")" * 100 + " == 1"}]])),
               ("spec.templates[main].steps[0][s].when", "nests 100 levels deep", "write it flatter"))
    yield Case("when-nested-on-lint", s, create(dag([{"name": "d", "template": "z", "when": "(" * 5000 + "true" + ")" * 5000}])),
               ("dag.tasks[d].when", "nests 5000 levels deep"), path=LINT)
    yield Case("when-5000-negations", s, create(steps([[{"name": "s", "template": "z", "when": "!" * 5000 + "true"}]])),
               ("5000 `!` or `-` in a row", "remove pairs"))
    # {{=...}} expressions past the expression parser's 120 levels: refused at submit and
    # lint (conveyor.expr.check), not left to fail their node at run time
    yield Case("expression-nested-500-parentheses", s, create({"entrypoint": "main", "templates": [
        container(args=["{{=" + "(" * 500 + "1" + ")" * 500 + "}}"])]}),
               ("spec.templates[0].container.args[0]", "nests deeper than the 120 levels", "write it flatter"))
    yield Case("expression-5000-negations-on-lint", s, create(steps([[{"name": "s", "template": "z", "arguments": {
        "parameters": [{"name": "p", "value": "{{=" + "!" * 5000 + "true}}"}]}}]])),
               ("arguments.parameters[0].value", "nests deeper than the 120 levels"), path=LINT)
    yield Case("expression-nested-in-a-template", s, js({"template": {
        "metadata": {"name": "deep-expr"}, "spec": {"entrypoint": "main", "templates": [
            container(env=[{"name": "V", "value": "{{=" + "[" * 300 + "1" + "]" * 300 + "}}"}])]}}}),
               ("container.env[0].value", "nests deeper than the 120 levels"), path=WT)
    yield Case("privileged-sidecar", s, create({"entrypoint": "main", "templates": [{
        **container(), "sidecars": [{"name": "dind", "image": "docker:dind", "securityContext": {"privileged": True}}]}]}),
               ("spec.templates[main].sidecars[dind].securityContext", "CONVEYOR_ALLOW_PRIVILEGED=true"))
    yield Case("json-truncated", s, raw('{"workflow": {"metadata": '), ("not valid JSON at character",))
    yield Case("body-empty", s, raw(b""), ("no JSON body",))
    yield Case("yaml-body", s, raw("workflow:\n  metadata:\n    name: y\n"), ("must be JSON", "application/yaml"),
               content_type="application/yaml")
    yield Case("yaml-billion-laughs", s, raw(BILLION_LAUGHS), ("must be JSON",), content_type="application/yaml")
    yield Case("yaml-billion-laughs-as-text", s, raw(BILLION_LAUGHS), ("not valid JSON",), content_type="text/plain")
    yield Case("annotations-over-256k", s, create(annotations={"note": "n" * 300_000}),
               ("annotations take 300,004 characters", "at most 262,144"))
    yield Case("kubernetes-invalid-name", s, js(workflow(name="Bad_Name")), ("'Bad_Name' is not a valid Kubernetes name",),
               path=KUBE, status=422)


CORPUS: list[Case] = list(_cases())
