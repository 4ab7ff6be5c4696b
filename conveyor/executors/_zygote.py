"""A warm Python interpreter that forks one child per task (run by `_warm.py`).

This file is a program, not a module of conveyor: `_warm.py` runs its text with
`python -c` inside the task's sandbox, so it may import nothing but the standard
library. It talks over one SOCK_SEQPACKET socket (the fd number is its argument),
one JSON message per packet:

  out: {"ready": true}            once, when it is up
  in:  {"argv": [...], "env": {...}, "cwd": "...", "exec": bool} with two fds (stdout, stderr)
  out: {"pid": N}                 the child was forked
  in:  {"signal": N}              signal the child's process group
  out: {"exit": CODE}             the child ended (128+N when killed by signal N)

The child runs a Python script (argv[1]) in this interpreter or, with "exec", is argv
as any command (the kept sandbox of `_warm.py`'s launcher), started by `subprocess`
with vfork and exec: about a millisecond less a task than a fork of this interpreter.
A command that cannot be started is answered {"error": ...}, and the executor starts
the task in a sandbox of its own instead (which says why, as a shell would).
One child at a time: the executor gives a sandbox to one task at a time. When the
socket closes, the interpreter ends (and with it, under bubblewrap, the sandbox).
Why not a fresh `python3` per task: its start-up (imports, site, .pth files) costs
20-50 ms, a fork of a warm interpreter about one.
"""

import atexit
import builtins
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import traceback
import types


def _child(request, fds):
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(fds[0], 1)
    os.dup2(fds[1], 2)
    for fd in (devnull, *fds):
        os.close(fd)
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    os.environ.clear()
    os.environ.update(request["env"])
    os.chdir(request["cwd"])
    script = request["argv"][1]
    sys.argv = request["argv"][1:]
    sys.path[0] = os.path.dirname(os.path.abspath(script))
    code = 0
    try:
        # As `python SCRIPT` runs it: a fresh __main__ module (runpy.run_path does the same
        # with importer lookups that cost a child several ms of copy-on-write faults).
        with open(script, "rb") as f:
            compiled = compile(f.read(), script, "exec")
        main = types.ModuleType("__main__")
        main.__dict__.update(__file__=script, __builtins__=builtins, __spec__=None, __package__=None,
                             __cached__=None, __loader__=None)
        sys.modules["__main__"] = main
        exec(compiled, main.__dict__)
    except SystemExit as e:  # as the interpreter treats it at exit
        if e.code is None:
            code = 0
        elif isinstance(e.code, int):
            code = e.code & 0xFF
        else:
            print(e.code, file=sys.stderr)
            code = 1
    except BaseException as e:
        # as a fresh interpreter prints it: from the script's own frames on
        tb = e.__traceback__
        while tb is not None and tb.tb_frame.f_code.co_filename != script:
            tb = tb.tb_next
        traceback.print_exception(type(e), e, tb)
        code = 130 if isinstance(e, KeyboardInterrupt) else 1
    try:
        threading._shutdown()  # non-daemon threads, as at a normal exit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:
        code = code or 1
    os._exit(code)


def _spawn(request, fds):
    # vfork and exec, in a session of its own; restore_signals undoes what Python ignores
    # (SIGPIPE, SIGXFSZ), which a command started by a shell would not inherit.
    return subprocess.Popen(request["argv"], env=request["env"], cwd=request["cwd"],
                            stdin=subprocess.DEVNULL, stdout=fds[0], stderr=fds[1],
                            start_new_session=True, restore_signals=True, close_fds=True)


def _become_subreaper():
    """Orphans of the tasks come to this process (PR_SET_CHILD_SUBREAPER), not to init:
    a child that left its task's session is then still ours to end (`_end_strays`)."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: only the task's session is ended


def _end_strays():
    """SIGKILL and reap every child still here: what the last task left outside its session
    (each round takes the generation that the one before orphaned)."""
    for _ in range(8):
        kids = set()
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/children") as f:
                    kids |= {int(k) for k in f.read().split()}
            except OSError:
                pass
        if not kids:
            return
        for kid in kids:
            try:
                os.kill(kid, signal.SIGKILL)
                os.waitpid(kid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def _send(sock, message):
    sock.send(json.dumps(message).encode())


def _serve(sock, request, fds, wake):
    proc = None
    if request.get("exec"):
        try:
            proc = _spawn(request, fds)
        except OSError as e:
            for fd in fds:
                os.close(fd)
            _send(sock, {"error": f"cannot start {request['argv'][0]}: {e.strerror or e}"})
            return
        pid = proc.pid
    else:
        pid = os.fork()
        if pid == 0:
            sock.close()
            os.close(wake)
            try:
                _child(request, fds)
            finally:
                os._exit(127)
    for fd in fds:
        os.close(fd)
    _send(sock, {"pid": pid})
    while True:
        ready, _, _ = select.select([sock, wake], [], [])
        if wake in ready:
            os.read(wake, 512)
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if sock in ready:
            data = sock.recv(4096)
            if not data:  # the executor went away: nothing is left to report to
                os.killpg(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                _end_strays()
                sys.exit(0)
            try:
                os.killpg(pid, json.loads(data)["signal"])
            except (ProcessLookupError, PermissionError):
                pass
    try:
        os.killpg(pid, signal.SIGKILL)  # what the task left behind in its session
    except (ProcessLookupError, PermissionError):
        pass
    _end_strays()  # and outside it
    code = os.waitstatus_to_exitcode(status)
    if proc is not None:
        proc.returncode = code  # reaped here: subprocess must not wait for it again
    _send(sock, {"exit": 128 - code if code < 0 else code})


def main():
    _become_subreaper()
    sock = socket.socket(fileno=int(sys.argv[1]))
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    _send(sock, {"ready": True})
    while True:
        data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 2)
        if not data:
            return
        request = json.loads(data)
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            _send(sock, {"error": "a request needs two file descriptors (stdout, stderr)"})
            continue
        try:
            _serve(sock, request, fds, wake_r)
        except OSError as e:
            _send(sock, {"error": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
