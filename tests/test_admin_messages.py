"""The message admin through Django's test client: list, filters, search, detail, resend,
refresh, permissions and query counts."""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from typing import Any

import django
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import django_sms
from django_sms import send_sms
from django_sms.backends.base import StatusUpdate
from django_sms.exceptions import TransientProviderError
from django_sms.models import LedgerEntry, OptOut, StatusEvent, Wallet, get_message_model
from tests.polling_backend import SmsBackend as PollingBackend

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        getattr(settings, "DJANGO_SMS_MESSAGE_MODEL", "django_sms.Message") != "django_sms.Message",
        reason="the admin of the default message model (see test_admin_swapped.py)",
    ),
]

CHANGELIST = "/admin/django_sms/message/"


def change_url(message: Any) -> str:
    return f"{CHANGELIST}{message.pk}/change/"


def make_message(**fields: Any) -> Any:
    """A stored message as the pipeline would leave it, without sending anything."""
    values = {
        "to": "+33612345678",
        "country": "FR",
        "sender": "TestShop",
        "text": "hello",
        "encoding": "GSM-7",
        "segments": 1,
        "status": "delivered",
        "backend_alias": "default",
        "provider": "locmem",
    }
    values.update(fields)
    return get_message_model().objects.create(**values)


def page_text(response: Any) -> str:
    """The visible text of the page's content area, whitespace collapsed."""
    html = response.content.decode()
    html = html[html.find("<main") :]  # the messages and the content
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", text).replace("&#x27;", "'").replace("&quot;", '"')


def result_recipients(response: Any) -> list[str]:
    return [str(m.to) for m in response.context["cl"].result_list]


@pytest.fixture
def viewer(django_user_model: Any, client: Any) -> Any:
    """A staff user who may view messages, and nothing else."""
    user = django_user_model.objects.create_user("viewer", password="pw", is_staff=True)
    user.user_permissions.add(
        Permission.objects.get(
            codename="view_message",
            content_type=ContentType.objects.get_for_model(get_message_model()),
        )
    )
    client.force_login(user)
    client.user = user
    return client


def grant(client: Any, codename: str) -> None:
    client.user.user_permissions.add(
        Permission.objects.get(
            codename=codename,
            content_type=ContentType.objects.get_for_model(get_message_model()),
        )
    )


# -- the list ---------------------------------------------------------------------------------


def test_changelist_shows_the_columns_an_operator_asks_about(admin_client):
    make_message(
        to="+33612345678",
        status="failed",
        segments=2,
        encoding="UCS-2",
        price=Decimal("0.1400"),
        price_currency="EUR",
    )
    response = admin_client.get(CHANGELIST)

    assert response.status_code == 200
    text = page_text(response)
    for column in (
        "Created at",
        "Recipient",
        "Sender",
        "Status",
        "Segments",
        "Price",
        "Provider",
        "Backend alias",
    ):
        assert column in text
    assert "+33612345678" in text
    assert "2 \N{MULTIPLICATION SIGN} UCS-2" in text
    assert "0.1400 EUR" in text
    html = response.content.decode()
    assert '<span class="sms-badge sms-badge-error" data-status="failed">Failed</span>' in html


def test_changelist_queries_do_not_grow_with_the_rows(admin_client, django_assert_num_queries):
    for i in range(5):
        make_message(to=f"+3361234560{i}")
    with CaptureQueriesContext(connection) as five:
        assert admin_client.get(CHANGELIST).status_code == 200
    for i in range(45):
        make_message(
            to=f"+336123457{i:02d}", status="failed", price=Decimal("0.07"), price_currency="EUR"
        )

    with django_assert_num_queries(len(five.captured_queries)):
        response = admin_client.get(CHANGELIST)
    assert response.context["cl"].result_count == 50

    # The same holds for a filtered and searched list.
    with CaptureQueriesContext(connection) as filtered:
        admin_client.get(CHANGELIST, {"status": "failed", "q": "+33612345"})
    make_message(to="+33612345699", status="failed")
    with django_assert_num_queries(len(filtered.captured_queries)):
        admin_client.get(CHANGELIST, {"status": "failed", "q": "+33612345"})


