"""`posko worker`'s room part as a child process of its route part (streams/app.py).

The child ends with its parent however the parent ends (the kernel sends it SIGTERM, prctl's
PR_SET_PDEATHSIG), and the parent ends when the child does, with its exit code, so a supervisor
(`posko demo`, compose, systemd) sees one service and starts both again. Each part commits only
what it processed (streams/commits.py), so either may die at any moment.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading

log = logging.getLogger("posko.stream")

STOP_TIMEOUT_S = 30.0
PR_SET_PDEATHSIG = 1  # linux/prctl.h


def start_room(loglevel: str) -> subprocess.Popen[bytes]:
    """Start `posko worker --part room` (output to this process's) and watch it."""
    parent = os.getpid()

    def die_with_parent() -> None:  # in the child, before it runs Python
        try:
            ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        except AttributeError:  # pragma: no cover - not Linux: the child outlives a killed parent
            return
        if os.getppid() != parent:  # the parent died before prctl: nobody is left to stop us
            os._exit(0)

    child = subprocess.Popen([sys.executable, "-m", "posko.cli", "worker", "--part", "room",
                              "--loglevel", loglevel], stdin=subprocess.DEVNULL,
                             preexec_fn=die_with_parent)  # before any thread is started
    stopping = threading.Event()

    def stop() -> None:  # at the parent's exit: the room stops as gracefully as the route did
        stopping.set()
        if child.poll() is None:
            child.terminate()
            try:
                child.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.kill()

    def watch() -> None:
        code = child.wait()
        if not stopping.is_set():
            log.error("the worker's room part (pid %d) ended with %s: the worker ends too, to be "
                      "started again with it", child.pid, code)
            os._exit(code if code > 0 else 1)

    atexit.register(stop)
    threading.Thread(target=watch, name="posko-room-watch", daemon=True).start()
    return child
