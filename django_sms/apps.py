from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DjangoSmsConfig(AppConfig):
    name = "django_sms"
    label = "django_sms"
    verbose_name = _("SMS")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Registered on import: system checks, the settings reload receiver, the wallet
        # receiver that settles and refunds charges on status changes, and the pipeline
        # that SMS.send() runs (django_sms.sending connects it).
        from django_sms import checks, conf, sending, wallets  # noqa: F401
        from django_sms.api.schema import HAS_SPECTACULAR
        from django_sms.verification import checks as verification_checks  # noqa: F401
        from django_sms.verification import redaction

        # Phone verification: the code goes into the provider request only, never the
        # stored text, the logs or the stored provider answers.
        redaction.connect()

        if HAS_SPECTACULAR:
            # Defines (so registers) the drf-spectacular extension of the API's
            # authentication; without it the schema generator cannot describe it.
            from django_sms.api import openapi  # noqa: F401
