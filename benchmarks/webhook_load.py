"""Load for the webhook benchmark: unique, signed Vonage delivery reports, replayed by wrk.

Vonage signs each callback with an HS256 JWT whose ``payload_hash`` is the SHA-256 of the
body. Signing in wrk's Lua would mean SHA-256 and HMAC in pure Lua, so the requests are
generated here instead — one ``delivered`` report per stored message, each signed as the
sandbox signs its callbacks — and written one per line (``Authorization`` value, a tab, the
JSON body) into one file per wrk thread. A short Lua script loads its thread's file and
replays it; every request is a new report about a different message, so none is a duplicate
(the script counts how often a thread ran out of requests and started over: the benchmark
treats that as an error).

Without wrk (not installed), :func:`python_load` replays the same files with one Python
process per file; the table then says so: such a generator competes with the server for
the CPU and measures less.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import multiprocessing
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.utils import timezone

from django_sms.models import AbstractMessage, get_message_model
from django_sms.status import Status
from django_sms.testing.sandbox.credentials import SandboxCredentials
from django_sms.testing.sandbox.providers.vonage import sign_hs256

WRK_SCRIPT = r"""
-- smsbench: replay pre-generated signed requests. args[1] is the directory holding
-- requests-<thread>.txt, one request per line: "<Authorization>\t<JSON body>".
-- (Values set with thread:set are globals of the thread: never shadow them with locals.)
threads = {}

function setup(thread)
   thread:set("tid", #threads)
   table.insert(threads, thread)
end

function init(args)
   requests = {}
   for line in io.lines(args[1] .. "/requests-" .. tid .. ".txt") do
      local tab = line:find("\t", 1, true)
      requests[#requests + 1] = wrk.format("POST", nil, {
         ["Content-Type"] = "application/json",
         ["Authorization"] = line:sub(1, tab - 1),
      }, line:sub(tab + 1))
   end
   position = 0
   wrapped = 0
end

function request()
   position = position + 1
   if position > #requests then
      position = 1
      wrapped = wrapped + 1
   end
   return requests[position]
end

function done(summary, latency, requests)
   local total = 0
   for _, thread in ipairs(threads) do
      total = total + thread:get("wrapped")
   end
   io.write(string.format("smsbench-wrapped %d\n", total))
   io.write(string.format("smsbench-p50-ms %.2f\n", latency:percentile(50) / 1000))
   io.write(string.format("smsbench-p99-ms %.2f\n", latency:percentile(99) / 1000))
end
"""


@dataclass
class LoadResult:
    """One load run against one URL."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float | None = None
    p99_ms: float | None = None
    #: Times a generator thread ran out of unique requests and replayed old ones.
    wrapped: int = 0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def __add__(self, other: LoadResult) -> LoadResult:
        return LoadResult(
            self.requests + other.requests,
            self.seconds + other.seconds,
            self.errors + other.errors,
            max(filter(None, (self.p50_ms, other.p50_ms)), default=None),
            max(filter(None, (self.p99_ms, other.p99_ms)), default=None),
            self.wrapped + other.wrapped,
        )


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def message_prefix(label: str) -> str:
    """How the texts of the benchmark's messages for configuration ``label`` begin."""
    return f"Webhook benchmark ({label}) "


def create_messages(count: int, *, label: str = "default") -> list[AbstractMessage]:
    """``count`` messages accepted by Vonage, waiting for their delivery report."""
    model = get_message_model()
    now = timezone.now()
    rows = [
        model(
            to=f"+3361{i % 10_000_000:07d}",
            country="FR",
            sender="BenchShop",
            text=f"{message_prefix(label)}{i}",
            encoding="GSM-7",
            segments=1,
            status=Status.ACCEPTED,
            backend_alias="default",
            provider="vonage",
            provider_message_id=str(uuid.uuid4()),
            attempts=1,
            sent_at=now,
            created_at=now,
        )
        for i in range(count)
    ]
    return model._default_manager.bulk_create(rows, batch_size=2000)


