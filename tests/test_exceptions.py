"""Exceptions that Django understands, classified by their class."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_sms.backends.base import BaseSmsBackend
from django_sms.backends.handler import InvalidSmsBackend, sms_backends
from django_sms.exceptions import (
    AmbiguousProviderError,
    ConfigurationError,
    MalformedResponse,
    PermanentProviderError,
    ProviderError,
    TransientProviderError,
)


def test_a_configuration_error_is_django_improperly_configured():
    assert issubclass(ConfigurationError, ImproperlyConfigured)
    with pytest.raises(ImproperlyConfigured, match="'nowhere'"):
        sms_backends["nowhere"]
    assert issubclass(InvalidSmsBackend, ImproperlyConfigured)


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (TransientProviderError("down"), "queued"),
        (MalformedResponse("garbled"), "queued"),  # a TransientProviderError
        (AmbiguousProviderError("timed out"), "unknown"),
        (PermanentProviderError("refused"), "failed"),
        (ProviderError("unclassified"), "failed"),
        (PermanentProviderError("invalid number", status="rejected"), "rejected"),
    ],
)
def test_the_status_of_a_failed_send_follows_the_class_of_its_error(error, status):
    assert BaseSmsBackend.status_for_error(error) == status


def test_errors_carry_no_kind_string_to_compare():
    # Code tests isinstance(); a parallel string could disagree with the class.
    assert not hasattr(TransientProviderError("x"), "kind")


def test_backends_keep_no_unused_fail_silently():
    # It was stored and never read: failures are results (SendResult.error), not raised.
    assert not hasattr(BaseSmsBackend("default"), "fail_silently")
    assert not hasattr(sms_backends, "create_unshared")
