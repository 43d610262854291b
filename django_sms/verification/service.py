"""``start_verification()`` and ``check_verification()``: the flow, on top of ``send_sms()``.

A start stores a :class:`~django_sms.models.Verification` (under the limit locks, see
``limits``), cancels the previous pending code of the same number and purpose, and sends the
text through the ordinary pipeline with the code masked: the stored message reads
``****** is your ... code``, and a ``pre_send`` receiver (``redaction``) puts the real code
into the value the backend receives. A check locks the verification row, so that two checks
of one code never both succeed and every wrong guess is counted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.text import slugify

# Submodules imported by their full names: "from django_sms.verification import codes" would
# import this package's __init__, which imports this module (an import circle).
import django_sms.verification.codes as codes
import django_sms.verification.limits as limits
import django_sms.verification.redaction as redaction
from django_sms import phone
from django_sms.conf import sms_settings
from django_sms.exceptions import ConfigurationError, OptedOut, VerificationRateLimited
from django_sms.message import SMS
from django_sms.models import BlockReason, Verification, VerificationStatus
from django_sms.signals import (
    verification_approved,
    verification_blocked,
    verification_failed,
    verification_started,
)
from django_sms.status import Status
from django_sms.transactions import after_commit, atomic_for
from django_sms.verification.conf import verification_settings

logger = logging.getLogger("django_sms.verification")

METADATA_KEY = redaction.METADATA_KEY


@dataclass(frozen=True)
class CheckResult:
    """What ``check_verification()`` found. ``bool(result)`` is ``result.approved``.

    ``status`` is the verification's status after the check (``approved``, ``pending`` after
    a wrong code, ``expired``, ``max_attempts_reached``) or ``"not_found"`` when the number
    and purpose have no pending code (never started, already approved, canceled).
    """

    approved: bool
    status: str
    attempts_left: int | None = None
    verification: Verification | None = None

    def __bool__(self) -> bool:
        return self.approved


def client_ip(request: HttpRequest | None) -> str | None:
    """``REMOTE_ADDR``, or the first address of ``IP_HEADER`` when one is configured."""
    if request is None:
        return None
    header = verification_settings.IP_HEADER
    if header and request.META.get(header):
        return str(request.META[header]).split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


def _domain(request: HttpRequest | None) -> str:
    configured: str = verification_settings.DOMAIN
    if configured:
        return configured
    if request is None:
        return ""
    host = request.get_host()
    # The autofill line holds a host only: no port (WICG one-time codes, MDN WebOTP).
    return host.rsplit(":", 1)[0] if not host.endswith("]") else host


def _purpose(purpose: str) -> str:
    slug = slugify(purpose)
    if not slug or slug != purpose or len(purpose) > 50:
        raise ValueError(f"purpose must be a slug of at most 50 characters, got {purpose!r}")
    return purpose


def _code_length() -> int:
    length = int(verification_settings.CODE_LENGTH)
    if not 4 <= length <= 10:
        raise ConfigurationError(
            f"DJANGO_SMS['VERIFICATION']['CODE_LENGTH'] must be between 4 and 10, not {length}."
        )
    return length


def start_verification(
    to: Any,
    *,
    purpose: str = "default",
    request: HttpRequest | None = None,
    ip: str | None = None,
    language: str | None = None,
    app_hash: str | None = None,
    using: str | None = None,
    wallet: Any = None,
) -> Verification:
    """Send a new code to ``to`` for ``purpose`` and return the verification.

    Raises :class:`~django_sms.exceptions.InvalidRecipient` /
    :class:`~django_sms.exceptions.CountryNotAllowed` for a number codes cannot be sent to,
    and :class:`~django_sms.exceptions.VerificationRateLimited` when a limit refuses the
    start (nothing is stored then). ``wallet`` pays for the SMS like ``SMS.send(wallet=...)``
    (:class:`~django_sms.exceptions.InsufficientFunds` then propagates). An opted-out number
    or a country blocked by the conversion guard gets the same return value while nothing is
    sent (no enumeration: the reason is in ``verification.block_reason``, the log and the
    admin).
    """
    purpose = _purpose(purpose)
    recipient = phone.parse_recipient(to)
    number, country = recipient.e164, recipient.country
    ip = ip or client_ip(request)
    prefix = limits.number_prefix(number)
    length = _code_length()
    keys = limits.lock_keys(number, ip, country, prefix)
    limits.ensure_lock_rows(keys)

    code = codes.generate_code(length)
    new_block = None
    with atomic_for(Verification):
        limits.lock(keys)
        # The time is read under the locks: rows are then stored in the order the locks
        # were granted, so "the latest verification" is the one that won last.
        now = timezone.now()
        limits.enforce(number, ip, country, prefix, now)
        verification = Verification(
            phone=number,
            country=country,
            prefix=prefix,
            purpose=purpose,
            code_length=length,
            ip=ip,
            created_at=now,
            expires_at=now + timedelta(seconds=int(verification_settings.CODE_TTL)),
        )
        _carry_failures(verification, now)
        verification.code_mac = codes.code_mac(verification.id, number, purpose, code)
        if limits.country_blocked(country):
            verification.block_reason = BlockReason.COUNTRY_BLOCKED
        else:
            new_block = limits.evaluate_conversion(country, now)
            if new_block is not None:
                verification.block_reason = BlockReason.COUNTRY_BLOCKED
        if not verification.block_reason:
            # Nothing is ever sent for a blocked start: it keeps no copy of the code at all.
            verification.sealed_code = codes.seal(code, verification.id)
        verification.save(force_insert=True)

    if not verification.block_reason:
        _send(verification, code, request=request, language=language,
              app_hash=app_hash, using=using, wallet=wallet)
    if verification.block_reason:
        logger.info("Verification %s to %s blocked: %s", verification.pk, number,
                    verification.block_reason)
    _signal_start(verification, request, new_block)
    return verification


def _carry_failures(verification: Verification, now: datetime) -> None:
    """Cancel the previous pending code of this number and purpose, and carry its failures.

    Failures are not reset by a new code (NIST SP 800-63B-4): they add up over a series that
    starts with the first failure and lasts ``FAILURE_WINDOW``; a series that reached
    ``MAX_FAILED_CHECKS`` refuses new codes until it ends.
    """
    previous = (
        Verification.objects.select_for_update()
        .filter(phone=verification.phone, purpose=verification.purpose)
        .order_by("-created_at")
        .first()
    )
    if previous is None:
        return
    Verification.objects.filter(
        phone=verification.phone, purpose=verification.purpose, status=VerificationStatus.PENDING
    ).update(status=VerificationStatus.CANCELED, sealed_code="", updated_at=now)
    window = timedelta(seconds=int(verification_settings.FAILURE_WINDOW))
    if (
        previous.status != VerificationStatus.APPROVED
        and previous.failures
        and previous.failures_since is not None
        and previous.failures_since > now - window
    ):
        if previous.failures >= int(verification_settings.MAX_FAILED_CHECKS):
            wait = (previous.failures_since + window - now).total_seconds()
            raise VerificationRateLimited("failures", max(1, int(wait + 0.999)))
        verification.failures_before = previous.failures
        verification.failures_since = previous.failures_since


def _send(verification: Verification, code: str, *, request: HttpRequest | None,
          language: str | None, app_hash: str | None, using: str | None,
          wallet: Any) -> None:
    settings = verification_settings
    domain = _domain(request)
    if language is None and request is not None:
        language = getattr(request, "LANGUAGE_CODE", None)
    masked = codes.render_text(
        settings.TEMPLATE,
        code=codes.mask(len(code)),
        brand=settings.BRAND or domain,
        domain=domain,
        minutes=max(1, int(settings.CODE_TTL) // 60),
        purpose=verification.purpose,
        app_hash=settings.APP_HASH if app_hash is None else app_hash,
        language=language or translation.get_language(),
    )
    try:
        message: Any = SMS(
            masked,
            to=verification.phone,
            sender=settings.SENDER or sms_settings.DEFAULT_SENDER or None,
            metadata={METADATA_KEY: str(verification.pk)},
        )
        with redaction.handing_over(verification.pk, code):
            message = message.send(using=using or settings.BACKEND, fail_silently=True,
                                   wallet=wallet)
    except OptedOut:
        verification.block_reason = BlockReason.OPTED_OUT
        verification.sealed_code = ""
        Verification.objects.filter(pk=verification.pk).update(
            block_reason=BlockReason.OPTED_OUT, sealed_code=""
        )
        return
    except Exception:
        # Not sent (no funds in the wallet, a template too long, a misconfigured backend):
        # the code must not stay usable, nor its sealed copy stored.
        Verification.objects.filter(pk=verification.pk).update(
            status=VerificationStatus.CANCELED, sealed_code="", updated_at=timezone.now()
        )
        raise
    verification.message_id = message.pk
    changes: dict[str, Any] = {"message": message}
    if message.status not in (Status.QUEUED, Status.SENDING):
        # Delivered in this thread, and no retry pending: the code is no longer needed.
        changes["sealed_code"] = verification.sealed_code = ""
    Verification.objects.filter(pk=verification.pk).update(**changes)


def _signal_start(verification: Verification, request: HttpRequest | None,
                  new_block: Any) -> None:
    def send() -> None:
        verification_started.send_robust(
            sender=Verification, verification=verification, request=request
        )
        if verification.block_reason:
            verification_blocked.send_robust(
                sender=Verification, verification=verification,
                reason=verification.block_reason, country=verification.country,
            )
        if new_block is not None:
            logger.warning("Verifications to %s blocked by the conversion guard: %s",
                           new_block.country, new_block.reason)
            verification_blocked.send_robust(
                sender=Verification, verification=None, reason="conversion_guard",
                country=new_block.country,
            )

    after_commit(Verification, send)


def check_verification(
    to: Any, code: Any, *, purpose: str = "default", request: HttpRequest | None = None
) -> CheckResult:
    """Check ``code`` against the pending code of ``to`` and ``purpose``.

    Approving consumes the code: checking it again answers ``not_found``. Every wrong code
    counts, whatever its shape; the comparison runs (in constant time) even when there is
    nothing to compare with, so the answer time says nothing about the number.
    """
    purpose = _purpose(purpose)
    typed = "".join(str(code or "").split())
    try:
        number = phone.parse_recipient(to).e164
    except ValueError:
        codes.mac_matches("0" * 64, "-", "-", purpose, typed)
        return _finish(CheckResult(False, "not_found"), request)
    with atomic_for(Verification):
        result = _check_locked(number, purpose, typed, timezone.now())
    return _finish(result, request)


def _check_locked(number: str, purpose: str, typed: str, now: datetime) -> CheckResult:
    settings = verification_settings
    verification = (
        Verification.objects.select_for_update()
        .filter(phone=number, purpose=purpose)
        .order_by("-created_at")
        .first()
    )
    if verification is None:
        codes.mac_matches("0" * 64, "-", number, purpose, typed)
        return CheckResult(False, "not_found")
    matches = codes.mac_matches(verification.code_mac, verification.pk, number, purpose, typed)
    if verification.status != VerificationStatus.PENDING:
        status = verification.status
        shown = status if status in ("expired", "max_attempts_reached") else "not_found"
        return CheckResult(False, shown, 0, verification)
    if verification.expires_at <= now:
        verification.status = VerificationStatus.EXPIRED
        verification.sealed_code = ""
        verification.save(update_fields=["status", "sealed_code", "updated_at"])
        return CheckResult(False, "expired", 0, verification)
    if matches and not verification.block_reason:
        verification.status = VerificationStatus.APPROVED
        verification.approved_at = now
        verification.sealed_code = ""
        verification.save(update_fields=["status", "approved_at", "sealed_code", "updated_at"])
        return CheckResult(True, "approved", None, verification)
    verification.failed_checks += 1
    if verification.failures_since is None:
        verification.failures_since = now
    left = min(
        int(settings.MAX_CHECK_ATTEMPTS) - verification.failed_checks,
        int(settings.MAX_FAILED_CHECKS) - verification.failures,
    )
    if left <= 0:
        verification.status = VerificationStatus.MAX_ATTEMPTS_REACHED
        verification.sealed_code = ""
    verification.save(
        update_fields=["failed_checks", "failures_since", "status", "sealed_code", "updated_at"]
    )
    return CheckResult(False, verification.status, max(left, 0), verification)


def _finish(result: CheckResult, request: HttpRequest | None) -> CheckResult:
    def send() -> None:
        if result.approved:
            verification_approved.send_robust(
                sender=Verification, verification=result.verification, request=request
            )
        else:
            reason = "invalid_code" if result.status == "pending" else result.status
            verification_failed.send_robust(
                sender=Verification, verification=result.verification, request=request,
                reason=reason,
            )

    after_commit(Verification, send)
    return result


def cancel_verification(to: Any, *, purpose: str = "default") -> bool:
    """Cancel the pending code of ``to`` and ``purpose``; return whether there was one."""
    number = phone.parse_recipient(to).e164
    updated = Verification.objects.filter(
        phone=number, purpose=_purpose(purpose), status=VerificationStatus.PENDING
    ).update(status=VerificationStatus.CANCELED, sealed_code="", updated_at=timezone.now())
    return bool(updated)