def test_changelist_never_counts_the_whole_table_twice(admin_client):
    make_message()
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(CHANGELIST, {"status": "delivered"})
    counts = [
        q["sql"]
        for q in queries.captured_queries
        if "COUNT(" in q["sql"].upper() and "GROUP BY" not in q["sql"].upper()  # not the summary
    ]
    assert len(counts) == 1  # the filtered count only; show_full_result_count is off
    assert "WHERE" in counts[0]
    distinct = [q["sql"] for q in queries.captured_queries if "DISTINCT" in q["sql"].upper()]
    assert distinct == []  # no SELECT DISTINCT for filters or the date hierarchy


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "failed"}, ["+33600000002"]),
        ({"provider": "polling"}, ["+447400123456"]),
        ({"backend_alias": "polling"}, ["+447400123456"]),
        ({"country": "GB"}, ["+447400123456"]),
        ({"encoding": "UCS-2"}, ["+33600000003"]),
    ],
)
def test_filters(admin_client, settings, params, expected):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "polling": {"BACKEND": "tests.polling_backend.SmsBackend"},
    }
    make_message(to="+33600000001")
    make_message(to="+33600000002", status="failed")
    make_message(to="+33600000003", encoding="UCS-2")
    make_message(to="+447400123456", country="GB", backend_alias="polling", provider="polling")

    response = admin_client.get(CHANGELIST, params)

    assert response.status_code == 200
    assert result_recipients(response) == expected


def test_filter_choices_come_from_settings_and_the_country_index(admin_client, settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "fr": {"BACKEND": "tests.polling_backend.SmsBackend"},
    }
    make_message(country="FR")
    make_message(to="+447400123456", country="GB")
    response = admin_client.get(CHANGELIST)
    specs = {str(spec.title): spec for spec in response.context["cl"].filter_specs}
    assert specs["provider"].lookup_choices == [("locmem", "locmem"), ("polling", "polling")]
    assert specs["backend alias"].lookup_choices == [
        ("default", "default (locmem)"),
        ("fr", "fr (polling)"),
    ]
    assert [c for c, _ in specs["destination country"].lookup_choices] == ["FR", "GB"]
    assert [c for c, _ in specs["encoding"].lookup_choices] == ["GSM-7", "UCS-2"]


def test_an_alias_no_longer_configured_can_still_be_filtered(admin_client):
    make_message(backend_alias="old", provider="ovh")
    response = admin_client.get(CHANGELIST, {"backend_alias": "old"})
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == 1


def test_date_filter_and_hierarchy(admin_client):
    old = make_message(to="+33600000001")
    old.created_at = datetime.datetime(2024, 3, 5, 12, tzinfo=datetime.UTC)
    old.save()
    make_message(to="+33600000002")
    this_year = timezone.now().year

    response = admin_client.get(CHANGELIST)
    text = page_text(response)
    # Every year between the first and the last message is offered.
    years = [str(y) for y in range(2024, this_year + 1)]
    # (Django 6.0+ also labels the list "Filter by created at"; 5.2 has no label.)
    assert " ".join(years) in text

    response = admin_client.get(CHANGELIST, {"created_at__year": "2024"})
    assert result_recipients(response) == ["+33600000001"]
    assert "March 2024" in page_text(response)

    response = admin_client.get(CHANGELIST, {"created_at__year": "2024", "created_at__month": "3"})
    assert "March 5" in page_text(response)

    # The "Today" choice of the date filter.
    midnight = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    response = admin_client.get(
        CHANGELIST,
        {
            "created_at__gte": str(midnight),
            "created_at__lt": str(midnight + datetime.timedelta(days=1)),
        },
    )
    assert result_recipients(response) == ["+33600000002"]


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("+33612345678", ["+33612345678"]),  # complete number: exact match
        ("06 12 34 56 78", ["+33612345678"]),  # national format, PHONENUMBER_DEFAULT_REGION
        ("0033612345678", ["+33612345678"]),
        ("+4474", ["+447400123456"]),  # prefix
        ("0612", ["+33612345678"]),  # national prefix becomes +33
        ("+3369", ["+33699999999"]),  # a prefix ending in 9
        ("12345678", []),  # the middle of a number is not a prefix
        ("ovh-42", ["+33699999999"]),  # provider message id
    ],
)
def test_search(admin_client, term, expected):
    make_message(to="+33612345678", provider_message_id="locmem-1")
    make_message(to="+447400123456", country="GB", provider_message_id="locmem-2")
    make_message(to="+33699999999", provider_message_id="ovh-42")

    response = admin_client.get(CHANGELIST, {"q": term})

    assert result_recipients(response) == expected


