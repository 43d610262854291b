"""Run a provider sandbox in a process of its own, for the benchmark::

    python -m benchmarks.sandbox_server --latency-ms 50

Prints ``http://127.0.0.1:<port>`` on the first line of standard output once it listens,
then serves until standard input is closed or it receives SIGTERM/SIGINT. A process of its
own keeps the server's work off the measured process's interpreter (and its GIL). Accepted
messages are not reported anywhere (no callback URL) and reach their final status an hour
later, so the server does nothing but answer during a run.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from types import FrameType


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--latency-ms", type=float, default=0.0)
    args = parser.parse_args(argv)

    from django_sms.testing.sandbox import Outcome, Sandbox

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    # An hour: nothing is scheduled during a run (the store still answers status queries).
    quiet = Outcome(sent_after=3600, final_after=3600)
    sandbox = Sandbox(latency_ms=args.latency_ms, outcome=quiet, keepalive_timeout=300)
    with sandbox:
        print(sandbox.url, flush=True)
        threading.Thread(target=_stop_on_eof, args=(stop,), daemon=True).start()
        stop.wait()


def _stop_on_eof(stop: threading.Event) -> None:
    sys.stdin.read()
    stop.set()


if __name__ == "__main__":
    main()
