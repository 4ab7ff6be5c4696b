"""Label selectors: parsing (table), bad syntax, and SQL results agreeing with `matches`."""

from __future__ import annotations

import pytest

from conveyor.errors import InvalidInput
from conveyor.store import Store
from conveyor.store._labels import Requirement, parse_selector

R = Requirement


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("", []),
        ("   ", []),
        (None, []),
        ("a=b", [R("a", "=", ("b",))]),
        ("a==b", [R("a", "=", ("b",))]),
        ("a!=b", [R("a", "!=", ("b",))]),
        ("a", [R("a", "exists")]),
        ("!a", [R("a", "!exists")]),
        ("a=", [R("a", "=", ("",))]),
        ("a in (x,y)", [R("a", "in", ("x", "y"))]),
        ("a notin (x)", [R("a", "notin", ("x",))]),
        (" a = b , c != d ", [R("a", "=", ("b",)), R("c", "!=", ("d",))]),
        ("a in ( x , y ),!b,c", [R("a", "in", ("x", "y")), R("b", "!exists"), R("c", "exists")]),
        (
            "workflows.argoproj.io/phase=Running",
            [R("workflows.argoproj.io/phase", "=", ("Running",))],
        ),
        (
            "app.kubernetes.io/name in (web-1,api_2)",
            [R("app.kubernetes.io/name", "in", ("web-1", "api_2"))],
        ),
        ("in=in", [R("in", "=", ("in",))]),
    ],
)
def test_parse(selector: str | None, expected: list[Requirement]) -> None:
    assert parse_selector(selector) == expected


@pytest.mark.parametrize(
    ("selector", "needle"),
    [
        ("=b", "expected a label key"),
        ("a=b=c", "expected ','"),
        ("a b", "expected '='"),
        ("a in (x", "expected ',' or ')'"),
        ("a in x", "expected '('"),
        ("a in ()", "expected a value"),
        ("a notin", "expected '('"),
        ("a,", "expected a label key"),
        (",a", "expected a label key"),
        ("a,,b", "expected a label key"),
        ("!", "expected a label key"),
        ("!a=b", "expected ','"),
        ("a=(b)", "expected ','"),
        ("-a=b", "not a valid label key"),
        ("a=b c", "expected ','"),
        ("Bad_Prefix/a=b", "not a valid label key"),
        ("a=" + "v" * 64, "not a valid label value"),
        ("a=-v", "not a valid label value"),
        ("a in (x,-y)", "not a valid label value"),
        ("a>1", "not a valid label key"),
    ],
)
def test_bad_syntax_is_invalid_input_naming_the_selector(selector: str, needle: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_selector(selector)
    assert needle in info.value.message
    assert repr(selector) in info.value.message
    assert "position" in info.value.message


LABELLED = {
    "web": {"app": "web", "tier": "front"},
    "api": {"app": "api", "tier": "back"},
    "db": {"app": "db"},
    "bare": {},
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", {"web"}),
        ("app==web", {"web"}),
        ("app!=web", {"api", "db", "bare"}),  # absent key matches !=, as in Kubernetes
        ("tier", {"web", "api"}),
        ("!tier", {"db", "bare"}),
        ("app in (web,db)", {"web", "db"}),
        ("app notin (web,db)", {"api", "bare"}),
        ("tier notin (front)", {"api", "db", "bare"}),
        ("app,tier=back", {"api"}),
        ("app in (web,api),tier!=front", {"api"}),
        ("app=nothing", set()),
        ("", {"web", "api", "db", "bare"}),
    ],
)
def test_store_selects_what_matches_says(
    store: Store, make_wf, selector: str, expected: set[str]
) -> None:
    for name, labels in LABELLED.items():
        store.create_workflow(make_wf(name, labels=labels))
    got = {w["metadata"]["name"] for w in store.list_workflows(label_selector=selector)[0]}
    assert got == expected
    reqs = parse_selector(selector)
    by_matches = {n for n, labels in LABELLED.items() if all(r.matches(labels) for r in reqs)}
    assert by_matches == expected
