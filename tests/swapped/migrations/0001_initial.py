import uuid

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models

from django_sms.models.swappable import token_model_label, wallet_model_label


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("django_sms", "0001_initial"),
        migrations.swappable_dependency(wallet_model_label()),
        migrations.swappable_dependency(token_model_label()),
    ]
    # The swapped model must exist before django_sms's migrations that point at it.
    run_before = [("django_sms", "0002_messages")]

    operations = [
        migrations.CreateModel(
            name="CustomMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("reference", models.UUIDField(default=uuid.uuid4, editable=False, help_text="Our public id, sent to providers as client_ref / tag.", unique=True, verbose_name="reference")),
                ("to", models.CharField(help_text="E.164", max_length=20, verbose_name="recipient")),
                ("country", models.CharField(blank=True, max_length=2, verbose_name="destination country")),
                ("sender", models.CharField(blank=True, max_length=20, verbose_name="sender")),
                ("text", models.TextField(verbose_name="text")),
                ("encoding", models.CharField(max_length=5, verbose_name="encoding")),
                ("segments", models.PositiveSmallIntegerField(default=1, verbose_name="segments")),
                ("status", models.CharField(choices=[("queued", "Queued"), ("sending", "Sending"), ("unknown", "Unknown"), ("accepted", "Accepted"), ("sent", "Sent"), ("delivered", "Delivered"), ("undelivered", "Undelivered"), ("expired", "Expired"), ("rejected", "Rejected"), ("failed", "Failed"), ("canceled", "Canceled")], default="queued", max_length=12, verbose_name="status")),
                ("backend_alias", models.CharField(max_length=64, verbose_name="backend alias")),
                ("provider", models.CharField(blank=True, max_length=32, verbose_name="provider")),
                ("provider_message_id", models.CharField(blank=True, max_length=100, verbose_name="provider message id")),
                ("provider_status", models.CharField(blank=True, max_length=64, verbose_name="provider status")),
                ("error_code", models.CharField(blank=True, max_length=64, verbose_name="error code")),
                ("error_message", models.TextField(blank=True, verbose_name="error message")),
                ("cost", models.DecimalField(blank=True, decimal_places=5, max_digits=12, null=True, verbose_name="provider cost")),
                ("cost_currency", models.CharField(blank=True, max_length=3, verbose_name="provider cost currency")),
                ("price", models.DecimalField(blank=True, decimal_places=4, max_digits=12, null=True, verbose_name="price charged")),
                ("price_currency", models.CharField(blank=True, max_length=3, verbose_name="price currency")),
                ("charge_status", models.CharField(blank=True, choices=[("", "Not charged"), ("held", "Held"), ("captured", "Captured"), ("released", "Released"), ("refunded", "Refunded")], default="", max_length=10, verbose_name="charge status")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="attempts")),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True, verbose_name="next attempt at")),
                ("claimed_at", models.DateTimeField(blank=True, null=True, verbose_name="claimed at")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="updated at")),
                ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="accepted by provider at")),
                ("delivered_at", models.DateTimeField(blank=True, null=True, verbose_name="delivered at")),
                ("idempotency_key", models.CharField(blank=True, max_length=255, null=True, unique=True, verbose_name="idempotency key")),
                ("metadata", models.JSONField(blank=True, default=dict, verbose_name="metadata")),
                ("campaign", models.CharField(blank=True, max_length=50)),
                ("resent_from", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="resends", to="swapped.custommessage", verbose_name="resent from")),
                ("token", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=token_model_label(), verbose_name="API token")),
                ("wallet", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to=wallet_model_label(), verbose_name="wallet")),
            ],
            options={
                "verbose_name": "message",
                "verbose_name_plural": "messages",
                "ordering": ["-created_at", "-pk"],
                "permissions": [("resend_message", "Can resend messages")],
                "abstract": False,
                "indexes": [
                    models.Index(fields=["-created_at"], name="swapped_custommessage_created"),
                    models.Index(fields=["status", "-created_at"], name="swapped_custommessage_status"),
                    models.Index(fields=["provider_message_id"], name="swapped_custommessage_provid"),
                    models.Index(fields=["to", "-created_at"], name="swapped_custommessage_to"),
                    models.Index(fields=["status", "next_attempt_at"], name="swapped_custommessage_due"),
                ],
            },
        ),
    ]
