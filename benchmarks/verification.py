"""Benchmark: phone verification, start + check pairs per second through the DRF endpoints,
against a hand-written peer.

The peer is what a developer writes without ``django_sms.verification``: a DRF view that
parses the number, stores a random code **in clear** in a table of its own, sends the text
with ``send_sms()``, and a second view that compares the typed code with ``==``. Both sides
send through the same pipeline (``locmem`` backend, so the message row and its events are
written on both sides) and are driven the same way, in process, by Django's test client: one
pair = ``POST start``, read the code from the outbox, ``POST check``. So the ratio is the
price of what the peer leaves out: the limit locks and counts, the HMAC, the masked text, the
conversion guard, the throttle. Each pair uses a new number and client IP (the limits stay on,
with room for the run).

Run from the repository root (PostgreSQL on 127.0.0.1:5432, user postgres)::

    python benchmarks/verification.py                    # 300 timed pairs per side
    python benchmarks/verification.py --pairs 1000 --database-url sqlite:///:memory:

A test database is created (Django's test-database machinery) and destroyed at the end. The
figures and the Markdown row are printed; ``--output docs/benchmarks.md`` also writes them as
their own section of that file. Not part of the test suite. ``rows()`` is the entry point for
a benchmark runner: it runs in any process where Django is set up on a migrated database
(it applies its own settings with ``override_settings`` and creates the peer's table).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/postgres"
SECTION_START = "<!-- verification benchmark: start -->"
SECTION_END = "<!-- verification benchmark: end -->"
#: Room enough for a run: the limits are evaluated (their cost is measured) but never refuse.
WIDE = [[10**9, 3600]]


def configure(database_url: str) -> None:
    import dj_database_url
    import django
    from django.conf import settings

    database = dj_database_url.parse(database_url)
    database["TEST"] = {"NAME": "sms_bench_verification"}
    settings.configure(
        SECRET_KEY="benchmark-only",
        DEBUG=False,
        USE_TZ=True,
        ALLOWED_HOSTS=["*"],
        ROOT_URLCONF=__name__,
        DATABASES={"default": database},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "django.contrib.admin",
            "django.contrib.messages",
            "rest_framework",
            "django_sms",
        ],
        MIDDLEWARE=["django.middleware.common.CommonMiddleware"],
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True}],
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        PHONENUMBER_DEFAULT_REGION="FR",
        LOGGING_CONFIG=None,
    )
    django.setup()


#: What ``rows()`` runs under (``override_settings``), in this script's own process or in a
#: benchmark runner's measuring process: the locmem backend on both sides, and the
#: verification limits on but wide enough for the run.
BENCH_VERIFICATION = {
    "DOMAIN": "shop.example.com",
    "PREFIX_LIMITS": WIDE,
    "COUNTRY_LIMITS": {"*": WIDE},
    "API_THROTTLE_RATES": {"start": "1000000/second", "check": "1000000/second"},
}


def bench_settings() -> dict[str, Any]:
    from django.conf import settings

    return {
        "ROOT_URLCONF": __name__,
        # Django's test client, in whatever process runs this.
        "ALLOWED_HOSTS": [*settings.ALLOWED_HOSTS, "testserver"],
        "SMS_BACKENDS": {"default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"}},
        "DJANGO_SMS": {
            **(getattr(settings, "DJANGO_SMS", None) or {}),
            "DEFAULT_SENDER": "BenchShop",
            "ASYNC": False,
            "VERIFICATION": BENCH_VERIFICATION,
        },
    }


# -- the hand-written peer ----------------------------------------------------------------------
# Defined once Django is set up (a model needs the app registry).

urlpatterns: list[Any] = []
_peer_model: Any = None


def define_peer() -> Any:
    """The peer's model (defined once) and views (in this module's ``urlpatterns``)."""
    global _peer_model
    if _peer_model is not None:
        return _peer_model
    import phonenumbers
    from django.db import models
    from django.urls import include, path
    from rest_framework.permissions import AllowAny
    from rest_framework.request import Request
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from django_sms import send_sms

    class PeerCode(models.Model):
        phone = models.CharField(max_length=20, db_index=True)
        code = models.CharField(max_length=6)  # in clear: what the app exists to avoid
        created_at = models.DateTimeField(auto_now_add=True)
        used = models.BooleanField(default=False)

        class Meta:
            app_label = "verification_peer"

        def __str__(self) -> str:
            return self.phone

    def e164(value: str) -> str:
        number = phonenumbers.parse(value, "FR")
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    class PeerStart(APIView):
        authentication_classes: list[Any] = []
        permission_classes = [AllowAny]

        def post(self, request: Request) -> Response:
            data: Any = request.data
            to = e164(data["to"])
            code = f"{secrets.randbelow(10**6):06d}"
            PeerCode._default_manager.create(phone=to, code=code)
            send_sms(f"Your code is {code}", to=to)
            return Response({"status": "pending"}, status=202)

    class PeerCheck(APIView):
        authentication_classes: list[Any] = []
        permission_classes = [AllowAny]

        def post(self, request: Request) -> Response:
            data: Any = request.data
            to = e164(data["to"])
            row = PeerCode._default_manager.filter(phone=to, used=False).order_by(
                "-created_at"
            ).first()
            if row is None or row.code != data["code"]:
                return Response({"status": "wrong"}, status=400)
            row.used = True
            row.save(update_fields=["used"])
            return Response({"status": "approved"})

    urlpatterns[:] = [
        path("sms/", include("django_sms.urls")),
        path("peer/start", PeerStart.as_view()),
        path("peer/check", PeerCheck.as_view()),
    ]
    _peer_model = PeerCode
    return PeerCode


# -- the measurement ----------------------------------------------------------------------------


@dataclass
class Side:
    name: str
    start_url: str
    check_url: str
    seconds: float = 0.0
    pairs: int = 0
    queries: list[int] | None = None

    @property
    def rate(self) -> float:
        return self.pairs / self.seconds


CODE = re.compile(r"(\d{6})")


def one_pair(client: Any, side: Side, index: int) -> None:
    import django_sms

    number = f"+336{index:08d}"
    ip = f"10.{(index >> 16) & 255}.{(index >> 8) & 255}.{index & 255}"
    started = client.post(side.start_url, {"to": number}, content_type="application/json",
                          REMOTE_ADDR=ip)
    if started.status_code != 202:
        raise RuntimeError(f"{side.name} start answered {started.status_code}: "
                           f"{started.content!r}")
    found = CODE.search(django_sms.outbox[-1].text)
    assert found, django_sms.outbox[-1].text
    checked = client.post(side.check_url, {"to": number, "code": found.group(1)},
                          content_type="application/json", REMOTE_ADDR=ip)
    if checked.status_code != 200:
        raise RuntimeError(f"{side.name} check answered {checked.status_code}: "
                           f"{checked.content!r}")
    django_sms.outbox.clear()


def run(sides: list[Side], pairs: int, rounds: int, first_index: int) -> int:
    """Alternate the sides in ``rounds`` blocks (so drift hits both alike); count queries."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client()
    index = first_index
    for side in sides:  # warm-up, and the queries of one pair
        for _ in range(20):
            one_pair(client, side, index)
            index += 1
        with CaptureQueriesContext(connection) as captured:
            one_pair(client, side, index)
            index += 1
        side.queries = [len(captured)]
    per_round = max(1, pairs // rounds)
    for _ in range(rounds):
        for side in sides:
            began = time.perf_counter()
            for _ in range(per_round):
                one_pair(client, side, index)
                index += 1
            side.seconds += time.perf_counter() - began
            side.pairs += per_round
    return index


def rows(pairs: int = 300, rounds: int = 6) -> list[tuple[str, str, str, str, str]]:
    """The benchmark's table rows (what, ours, baseline, ratio, target).

    Needs Django set up on a migrated database (this script's test database, or a benchmark
    runner's); creates the peer's table for the run and drops it afterwards.
    """
    from django.db import connection
    from django.test.utils import override_settings

    peer_model = define_peer()
    created = peer_model._meta.db_table not in connection.introspection.table_names()
    if created:
        with connection.schema_editor() as editor:
            editor.create_model(peer_model)
    try:
        with override_settings(**bench_settings()):
            ours = Side("django_sms.verification", "/sms/verify/start", "/sms/verify/check")
            peer = Side("peer", "/peer/start", "/peer/check")
            run([ours, peer], pairs, rounds, first_index=1)
    finally:
        if created:
            with connection.schema_editor() as editor:
                editor.delete_model(peer_model)
    ratio = ours.rate / peer.rate
    return [(
        "Phone verification: start + check pairs per second through the DRF endpoints "
        "(in process, locmem backend)",
        f"{ours.rate:.0f} pairs/s ({ours.queries[0] if ours.queries else '?'} queries)",
        f"{peer.rate:.0f} pairs/s ({peer.queries[0] if peer.queries else '?'} queries): a view "
        "storing a random code in clear and comparing it",
        f"{ratio:.2f}x",
        "",
    )]


def markdown(table_rows: list[tuple[str, str, str, str, str]], vendor: str, pairs: int) -> str:
    from django.utils import timezone

    header = ("Measurement", "django-transactional-sms", "Baseline", "Ratio", "Target")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows]
    return (
        f"{SECTION_START}\n## Phone verification\n\n"
        f"Measured with `python benchmarks/verification.py --pairs {pairs}` on "
        f"{timezone.now():%Y-%m-%d %H:%M} UTC ({vendor}, {os.cpu_count()} CPUs): start + check "
        "pairs driven in process by Django's test client, the two sides alternated in blocks "
        "after 20 warm-up pairs each.\n\n" + "\n".join(lines) + f"\n{SECTION_END}\n"
    )


def write_section(path: Path, section: str) -> None:
    text = path.read_text() if path.exists() else ""
    if SECTION_START in text and SECTION_END in text:
        before, rest = text.split(SECTION_START, 1)
        after = rest.split(SECTION_END, 1)[1].lstrip("\n")
        text = before + section + ("\n" + after if after else "")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text)


def main(argv: list[str] | None = None, setup: Callable[[str], None] = configure) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=300, help="timed pairs per side")
    parser.add_argument("--rounds", type=int, default=6, help="alternating blocks per side")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="where the test database is created (default: local PostgreSQL)")
    parser.add_argument("--output", default="", help="also write the section into this file")
    args = parser.parse_args(argv)
    setup(args.database_url)

    from django.db import connection

    test_db = connection.creation.create_test_db(verbosity=0, autoclobber=True)
    try:
        table_rows = rows(args.pairs, args.rounds)
        vendor = connection.vendor
    finally:
        connection.creation.destroy_test_db(test_db, verbosity=0)
    section = markdown(table_rows, vendor, args.pairs)
    print(section)
    if args.output:
        write_section(Path(args.output), section)
        print(f"Written to {args.output}")


if __name__ == "__main__":
    main()