def signed_report(message: AbstractMessage, secret: str, application_id: str) -> tuple[str, str]:
    """``(Authorization value, body)`` of Vonage's ``delivered`` report for ``message``."""
    body = json.dumps(
        {
            "message_uuid": message.provider_message_id,
            "to": message.to.removeprefix("+"),
            "from": message.sender,
            "timestamp": timezone.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "status": "delivered",
            "channel": "sms",
            "client_ref": str(message.reference),
            "usage": {"currency": "EUR", "price": "0.0333"},
            "sms": {"count_total": "1"},
            "destination": {"network_code": "20801"},
        },
        separators=(",", ":"),
    )
    claims = {
        "iat": int(time.time()),
        "jti": str(uuid.uuid4()),
        "iss": "Vonage",
        "payload_hash": hashlib.sha256(body.encode()).hexdigest(),
        "application_id": application_id,
    }
    return f"Bearer {sign_hs256(claims, secret)}", body


def write_requests(directory: Path, messages: list[AbstractMessage], files: int) -> Path:
    """One signed report per message, spread over ``files`` request files in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    creds = SandboxCredentials()
    handles = [(directory / f"requests-{n}.txt").open("w") for n in range(files)]
    try:
        for i, message in enumerate(messages):
            auth, body = signed_report(
                message, creds.vonage_signature_secret, creds.vonage_application_id
            )
            handles[i % files].write(f"{auth}\t{body}\n")
    finally:
        for handle in handles:
            handle.close()
    return directory


def wrk_load(url: str, directory: Path, *, seconds: float, threads: int, connections: int
             ) -> LoadResult:
    """Replay ``directory``'s requests against ``url`` with wrk for ``seconds``."""
    script = directory / "replay.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(script), url, "--", str(directory)]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60,
                               check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"wrk failed ({completed.returncode}): {completed.stderr.strip()}")
    return parse_wrk(completed.stdout)


def parse_wrk(output: str) -> LoadResult:
    """Requests, duration and errors from wrk's summary (and the script's own lines)."""
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", output)
    if total is None:
        raise RuntimeError(f"could not read wrk's summary:\n{output}")
    unit = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[total.group(3)]
    errors = 0
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if non_2xx:
        errors += int(non_2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        output)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())

    def number(name: str) -> float | None:
        found = re.search(rf"smsbench-{name} ([\d.]+)", output)
        return float(found.group(1)) if found else None

    return LoadResult(
        requests=int(total.group(1)),
        seconds=float(total.group(2)) * unit,
        errors=errors,
        p50_ms=number("p50-ms"),
        p99_ms=number("p99-ms"),
        wrapped=int(number("wrapped") or 0),
    )


# -- the fallback without wrk ------------------------------------------------------------------


def python_load(url: str, directory: Path, *, seconds: float, processes: int) -> LoadResult:
    """Replay the request files with one Python process per file (when wrk is missing)."""
    files = sorted(directory.glob("requests-*.txt"))[:processes]
    context = multiprocessing.get_context("spawn")
    with context.Pool(len(files)) as pool:
        parts = pool.starmap(_replay, [(url, str(path), seconds) for path in files])
    result = LoadResult(0, 0.0, 0)
    for requests, elapsed, errors, wrapped in parts:
        result.requests += requests
        result.errors += errors
        result.wrapped += wrapped
        result.seconds = max(result.seconds, elapsed)
    return result


def _replay(url: str, path: str, seconds: float) -> tuple[int, float, int, int]:
    parts = urlsplit(url)
    lines = Path(path).read_text().splitlines()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    sent = errors = wrapped = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        if sent and sent % len(lines) == 0:
            wrapped += 1
        auth, _, body = lines[sent % len(lines)].partition("\t")
        headers: dict[str, Any] = {"Content-Type": "application/json", "Authorization": auth}
        try:
            connection.request("POST", parts.path, body=body.encode(), headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status >= 300:
                errors += 1
            if response.will_close:
                connection.close()
        except (OSError, http.client.HTTPException):
            errors += 1
            connection.close()
        sent += 1
    connection.close()
    return sent, time.perf_counter() - started, errors, wrapped