def test_search_by_reference(admin_client):
    message = make_message()
    make_message(to="+447400123456")
    response = admin_client.get(CHANGELIST, {"q": str(message.reference)})
    assert result_recipients(response) == ["+33612345678"]


def test_only_the_creation_date_is_sortable(admin_client):
    make_message()
    response = admin_client.get(CHANGELIST, {"o": "2"})  # a crafted link: the recipient column
    assert response.context["cl"].queryset.query.order_by == ("-pk",)  # ignored: newest first
    response = admin_client.get(CHANGELIST, {"o": "1"})  # the creation date, ascending
    assert response.context["cl"].queryset.query.order_by == ("created_at", "-pk")


# -- the summary ------------------------------------------------------------------------------


def test_summary_counts_statuses_and_delivery_rate(admin_client):
    now = timezone.now()
    for status in ["delivered", "delivered", "delivered", "failed", "sent"]:
        make_message(status=status)
    older = make_message(status="undelivered")
    older.created_at = now - datetime.timedelta(days=3)
    older.save()
    ancient = make_message(status="failed")
    ancient.created_at = now - datetime.timedelta(days=30)
    ancient.save()

    response = admin_client.get(CHANGELIST)
    summary = response.context["sms_summary"]
    day, week = summary.periods
    assert (day.total, day.delivered, day.failed) == (5, 3, 1)
    assert day.delivery_rate == 75.0
    assert (week.total, week.delivered, week.failed) == (6, 3, 2)
    assert week.delivery_rate == 60.0
    assert [(d.sent, d.delivered, d.failed) for d in summary.days[-1:]] == [(5, 3, 1)]
    assert sum(d.sent for d in summary.days) == 6  # the 30-day-old one is not charted
    text = page_text(response)
    assert "75.0 % delivered" in text
    assert "60.0 % delivered" in text


def test_summary_without_outcomes(admin_client):
    make_message(status="queued")
    text = page_text(admin_client.get(CHANGELIST))
    assert "No final outcome yet" in text


# -- the detail page --------------------------------------------------------------------------


