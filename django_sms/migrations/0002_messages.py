import uuid
from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

from django_sms.models.swappable import message_model_label, token_model_label, wallet_model_label

# Hand-edited (like django-oauth-toolkit's): swappable targets come from functions with
# defaults, so a project that swaps nothing needs none of the DJANGO_SMS_*_MODEL settings.


class Migration(migrations.Migration):
    # A project that swaps the message model creates its own model in a migration that
    # depends on 0001_initial and declares run_before = [("django_sms", "0002_messages")].
    dependencies = [
        ("django_sms", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        migrations.swappable_dependency(message_model_label()),
        migrations.swappable_dependency(wallet_model_label()),
        migrations.swappable_dependency(token_model_label()),
    ]

    operations = [
        migrations.CreateModel(
            name='Message',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('reference', models.UUIDField(default=uuid.uuid4, editable=False, help_text='Our public id, sent to providers as client_ref / tag.', unique=True, verbose_name='reference')),
                ('to', models.CharField(help_text='E.164', max_length=20, verbose_name='recipient')),
                ('country', models.CharField(blank=True, max_length=2, verbose_name='destination country')),
                ('sender', models.CharField(blank=True, max_length=20, verbose_name='sender')),
                ('text', models.TextField(verbose_name='text')),
                ('encoding', models.CharField(max_length=5, verbose_name='encoding')),
                ('segments', models.PositiveSmallIntegerField(default=1, verbose_name='segments')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('unknown', 'Unknown'), ('accepted', 'Accepted'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('undelivered', 'Undelivered'), ('expired', 'Expired'), ('rejected', 'Rejected'), ('failed', 'Failed'), ('canceled', 'Canceled')], default='queued', max_length=12, verbose_name='status')),
                ('backend_alias', models.CharField(max_length=64, verbose_name='backend alias')),
                ('provider', models.CharField(blank=True, max_length=32, verbose_name='provider')),
                ('provider_message_id', models.CharField(blank=True, max_length=100, verbose_name='provider message id')),
                ('provider_status', models.CharField(blank=True, max_length=64, verbose_name='provider status')),
                ('error_code', models.CharField(blank=True, max_length=64, verbose_name='error code')),
                ('error_message', models.TextField(blank=True, verbose_name='error message')),
                ('cost', models.DecimalField(blank=True, decimal_places=5, max_digits=12, null=True, verbose_name='provider cost')),
                ('cost_currency', models.CharField(blank=True, max_length=3, verbose_name='provider cost currency')),
                ('price', models.DecimalField(blank=True, decimal_places=4, max_digits=12, null=True, verbose_name='price charged')),
                ('price_currency', models.CharField(blank=True, max_length=3, verbose_name='price currency')),
                ('charge_status', models.CharField(blank=True, choices=[('', 'Not charged'), ('held', 'Held'), ('captured', 'Captured'), ('released', 'Released'), ('refunded', 'Refunded')], default='', max_length=10, verbose_name='charge status')),
                ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                ('next_attempt_at', models.DateTimeField(blank=True, null=True, verbose_name='next attempt at')),
                ('claimed_at', models.DateTimeField(blank=True, null=True, verbose_name='claimed at')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated at')),
                ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='accepted by provider at')),
                ('delivered_at', models.DateTimeField(blank=True, null=True, verbose_name='delivered at')),
                ('idempotency_key', models.CharField(blank=True, max_length=255, null=True, unique=True, verbose_name='idempotency key')),
                ('metadata', models.JSONField(blank=True, default=dict, verbose_name='metadata')),
                ('resent_from', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='resends', to=message_model_label(), verbose_name='resent from')),
                ('token', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=token_model_label(), verbose_name='API token')),
                ('wallet', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=wallet_model_label(), verbose_name='wallet')),
            ],
            options={
                'verbose_name': 'message',
                'verbose_name_plural': 'messages',
                'ordering': ['-created_at', '-pk'],
                'permissions': [('resend_message', 'Can resend messages')],
                'abstract': False,
                'swappable': 'DJANGO_SMS_MESSAGE_MODEL',
            },
        ),
        migrations.CreateModel(
            name='LedgerEntry',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('deposit', 'Deposit'), ('hold', 'Hold'), ('capture', 'Capture'), ('release', 'Release'), ('refund', 'Refund'), ('adjustment', 'Adjustment')], max_length=10, verbose_name='kind')),
                ('amount', models.DecimalField(decimal_places=4, max_digits=14, verbose_name='amount')),
                ('balance_after', models.DecimalField(decimal_places=4, max_digits=14, verbose_name='balance after')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('reason', models.CharField(blank=True, max_length=255, verbose_name='reason')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='ledger_entries', to=message_model_label(), verbose_name='message')),
                ('wallet', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='ledger_entries', to=wallet_model_label(), verbose_name='wallet')),
            ],
            options={
                'verbose_name': 'ledger entry',
                'verbose_name_plural': 'ledger entries',
                'ordering': ['created_at', 'pk'],
            },
        ),
        migrations.CreateModel(
            name='StatusEvent',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('status', models.CharField(choices=[('queued', 'Queued'), ('sending', 'Sending'), ('unknown', 'Unknown'), ('accepted', 'Accepted'), ('sent', 'Sent'), ('delivered', 'Delivered'), ('undelivered', 'Undelivered'), ('expired', 'Expired'), ('rejected', 'Rejected'), ('failed', 'Failed'), ('canceled', 'Canceled')], max_length=12, verbose_name='status')),
                ('applied', models.BooleanField(default=True, help_text='False if the report was stale.', verbose_name='changed the status')),
                ('source', models.CharField(choices=[('send', 'Send'), ('webhook', 'Webhook'), ('poll', 'Poll'), ('admin', 'Admin'), ('system', 'System')], max_length=8, verbose_name='source')),
                ('backend_alias', models.CharField(blank=True, max_length=64, verbose_name='backend alias')),
                ('provider', models.CharField(blank=True, max_length=32, verbose_name='provider')),
                ('provider_message_id', models.CharField(blank=True, max_length=100, verbose_name='provider message id')),
                ('message_ref', models.CharField(blank=True, max_length=64, verbose_name='message reference')),
                ('provider_status', models.CharField(blank=True, max_length=64, verbose_name='provider status')),
                ('provider_status_text', models.TextField(blank=True, verbose_name='provider status text')),
                ('error_code', models.CharField(blank=True, max_length=64, verbose_name='error code')),
                ('attempt', models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='attempt')),
                ('occurred_at', models.DateTimeField(blank=True, null=True, verbose_name='reported time')),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='received at')),
                ('dedupe_key', models.CharField(blank=True, max_length=255, null=True, unique=True, verbose_name='dedupe key')),
                ('raw', models.JSONField(blank=True, null=True, verbose_name='raw payload')),
                ('message', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='events', to=message_model_label(), verbose_name='message')),
            ],
            options={
                'verbose_name': 'status event',
                'verbose_name_plural': 'status events',
                'ordering': ['received_at', 'pk'],
            },
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['-created_at'], name='django_sms_message_created'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['status', '-created_at'], name='django_sms_message_status'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['provider_message_id'], name='django_sms_message_provid'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['to', '-created_at'], name='django_sms_message_to'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['status', 'next_attempt_at'], name='django_sms_message_due'),
        ),
        migrations.AddIndex(
            model_name='statusevent',
            index=models.Index(condition=models.Q(('message__isnull', True)), fields=['provider_message_id'], name='django_sms_event_unmatched'),
        ),
        migrations.AddIndex(
            model_name='statusevent',
            index=models.Index(condition=models.Q(('message__isnull', True)), fields=['message_ref'], name='django_sms_event_unmatched_ref'),
        ),
    ]
