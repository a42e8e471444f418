"""Posko's services as child processes: `posko worker` and `posko sink`, with their logs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from posko.errors import PoskoError

STOP_TIMEOUT_S = 30.0
# A service that ends this soon after starting is failing, not recovering: stop restarting.
FAILING_WITHIN_S = 10.0


class ServiceFailing(PoskoError, RuntimeError):
    """A service keeps ending right after it starts; the message carries its log's tail."""


class Service:
    """One `posko <name>` child process, logging to `<log_dir>/<name>.log`."""

    def __init__(self, name: str, log_dir: Path, env: dict[str, str] | None = None,
                 args: tuple[str, ...] = ()) -> None:
        self.name = name
        self.args = args  # after `posko <name>`, e.g. ("serve",)
        self.log = log_dir / f"{name}.log"
        self.env = {**os.environ, **(env or {})}
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0

    def start(self) -> None:
        """Start the process."""
        self.started_at = time.monotonic()
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "posko.cli", self.name, *self.args], stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
                start_new_session=True,
            )

    @property
    def exited(self) -> int | None:
        """The exit code once the process has ended, else None."""
        return self.process.poll() if self.process else None

    def keep_running(self) -> bool:
        """Restart the process if it ended; True when it did. Raises ServiceFailing when it
        ended within FAILING_WITHIN_S of its start (a crash loop, not a one-off failure)."""
        code = self.exited
        if self.process is None or code is None:
            return False
        if time.monotonic() - self.started_at < FAILING_WITHIN_S:
            raise ServiceFailing(f"posko {self.name} exited with {code} right after starting:\n"
                                 f"{self.tail()}\n(full log: {self.log})")
        self.restarts += 1
        self.start()
        return True

    def kill(self) -> None:
        """SIGKILL it and every process it started (the worker's room part), as a crash would."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)  # its own session: start_new_session
            except ProcessLookupError:
                pass
            self.process.wait()

    def stop(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Ask it to stop (SIGTERM) and kill it if it has not after the timeout."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()

    def cpu_seconds(self) -> float:
        """User + system CPU time the process and its descendants use so far (Linux)."""
        if self.process is None:
            return 0.0
        return sum(map(process_cpu_seconds, descendants(self.process.pid)))

    def tail(self, lines: int = 15) -> str:
        """The last lines of its log."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def descendants(pid: int) -> list[int]:
    """The process and every process below it that is still running, from /proc."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
        except OSError:
            continue  # ended between two reads
        found.append(current)
        for task in tasks:
            try:
                pending += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                pass
    return found


def process_rss_bytes(pid: int, descendants_too: bool = True) -> int:
    """Resident memory of a process (and of its descendants), from /proc (0 when it is gone)."""
    total = 0
    for current in descendants(pid) if descendants_too else [pid]:
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1]) * 1024  # the kernel counts in kB
    return total
