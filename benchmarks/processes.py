"""The helper processes of the benchmark: provider sandboxes, gunicorn, ``db_worker``.

Every process is started in a session of its own (a terminal's Ctrl-C reaches only the
benchmark, which then stops them in order) and registered with a :class:`ProcessGroup`,
whose ``close()`` stops whatever is still running: SIGTERM to the whole process group
(gunicorn's workers included), then SIGKILL after a grace period.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

SETTINGS_MODULE = "benchmarks.settings"
#: The repository: every process of a run imports ``benchmarks`` from here.
ROOT = Path(__file__).resolve().parent.parent


class BenchmarkError(Exception):
    """A helper process could not be started, or a measurement went wrong."""


@dataclass
class Helper:
    """One running helper process and where its output goes."""

    name: str
    process: subprocess.Popen[str]
    log: Path | None = None

    def output(self) -> str:
        """What the process wrote so far (its log file), for error messages."""
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class ProcessGroup:
    """Starts helper processes and stops every one of them on ``close()``."""

    workdir: Path
    #: Environment common to every Django process (database URL, sandbox URL...).
    env: dict[str, str] = field(default_factory=dict)
    helpers: list[Helper] = field(default_factory=list)

    def django_env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "PYTHONUNBUFFERED": "1",
            **self.env,
            **extra,
        }

    def start(
        self,
        name: str,
        command: list[str],
        *,
        env: Mapping[str, str],
        stdout_pipe: bool = False,
    ) -> Helper:
        """Start ``command``; its output goes to ``<workdir>/<name>.log`` (or a pipe)."""
        log = None
        out: int | IO[str]
        if stdout_pipe:
            out = subprocess.PIPE
        else:
            log = self.workdir / f"{name}.log"
            out = log.open("w")
        try:
            process = subprocess.Popen(
                command,
                env=dict(env),
                stdin=subprocess.PIPE,
                stdout=out,
                stderr=subprocess.STDOUT if not stdout_pipe else None,
                text=True,
                start_new_session=True,
            )
        finally:
            if not isinstance(out, int):
                out.close()
        helper = Helper(name, process, log)
        self.helpers.append(helper)
        return helper

    def stop(self, helper: Helper, timeout: float = 15.0) -> None:
        """SIGTERM the helper's process group, SIGKILL it if it is still there later."""
        process = helper.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()
        if helper in self.helpers:
            self.helpers.remove(helper)

    def close(self) -> None:
        """Stop every helper still running, newest first."""
        for helper in reversed(list(self.helpers)):
            self.stop(helper)

    # -- the helpers -------------------------------------------------------------------------
    def sandbox(self, name: str, latency_ms: float = 0.0) -> str:
        """Start a provider sandbox process; return its URL."""
        helper = self.start(
            name,
            [sys.executable, "-m", "benchmarks.sandbox_server",
             "--latency-ms", str(latency_ms)],
            env=os.environ,
            stdout_pipe=True,
        )
        assert helper.process.stdout is not None
        url = helper.process.stdout.readline().strip()
        if not url.startswith("http://"):
            self.stop(helper)
            raise BenchmarkError(f"the provider sandbox did not start (it printed {url!r})")
        return url

    def gunicorn(self, workers: int, *, prepared: bool = False) -> tuple[Helper, str]:
        """Start gunicorn (sync workers) on the benchmark project; return it and its URL.
        ``prepared``: with PostgreSQL prepared statements (see the settings module)."""
        port = free_port()
        helper = self.start(
            "gunicorn",
            [sys.executable, "-m", "gunicorn", "benchmarks.wsgi:application",
             "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--preload",
             "--access-logfile", "/dev/null", "--log-level", "warning"],
            env=self.django_env(
                SMS_BENCH_ROLE="smsbench-web", SMS_BENCH_PREPARED="1" if prepared else "0"
            ),
        )
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(port), helper, "gunicorn to listen", timeout=30)
        return helper, url

    def db_worker(self, number: int) -> Helper:
        """Start one ``db_worker`` on the ``sms`` queue, polling every 50 ms when idle."""
        helper = self.start(
            f"db_worker-{number}",
            [sys.executable, "-m", "django", "db_worker", "--queue-name", "sms",
             "--interval", "0.05", "--no-startup-delay", "--no-reload",
             "--worker-id", f"smsbench-{os.getpid()}-{number}-{time.monotonic_ns()}"],
            env=self.django_env(SMS_BENCH_ROLE="smsbench-worker"),
        )
        wait_until(lambda: "Starting worker" in helper.output(), helper, "db_worker to start",
                   timeout=60)
        return helper


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition: Callable[[], bool], helper: Helper, what: str, timeout: float) -> None:
    """Wait for ``condition``; fail with the helper's output if it exits or time runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if helper.process.poll() is not None:
            raise BenchmarkError(
                f"{helper.name} exited with status {helper.process.returncode} while waiting "
                f"for {what}:\n{helper.output()}"
            )
        if time.monotonic() > deadline:
            raise BenchmarkError(f"timed out waiting for {what}:\n{helper.output()}")
        time.sleep(0.05)
