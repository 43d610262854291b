"""Signals. Receivers get keyword arguments only; ``sender`` is the message model class.

``pre_send(sender, message, sms)``
    Before the backend is called, inside the worker or right after commit. Raise
    :class:`django_sms.exceptions.SendCanceled` to cancel: the message ends ``canceled``.
``post_send(sender, message, result)``
    After the backend answered and the result was stored (``result`` is a ``SendResult``).
``status_changed(sender, message, old, new, event)``
    Once per real status change, after the transaction that stored it commits, sent with
    ``send_robust`` so that a failing receiver never breaks a send or a webhook.
``inbound_received(sender, inbound)``
    An SMS from a handset was stored (``sender`` is ``InboundMessage``).

Phone verification (``sender`` is the ``Verification`` model; sent after commit with
``send_robust``, see docs/verification.rst):

``verification_started(sender, verification, request)``
    A code was sent (or, for a blocked start, pretended sent: ``verification.block_reason``).
``verification_approved(sender, verification, request)``
    The right code was checked; the verification is consumed.
``verification_failed(sender, verification, request, reason)``
    A check failed: ``reason`` is ``"invalid_code"``, ``"expired"``,
    ``"max_attempts_reached"`` or ``"not_found"`` (``verification`` is None then).
``verification_blocked(sender, verification, reason, country)``
    A start sent nothing (``reason``: ``"opted_out"``, ``"country_blocked"``...), or the
    conversion guard blocked a country (``reason="conversion_guard"``, ``verification`` None).
"""

from django.dispatch import Signal

pre_send = Signal()
post_send = Signal()
status_changed = Signal()
inbound_received = Signal()
verification_started = Signal()
verification_approved = Signal()
verification_failed = Signal()
verification_blocked = Signal()