def test_detail_page_shows_segments_timeline_cost_and_links(admin_client, django_user_model):
    message = send_sms("Ça coûte 5 € " * 6, to="+33612345678")
    message.cost, message.cost_currency = Decimal("0.04500"), "EUR"
    message.save()
    StatusEvent.objects.create(
        message=message,
        status="sent",
        applied=False,
        source="webhook",
        provider_status="SENT",
        provider_status_text="late report",
        occurred_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    owner = django_user_model.objects.create_user("tenant")
    wallet = Wallet.objects.create(
        owner_type=ContentType.objects.get_for_model(owner), owner_id=str(owner.pk), currency="EUR"
    )
    LedgerEntry.objects.create(
        wallet=wallet,
        kind="hold",
        amount=Decimal("-0.14"),
        balance_after=Decimal("9.86"),
        message=message,
    )
    resend = make_message(resent_from=message)

    response = admin_client.get(change_url(message))

    assert response.status_code == 200
    text = page_text(response)
    assert "UCS-2: 78 units in 2 segments." in text
    assert "Characters outside GSM-7 that made it UCS-2: û" in text  # Ç and € are GSM-7
    assert [n for n, _part in response.context["sms_parts"]] == [1, 2]
    assert "Status timeline" in text
    statuses = [e.status for e, _badge, _delay in response.context["sms_events"]]
    assert statuses == ["queued", "sending", "delivered", "sent"]
    assert "late report" in text and "(did not change the status)" in text
    assert "Webhook" in text
    assert "0.04500 EUR" in text  # provider cost
    assert "Hold -0.1400 9.8600" in text
    assert f'href="{change_url(resend)}"' in response.content.decode()

    response = admin_client.get(change_url(resend))
    assert f'href="{change_url(message)}"' in response.content.decode()
    assert f"Message #{message.pk}" in page_text(response)


def test_messages_cannot_be_added_edited_or_deleted(admin_client):
    message = make_message()
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    response = admin_client.post(change_url(message), {"to": "+33700000000", "text": "changed"})
    assert response.status_code == 403
    assert (
        admin_client.post(f"{CHANGELIST}{message.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    message.refresh_from_db()
    assert (message.to, message.text) == ("+33612345678", "hello")
    assert action_names(admin_client) == ["", "resend", "refresh_status"]


# -- resend -----------------------------------------------------------------------------------


def resend_post(client: Any, messages: list[Any], **extra: Any) -> Any:
    data = {"action": "resend", "_selected_action": [m.pk for m in messages], "index": 0}
    data.update(extra)
    return client.post(CHANGELIST, data)


def confirm(client: Any, confirmation: Any, url: str = CHANGELIST) -> Any:
    """Submit the confirmation form exactly as the page renders it."""
    html = confirmation.content.decode()
    start = html.index('<form method="post">')
    form = html[start : html.index("</form>", start)]
    data: dict[str, list[str]] = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        data.setdefault(name, []).append(value)
    return client.post(url, data, follow=True)


def test_resend_confirmation_lists_messages_and_costs(admin_client, django_user_model):
    owner = django_user_model.objects.create_user("tenant")
    wallet = Wallet.objects.create(
        owner_type=ContentType.objects.get_for_model(owner), owner_id=str(owner.pk), currency="EUR"
    )
    free = make_message(to="+33600000001", text="Your code is 1234")
    paid = make_message(
        to="+33600000002", wallet=wallet, price=Decimal("0.0700"), price_currency="EUR"
    )
    unknown = make_message(to="+33600000003", wallet=wallet)
    OptOut.objects.create(phone_number="+33600000004", source="admin")
    blocked = make_message(
        to="+33600000004", wallet=wallet, price=Decimal("0.07"), price_currency="EUR"
    )

    response = resend_post(admin_client, [free, paid, unknown, blocked])

    assert response.status_code == 200
    assert response.templates[0].name == "admin/django_sms/resend_confirmation.html"
    text = page_text(response)
    assert "These 4 messages will be sent again" in text
    assert "Your code is 1234" in text
    rows = {row["message"].pk: row for row in response.context["rows"]}
    assert str(rows[free.pk]["price"]) == "free"
    assert rows[paid.pk]["price"] == "0.0700 EUR"
    assert str(rows[unknown.pk]["price"]) == "unknown"
    assert rows[blocked.pk]["opted_out"] is True
    assert "opted out: will not be sent" in text
    assert "Total charged to wallets: 0.0700 EUR" in text  # the opted-out one is not counted
    assert "Some prices are unknown" in text
    assert get_message_model().objects.count() == 4  # nothing sent yet
    assert django_sms.outbox == []


def test_resend_end_to_end_with_locmem(admin_client):
    original = send_sms("Your code is 1234", to="+33612345678", metadata={"order": 7})
    django_sms.outbox.clear()

    confirmation = resend_post(admin_client, [original])
    response = confirm(admin_client, confirmation)

    assert response.status_code == 200
    new = get_message_model().objects.get(resent_from=original)
    assert new.pk != original.pk
    assert (new.to, new.text, new.sender, new.metadata) == (
        "+33612345678",
        "Your code is 1234",
        "TestShop",
        {"order": 7},
    )
    assert new.status == "delivered"
    assert new.backend_alias == original.backend_alias
    assert [s.reference for s in django_sms.outbox] == [str(new.reference)]
    assert [e.status for e in new.events.all()] == ["queued", "sending", "delivered"]
    text = page_text(response)
    assert (
        f"Message #{original.pk} to +33612345678 resent as message #{new.pk} (Delivered)." in text
    )
    assert f'href="{change_url(new)}"' in response.content.decode()
    original.refresh_from_db()
    assert original.status == "delivered"  # history is never mutated
    assert original.idempotency_key is None

    # The confirmation page posted twice (double click, reload) sends nothing twice.
    confirm(admin_client, confirmation)
    assert get_message_model().objects.filter(resent_from=original).count() == 1
    assert len(django_sms.outbox) == 1


def test_resend_shows_each_error(admin_client):
    ok = make_message(to="+33600000001")
    opted_out = make_message(to="+33600000002")
    OptOut.objects.create(phone_number="+33600000002", source="keyword", reason="STOP")
    gone_alias = make_message(to="+33600000003", backend_alias="retired")

    response = confirm(admin_client, resend_post(admin_client, [ok, opted_out, gone_alias]))

    text = page_text(response)
    assert (
        f"Message #{opted_out.pk} to +33600000002 was not resent: +33600000002 has opted out"
        in text
    )
    assert f"Message #{gone_alias.pk} to +33600000003 was not resent:" in text
    assert "retired" in text
    resent = get_message_model().objects.filter(resent_from__isnull=False)
    assert [m.resent_from_id for m in resent] == [ok.pk]


def test_resend_of_a_message_the_provider_refuses_reports_the_failure(admin_client, settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "refusing": {
            "BACKEND": "django_sms.backends.locmem.SmsBackend",
            "OPTIONS": {"status": "rejected"},
        },
    }
    original = make_message(backend_alias="refusing")
    response = confirm(admin_client, resend_post(admin_client, [original]))
    new = get_message_model().objects.get(resent_from=original)
    assert new.status == "rejected"
    assert f"resent as message #{new.pk} (Rejected)" in page_text(response)


def test_resend_is_refused_above_the_limit(admin_client):
    from django_sms.admin.messages import ACTION_LIMIT

    rows = [make_message(to=f"+336000{i:05d}") for i in range(ACTION_LIMIT + 1)]
    response = resend_post(admin_client, rows)
    assert response.status_code == 302
    response = admin_client.get(response.url)
    assert f"At most {ACTION_LIMIT} messages can be resent at once" in page_text(response)


def action_names(client: Any, url: str = CHANGELIST) -> list[str]:
    form = client.get(url).context["action_form"]
    return [] if form is None else [name for name, _label in form.fields["action"].choices]


def test_staff_without_resend_permission_is_not_offered_resend(viewer):
    message = make_message()
    assert "resend" not in action_names(viewer)

    forged = {
        "action": "resend",
        "_selected_action": [message.pk],
        "index": 0,
        "post": "yes",
        "resend_key": "forged",
    }
    # A forged POST is refused: with no action allowed, the list is just shown again...
    assert viewer.post(CHANGELIST, forged).status_code == 200
    # ... and with another action allowed, Django finds no "resend" among them.
    grant(viewer, "change_message")
    assert "No action selected." in page_text(viewer.post(CHANGELIST, forged, follow=True))
    assert get_message_model().objects.count() == 1
    assert django_sms.outbox == []


def test_staff_with_resend_permission_can_resend(viewer):
    grant(viewer, "resend_message")
    message = make_message()
    response = confirm(viewer, resend_post(viewer, [message]))
    assert response.status_code == 200
    assert get_message_model().objects.filter(resent_from=message).count() == 1


@pytest.mark.skipif(django.VERSION < (6, 1), reason="change-form actions are new in Django 6.1")
def test_resend_from_the_change_form(admin_client, django_capture_on_commit_callbacks):
    message = send_sms("hello", to="+33612345678")
    django_sms.outbox.clear()
    url = change_url(message)
    page = admin_client.get(url)
    assert 'name="CHANGE_FORM-action"' in page.content.decode()

    confirmation = admin_client.post(
        url, {"CHANGE_FORM-action": "resend", "_selected_action": [message.pk]}
    )
    assert confirmation.status_code == 200
    assert "This message will be sent again" in page_text(confirmation)
    with django_capture_on_commit_callbacks(execute=True):
        response = confirm(admin_client, confirmation, url)

    assert response.redirect_chain[-1][0] == url
    new = get_message_model().objects.get(resent_from=message)
    # The change form posts inside a transaction: the message goes out once it commits.
    assert new.status == "delivered"
    assert len(django_sms.outbox) == 1


@pytest.mark.skipif(django.VERSION < (6, 1), reason="change-form actions are new in Django 6.1")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("alias_status", "shown", "level"),
    [
        ("rejected", "Rejected", "warning"),
        ("failed", "Failed", "warning"),
        ("delivered", "Delivered", "success"),
    ],
)
def test_resend_from_the_change_form_reports_the_outcome(
    admin_client, settings, alias_status, shown, level
):
    """The change form runs the action in a transaction and the resend goes out when it
    commits: the notice reports the status it ended in, as the list does."""
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "other": {
            "BACKEND": "django_sms.backends.locmem.SmsBackend",
            "OPTIONS": {"status": alias_status},
        },
    }
    original = make_message(backend_alias="other", status="failed")
    url = change_url(original)
    confirmation = admin_client.post(
        url, {"CHANGE_FORM-action": "resend", "_selected_action": [original.pk]}
    )
    response = confirm(admin_client, confirmation, url)

    new = get_message_model().objects.get(resent_from=original)
    assert new.status == alias_status
    notices = [(m.level_tag, str(m.message)) for m in response.context["messages"]]
    text = f"Message #{original.pk} to +33612345678 resent as message #{new.pk} ({shown})."
    assert [(lvl, msg) for lvl, msg in notices if "resent as" in msg] == [
        (level, f'<a href="{change_url(new)}">{text}</a>')
    ]


@pytest.mark.skipif(django.VERSION < (6, 1), reason="change-form actions are new in Django 6.1")
def test_change_form_offers_no_resend_without_permission(viewer):
    message = make_message()
    assert 'name="CHANGE_FORM-action"' not in viewer.get(change_url(message)).content.decode()


# -- the timeline ---------------------------------------------------------------------------


def test_timeline_shows_seconds_and_the_delay_from_the_previous_event(admin_client):
    message = make_message(status="delivered")
    start = datetime.datetime(2026, 3, 5, 14, 7, 2, tzinfo=datetime.UTC)
    for status, occurred, received in [
        ("queued", None, start),
        ("sent", None, start + datetime.timedelta(milliseconds=300)),
        ("delivered", start + datetime.timedelta(seconds=4), start + datetime.timedelta(seconds=9)),
        (
            "delivered",
            start + datetime.timedelta(minutes=3, seconds=9),
            start + datetime.timedelta(minutes=4),
        ),
    ]:
        StatusEvent.objects.create(
            message=message, status=status, occurred_at=occurred, received_at=received
        )
    response = admin_client.get(change_url(message))
    delays = [delay for _event, _badge, delay in response.context["sms_events"]]
    # queued -> sent by arrival; sent has no reported time; two reported times compared.
    assert delays == ["-", "+300 ms", "+8.7 s", "+3 min 05 s"]
    text = page_text(response)
    assert "03/05/2026 14:07:02" in text
    assert "03/05/2026 14:07:11" in text  # received at, to the second
    assert "03/05/2026 14:10:11" in text  # reported time


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "+0 s"),
        (0.0004, "+1 ms"),
        (0.35, "+350 ms"),
        (1, "+1 s"),
        (2.5, "+2.5 s"),
        (42.9, "+42 s"),
        (65, "+1 min 05 s"),
        (3600 * 2 + 180, "+2 h 03 min"),
        (86400 * 3 + 3600 * 4 + 5, "+3 d 4 h"),
        (-12, "-12 s"),
    ],
)
def test_format_delay(seconds, shown):
    from django_sms.admin.messages import format_delay

    assert format_delay(datetime.timedelta(seconds=seconds)) == shown


