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
"""

from django.dispatch import Signal

pre_send = Signal()
post_send = Signal()
status_changed = Signal()
inbound_received = Signal()
