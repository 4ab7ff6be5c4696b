"""The container executors' pure decisions: which leftovers to sweep, which task keys to refuse."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from conveyor.errors import ExecutorError
from conveyor.executors._ctr import OWNER_LABEL, check_key, stale


def test_stale_keeps_ours_and_live_owners_on_this_host() -> None:
    host = socket.gethostname()
    me = f"{os.getpid()}@{host}"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    items = [
        ("mine", {OWNER_LABEL: me}),
        ("live", {OWNER_LABEL: f"1@{host}"}),  # pid 1 is alive (or someone else's: still alive)
        ("dead", {OWNER_LABEL: f"{dead}@{host}"}),
        ("elsewhere", {OWNER_LABEL: f"{os.getpid()}@not-{host}"}),
        ("garbled", {OWNER_LABEL: "nobody"}),
        ("unlabelled", {}),
    ]
    assert stale(items, me, host) == ["dead", "elsewhere", "garbled", "unlabelled"]


@pytest.mark.parametrize("key", ["", ".", "..", "a/b"])
def test_a_key_that_cannot_name_a_container_is_refused(key: str) -> None:
    with pytest.raises(ExecutorError, match="cannot name a container"):
        check_key(key)


def test_a_plain_key_is_accepted() -> None:
    check_key("wf-1.step-2")