# -- refresh status -------------------------------------------------------------------------


@pytest.fixture
def polling(settings):
    settings.SMS_BACKENDS = {
        "default": {"BACKEND": "django_sms.backends.locmem.SmsBackend"},
        "polling": {"BACKEND": "tests.polling_backend.SmsBackend"},
    }
    PollingBackend.reports.clear()
    yield PollingBackend.reports
    PollingBackend.reports.clear()


def test_refresh_status_applies_what_the_provider_reports(
    admin_client, polling, status_signals, django_capture_on_commit_callbacks
):
    message = send_sms("hello", to="+33612345678", using="polling")
    assert message.status == "sent"
    unchanged = send_sms("hi", to="+33612345679", using="polling")
    final = make_message(to="+33600000001")
    not_pollable = make_message(to="+33600000002", status="sent")
    polling[message.provider_message_id] = StatusUpdate(
        status="delivered",
        provider_status="DELIVRD",
        provider_status_text="Delivered to handset",
        cost=Decimal("0.035"),
        cost_currency="EUR",
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            CHANGELIST,
            {
                "action": "refresh_status",
                "index": 0,
                "_selected_action": [message.pk, unchanged.pk, final.pk, not_pollable.pk],
            },
            follow=True,
        )

    message.refresh_from_db()
    assert message.status == "delivered"
    assert message.provider_status == "DELIVRD"
    assert message.cost == Decimal("0.035")
    event = message.events.last()
    assert (event.status, event.source, event.provider_status_text) == (
        "delivered",
        "admin",
        "Delivered to handset",
    )
    assert ("sent", "delivered") in status_signals.transitions
    text = page_text(response)
    assert "1 message changed status." in text
    assert "1 message has no new status." in text
    assert "1 message already has a final status." in text
    assert "1 message was sent through a backend that cannot be polled." in text


