"""load_documents() / load_file(): YAML or JSON in, plain manifests out, hostile input refused."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from conveyor.errors import ManifestError
from conveyor.spec import load_documents, load_file
from conveyor.spec._load import MAX_DEPTH


def only_problem(exc: pytest.ExceptionInfo[ManifestError]) -> str:
    [problem] = exc.value.problems
    assert problem.path == ""
    return problem.message


def test_multi_document_yaml_skips_empty_documents() -> None:
    text = "---\nkind: A\n---\n---\n# only a comment\n---\nkind: B\n...\n"
    assert load_documents(text) == [{"kind": "A"}, {"kind": "B"}]


def test_json_and_bytes_and_bom() -> None:
    doc = {"kind": "Workflow", "spec": {"templates": [{"name": "a"}]}}
    assert load_documents(json.dumps(doc)) == [doc]
    assert load_documents(("\ufeff" + json.dumps(doc)).encode()) == [doc]
    assert load_documents(b"\xef\xbb\xbfkind: Workflow\n") == [{"kind": "Workflow"}]


def test_yaml_flow_style_that_is_not_json_still_loads() -> None:
    assert load_documents("{kind: Workflow, spec: {a: [1, 2]}}") == [
        {"kind": "Workflow", "spec": {"a": [1, 2]}}
    ]


def test_scalars_follow_argo_yaml_rules() -> None:
    text = (
        "a: 2020-01-02\nb: yes\nc: 0x10\nd: '='\ne: =\nf: ~\ng: 1.5\nh: '007'\ni: 1:30\nj: 1_000\n"
    )
    [doc] = load_documents(text)
    assert doc == {
        "a": "2020-01-02",
        "b": True,
        "c": 16,
        "d": "=",
        "e": "=",
        "f": None,
        "g": 1.5,
        "h": "007",
        "i": "1:30",
        "j": 1000,
    }


def test_non_string_keys_keep_their_text() -> None:
    assert load_documents("{1: a, on: b, null: c}") == [{"1": "a", "on": "b", "null": "c"}]


def test_anchors_and_merge_keys() -> None:
    text = "base: &b {x: 1, y: 2}\nother: &o {z: 3}\nm:\n  <<: [*b, *o]\n  y: 9\nn: *b\n"
    [doc] = load_documents(text)
    assert doc["m"] == {"x": 1, "y": 9, "z": 3}
    assert doc["n"] == {"x": 1, "y": 2}


def test_too_large_names_the_limit_and_setting() -> None:
    with pytest.raises(ManifestError) as exc:
        load_documents("a: " + "x" * 100, "big.yaml", max_bytes=50)
    message = only_problem(exc)
    assert "103 bytes" in message and "limit of 50 bytes" in message
    assert "CONVEYOR_MAX_MANIFEST_BYTES" in message
    assert str(exc.value).startswith("big.yaml: 1 problem(s)")


def test_invalid_utf8() -> None:
    with pytest.raises(ManifestError) as exc:
        load_documents(b"kind: \xff\xfe\n")
    assert "not valid UTF-8 (bad byte at offset 6)" in only_problem(exc)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a: [1\n", "YAML syntax error at line 2, column 1"),
        ("a: b\n c: d\n", "YAML syntax error at line 2, column 3"),
        ("a:\n\tb: 1\n", "tabs"),
        ("a: *nothing\n", "names no anchor"),
        ("a: !!binary aGk=\n", "the YAML tag !!binary at line 1, column 4 is not supported"),
        ("a: !!set {x}\n", "!!set"),
        ("a: !Ref x\n", "!Ref"),
        ("? [a]\n: b\n", "not a plain string"),
        ("a: 1\nb: 2\na: 3\n", "the key 'a' appears twice"),
        ("a: &x [*x]\n", "recursive alias"),
        ("m:\n  <<: 3\n", "merge key"),
    ],
)
def test_unreadable_yaml(text: str, fragment: str) -> None:
    with pytest.raises(ManifestError) as exc:
        load_documents(text)
    assert fragment in only_problem(exc)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("- a\n", "document 1 (line 1) is a list, not a mapping"),
        ("kind: A\n---\njust text\n", "document 2 (line 2) is a string"),
        ("kind: A\n---\n42\n", "document 2 (line 2) is a number, not a mapping"),
    ],
)
def test_documents_must_be_mappings(text: str, fragment: str) -> None:
    with pytest.raises(ManifestError) as exc:
        load_documents(text)
    assert fragment in only_problem(exc)


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    with pytest.raises(ManifestError) as exc:
        load_documents("\n".join(lines))
    assert "alias bomb" in only_problem(exc)


def test_aliased_nodes_are_not_shared() -> None:
    [doc] = load_documents("e: &e [{name: A}]\na: *e\nb: *e\n")
    doc["a"][0]["name"] = "changed"
    assert doc["b"] == [{"name": "A"}] and doc["e"] == [{"name": "A"}]


def test_modest_alias_use_is_fine() -> None:
    text = "env: &env [{name: A, value: '1'}]\nt:\n" + "".join(
        f"  - {{name: t{i}, env: *env}}\n" for i in range(500)
    )
    [doc] = load_documents(text)
    assert doc["t"][499]["env"] == [{"name": "A", "value": "1"}]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5000, 200_000])
def test_deep_nesting_is_refused_without_recursion_errors(depth: int) -> None:
    for text in (
        "a: " + "[" * depth + "]" * depth,
        "[" * depth + "]" * depth,
        '{"a":' * depth + "1" + "}" * depth,
    ):
        with pytest.raises(ManifestError) as exc:
            load_documents(text)
        assert f"nests deeper than {MAX_DEPTH} levels" in only_problem(exc)


def test_nesting_up_to_the_limit_loads() -> None:
    depth = MAX_DEPTH - 1
    [doc] = load_documents("a: " + "[" * depth + "]" * depth)
    assert isinstance(doc["a"], list)


def test_alias_cannot_smuggle_depth() -> None:
    depth = MAX_DEPTH - 10
    text = "a: &deep " + "[" * depth + "]" * depth + "\nb: [[[[[[[[[[[[*deep]]]]]]]]]]]]\n"
    with pytest.raises(ManifestError) as exc:
        load_documents(text)
    assert "makes the document nest deeper" in only_problem(exc)


def test_load_file_reads_files_and_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "wf.yaml"
    path.write_text("kind: Workflow\n")
    assert load_file(path) == [{"kind": "Workflow"}]
    assert load_file(str(path)) == [{"kind": "Workflow"}]
    fake_stdin = io.TextIOWrapper(io.BytesIO(b"kind: CronWorkflow\n"))
    monkeypatch.setattr(sys, "stdin", fake_stdin)
    assert load_file("-") == [{"kind": "CronWorkflow"}]


def test_load_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ManifestError) as exc:
        load_file(tmp_path / "missing.yaml")
    assert "missing.yaml" in str(exc.value) and "cannot read the file" in only_problem(exc)
    big = tmp_path / "big.yaml"
    big.write_text("a: " + "x" * 100)
    with pytest.raises(ManifestError) as exc:
        load_file(big, max_bytes=10)
    assert "CONVEYOR_MAX_MANIFEST_BYTES" in only_problem(exc)
