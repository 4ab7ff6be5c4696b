"""Real runs of single-container tasks, in both isolation modes (bwrap and path remapping)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from executor_helpers import run, sh

from conveyor.executors.base import ContainerSpec, InputFile, TaskResult, TaskSpec
from conveyor.executors.process import ProcessExecutor

MakeExecutor = Callable[..., ProcessExecutor]
MakeSpec = Callable[..., TaskSpec]


def test_echo_result_and_log(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(ContainerSpec(name="main", command=("echo",), args=("hi",)))
    result = run(make_executor(mode), spec)
    assert (result.phase, result.exit_code, result.result, result.message) == (
        "Succeeded",
        0,
        "hi",
        "",
    )
    assert result.containers == {"main": 0}
    assert (spec.log_dir / "main.log").read_text() == "hi\n"
    assert result.started_at is not None and result.finished_at is not None
    assert result.started_at <= result.finished_at


def test_image_entrypoint_stands_in(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    spec = make_spec(ContainerSpec(name="main", image="argoproj/argosay:v2"))
    result = run(make_executor(mode), spec)
    assert (result.phase, result.result) == ("Succeeded", "hello argo")


def test_stderr_goes_to_the_log_not_the_result(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    spec = make_spec(sh("echo out; echo err >&2"))
    result = run(make_executor(mode), spec)
    assert result.result == "out"
    assert sorted((spec.log_dir / "main.log").read_text().splitlines()) == ["err", "out"]


def test_env_and_working_dir(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(
        sh(
            'echo "$GREETING|$(pwd)|${HOME:+home}|${PATH:+path}"; echo x > here.txt',
            env={"GREETING": "hello"},
            working_dir="/work/dir",
        ),
        output_parameters={"here": "/work/dir/here.txt"},
    )
    result = run(make_executor(mode), spec)
    greeting, cwd, home, path = result.result.split("|")  # type: ignore[union-attr]
    assert (greeting, home, path) == ("hello", "home", "path")
    assert cwd.endswith("/work/dir")
    assert result.parameters == {"here": "x"}


def test_relative_result_file_is_read_at_root(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    spec = make_spec(sh("echo 42 > result.txt"), output_parameters={"r": "/result.txt"})
    assert run(make_executor(mode), spec).parameters == {"r": "42"}


def test_exit_code_fails_the_task(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    result = run(
        make_executor(mode),
        make_spec(ContainerSpec(name="main", image="argoproj/argosay:v2", args=("exit", "3"))),
    )
    assert (result.phase, result.exit_code, result.message) == ("Failed", 3, "Error (exit code 3)")


def test_killed_by_signal(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    result = run(make_executor(mode), make_spec(sh("kill -9 $$")))
    assert (result.phase, result.exit_code) == ("Failed", 137)
    assert "SIGKILL" in result.message


def test_command_not_found_is_an_error(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    result = run(
        make_executor(mode), make_spec(ContainerSpec(name="main", command=("no-such-tool-xyz",)))
    )
    assert result.phase == "Error" and result.exit_code is None
    assert result.message.startswith(
        'failed to start container "main": executable "no-such-tool-xyz" not found on PATH'
    )
    assert "container executor" in result.message


def test_nothing_to_run_is_an_error(make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    result = run(make_executor("none"), make_spec(ContainerSpec(name="main", image="busybox")))
    assert (
        result.phase == "Error"
        and "nothing to run" in result.message
        and "busybox" in result.message
    )


def test_script_source(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    source = "import sys\nprint(sys.argv[0])\nopen('/tmp/p.txt', 'w').write('from script\\n')\n"
    spec = make_spec(
        ContainerSpec(name="main", command=("python",), script_source=source),
        output_parameters={"p": "/tmp/p.txt"},
    )
    result = run(make_executor(mode), spec)
    assert result.phase == "Succeeded", result.message
    assert result.result.endswith("/argo/staging/script")  # type: ignore[union-attr]
    assert result.parameters == {"p": "from script"}


def test_parallel_tasks_have_private_files(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    executor = make_executor(mode)
    specs = [
        make_spec(
            sh(
                f"mkdir -p /mnt/out; echo {n} > /tmp/out.txt; echo {n} > /result.txt; sleep 0.2; "
                f"echo {n} > /mnt/out/x; cat /tmp/out.txt"
            ),
            output_parameters={"tmp": "/tmp/out.txt", "res": "/result.txt", "mnt": "/mnt/out/x"},
        )
        for n in ("first", "second")
    ]

    async def both() -> list:
        handles = [await executor.launch(s) for s in specs]
        return [await h.wait() for h in handles]

    a, b = asyncio.run(both())
    assert a.parameters == {"tmp": "first", "res": "first", "mnt": "first"} and a.result == "first"
    assert (
        b.parameters == {"tmp": "second", "res": "second", "mnt": "second"} and b.result == "second"
    )


def test_input_artifacts_are_placed(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec, tmp_path: Path
) -> None:
    src = tmp_path / "in.txt"
    src.write_text("payload")
    folder = tmp_path / "in-dir"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.txt").write_text("A")
    spec = make_spec(
        sh("cat /tmp/input-file; cat /data/in/sub/a.txt; stat -c %a /tmp/input-file"),
        inputs=(InputFile("/tmp/input-file", src, mode=0o600), InputFile("/data/in", folder)),
    )
    result = run(make_executor(mode), spec)
    assert result.phase == "Succeeded", result.message
    assert result.result == "payloadA600"


def test_missing_input_source_is_an_error(
    make_executor: MakeExecutor, make_spec: MakeSpec, tmp_path: Path
) -> None:
    spec = make_spec(sh("true"), inputs=(InputFile("/tmp/x", tmp_path / "absent"),))
    result = run(make_executor("none"), spec)
    assert result.phase == "Error" and "absent" in result.message


def test_outputs(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    spec = make_spec(
        sh(
            "mkdir -p /mnt/out/sub /tmp/dir; echo a > /mnt/out/a.txt; echo b > /mnt/out/sub/b.txt; "
            "ln -s /etc/passwd /tmp/leak; printf 'v\\n\\n' > /tmp/v.txt; exit 1"
        ),
        output_parameters={
            "v": "/tmp/v.txt",
            "gone": "/tmp/nope",
            "dir": "/tmp/dir",
            "leak": "/tmp/leak",
        },
        output_artifacts={
            "out": "/mnt/out",
            "file": "/tmp/v.txt",
            "gone": "/tmp/nope",
            "leak": "/tmp/leak",
        },
    )
    result = run(make_executor(mode), spec)
    assert result.phase == "Failed"  # outputs are still collected, as Argo does
    # one newline trimmed; the missing file, the folder and the escaping link are left out
    assert result.parameters == {"v": "v\n"}
    assert set(result.artifacts) == {"out", "file"}
    out = result.artifacts["out"]
    assert out == spec.collect_dir / "out"
    assert (out / "a.txt").read_text() == "a\n" and (out / "sub" / "b.txt").read_text() == "b\n"
    assert result.artifacts["file"].read_text() == "v\n\n"


def test_roots_are_reused_empty_and_removed_at_close(
    mode: str, make_executor: MakeExecutor, make_spec: MakeSpec
) -> None:
    executor = make_executor(mode)
    # Without bubblewrap only the paths a task names are its own (the rest is the host's),
    # so there the check is on /tmp, which the remapping always covers.
    write = "echo secret > /tmp/x; mkdir -p /tmp/locked; chmod 000 /tmp/locked; chmod 700 /tmp"
    look = "ls -A /tmp; stat -c %a /tmp"
    if mode == "bwrap":
        write += "; mkdir -p /mnt/out /work; echo s > /mnt/out/y; echo w > /work/z"
        look = "ls -A /tmp /mnt; ls /work 2>&1 || true; stat -c %a /tmp"

    async def twice() -> tuple[TaskResult, TaskResult, bool]:
        first = await (await executor.launch(make_spec(sh(write)))).wait()
        for _ in range(100):  # the root is emptied in the background after the task
            await asyncio.sleep(0.02)
            if executor._roots is not None and executor._roots._free:
                break
        reused = executor._roots is not None and bool(executor._roots._free)
        second = await (await executor.launch(make_spec(sh(look)))).wait()
        await executor.close()
        return first, second, reused

    first, second, reused = asyncio.run(twice())
    assert first.phase == "Succeeded" and second.phase == "Succeeded"
    assert reused, "the first task's root went back to the pool"
    words = (second.result or "").split()
    assert not {"x", "locked", "out", "y", "z"} & set(words), words
    assert words[-1] == "1777", "the skeleton's modes are restored"
    assert list(executor.settings.scratch_dir.glob(".roots-*")) == [], "close removes every root"


def test_scratch_is_kept_when_asked(mode: str, make_executor: MakeExecutor, make_spec: MakeSpec) -> None:
    keeper = make_executor(mode, keep_scratch=True)
    run(keeper, make_spec(sh("echo x > /tmp/x"), key="kept"))
    assert (keeper.settings.scratch_dir / "kept" / "root" / "tmp" / "x").read_text() == "x\n"