def test_refresh_status_reports_provider_errors(admin_client, polling):
    message = send_sms("hello", to="+33612345678", using="polling")
    polling[message.provider_message_id] = TransientProviderError("HTTP 503 from the provider")
    response = admin_client.post(
        CHANGELIST,
        {"action": "refresh_status", "index": 0, "_selected_action": [message.pk]},
        follow=True,
    )
    assert f"Message #{message.pk}: the provider did not answer: HTTP 503" in page_text(response)
    message.refresh_from_db()
    assert message.status == "sent"


def test_refresh_status_needs_the_change_permission(viewer):
    assert "refresh_status" not in action_names(viewer)
    grant(viewer, "change_message")
    assert "refresh_status" in action_names(viewer)
    # The change permission does not make messages editable.
    message = make_message()
    assert viewer.post(change_url(message), {"text": "changed"}).status_code == 403


# -- translations -----------------------------------------------------------------------------


def test_the_admin_speaks_french(admin_client):
    from django.utils import translation

    message = make_message(status="delivered")
    with translation.override("fr"):
        text = page_text(admin_client.get(CHANGELIST))
        assert "Distribution en un coup d\N{RIGHT SINGLE QUOTATION MARK}\u0153il" in text
        assert "100,0 % remis" in text
        assert "Remis" in text  # the status badge
        assert "Renvoyer les messages sélectionnés" in text
        assert "pays de destination" in text  # a model field's verbose name
        detail = page_text(admin_client.get(change_url(message)))
        assert "Chronologie des statuts" in detail
        assert "Destinataire" in detail
