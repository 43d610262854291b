"""The console, filebased, dummy and locmem backends, through send_sms()."""

from __future__ import annotations

import io

import pytest

import django_sms
import django_sms.exceptions
from django_sms import send_sms, sms_backends

pytestmark = pytest.mark.django_db


def use(settings, path, **options):
    settings.SMS_BACKENDS = {"default": {"BACKEND": path, "OPTIONS": options}}


def test_console_backend_writes_the_message(settings):
    stream = io.StringIO()
    use(settings, "django_sms.backends.console.SmsBackend", stream=stream)
    message = send_sms("ça marche", to="+33612345678", sender="Bistro")
    out = stream.getvalue()
    assert "From: Bistro" in out and "To: +33612345678" in out
    assert "Encoding: UCS-2, 1 segment(s)" in out
    assert "ça marche" in out
    assert str(message.reference) in out
    assert message.status == "delivered"


def test_filebased_backend_writes_files(settings, tmp_path):
    use(settings, "django_sms.backends.filebased.SmsBackend", file_path=str(tmp_path / "sms"))
    send_sms("one", to="+33612345678")
    send_sms("two", to="+33612345679")
    files = list((tmp_path / "sms").iterdir())
    assert len(files) == 1  # one file per backend instance, like Django's email backend
    content = files[0].read_text()
    assert "one" in content and "two" in content and "+33612345679" in content


def test_filebased_backend_without_a_path_is_a_configuration_error(settings):
    use(settings, "django_sms.backends.filebased.SmsBackend")
    backend = sms_backends["default"]
    assert [e.id for e in backend.check()] == ["django_sms.E010"]
    with pytest.raises(django_sms.exceptions.ConfigurationError, match="file_path"):
        backend.open()


def test_dummy_backend_sends_nothing_but_records_the_message(settings):
    use(settings, "django_sms.backends.dummy.SmsBackend", status="accepted")
    message = send_sms("quiet", to="+33612345678")
    assert (message.provider, message.status) == ("dummy", "accepted")
    assert django_sms.outbox == []


def test_locmem_outbox_holds_copies(settings):
    message = send_sms("hello", to="+33612345678")
    sent = django_sms.outbox[0]
    sent.text = "changed"
    message.refresh_from_db()
    assert message.text == "hello"


def test_outbox_is_empty_at_the_start_of_each_test():
    assert django_sms.outbox == []


def test_backends_are_per_thread():
    import threading

    seen = []
    thread = threading.Thread(target=lambda: seen.append(sms_backends["default"]))
    thread.start()
    thread.join()
    assert seen[0] is not sms_backends["default"]
    assert sms_backends["default"] is sms_backends["default"]
