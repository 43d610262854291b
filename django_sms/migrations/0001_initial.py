from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


# Wallets, tokens, inbound messages and opt-outs: nothing here depends on the (swappable)
# message model, so a swapped message model can point at Wallet and APIToken.


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='APIToken',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('owner_id', models.CharField(max_length=64, verbose_name='owner id')),
                ('name', models.CharField(blank=True, max_length=100, verbose_name='name')),
                ('prefix', models.CharField(editable=False, help_text='The visible start of the token, used to find it.', max_length=32, unique=True, verbose_name='prefix')),
                ('digest', models.CharField(editable=False, max_length=128, verbose_name='digest')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('expires_at', models.DateTimeField(blank=True, null=True, verbose_name='expires at')),
                ('revoked_at', models.DateTimeField(blank=True, null=True, verbose_name='revoked at')),
                ('last_used_at', models.DateTimeField(blank=True, null=True, verbose_name='last used at')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
                ('owner_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contenttypes.contenttype', verbose_name='owner type')),
            ],
            options={
                'verbose_name': 'API token',
                'verbose_name_plural': 'API tokens',
                'abstract': False,
                'swappable': 'DJANGO_SMS_TOKEN_MODEL',
            },
        ),
        migrations.CreateModel(
            name='Wallet',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('owner_id', models.CharField(max_length=64, verbose_name='owner id')),
                ('currency', models.CharField(choices=[('EUR', 'EUR'), ('USD', 'USD'), ('GBP', 'GBP')], max_length=3, verbose_name='currency')),
                ('balance', models.DecimalField(decimal_places=4, default=Decimal('0'), editable=False, max_digits=14, verbose_name='balance')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('first_deposit_at', models.DateTimeField(blank=True, null=True, verbose_name='first deposit at')),
                ('activates_at', models.DateTimeField(blank=True, null=True, verbose_name='activates at')),
                ('verified_at', models.DateTimeField(blank=True, null=True, verbose_name='verified at')),
                ('owner_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contenttypes.contenttype', verbose_name='owner type')),
            ],
            options={
                'verbose_name': 'wallet',
                'verbose_name_plural': 'wallets',
                'abstract': False,
                'swappable': 'DJANGO_SMS_WALLET_MODEL',
            },
        ),
        migrations.CreateModel(
            name='InboundMessage',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('backend_alias', models.CharField(max_length=64, verbose_name='backend alias')),
                ('provider', models.CharField(max_length=32, verbose_name='provider')),
                ('provider_message_id', models.CharField(max_length=100, verbose_name='provider message id')),
                ('from_number', models.CharField(max_length=20, verbose_name='from')),
                ('to_number', models.CharField(blank=True, max_length=20, verbose_name='to')),
                ('text', models.TextField(blank=True, verbose_name='text')),
                ('keyword', models.CharField(blank=True, max_length=32, verbose_name='keyword')),
                ('occurred_at', models.DateTimeField(blank=True, null=True, verbose_name='sent at')),
                ('received_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='received at')),
                ('raw', models.JSONField(blank=True, null=True, verbose_name='raw payload')),
            ],
            options={
                'verbose_name': 'inbound message',
                'verbose_name_plural': 'inbound messages',
                'ordering': ['-received_at', '-pk'],
                'indexes': [models.Index(fields=['from_number'], name='django_sms_inbound_from')],
                'constraints': [models.UniqueConstraint(fields=('provider', 'provider_message_id'), name='django_sms_inbound_once')],
            },
        ),
        migrations.CreateModel(
            name='OptOut',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('phone_number', models.CharField(max_length=20, verbose_name='phone number')),
                ('sender', models.CharField(blank=True, help_text='Empty: opted out of every sender.', max_length=20, verbose_name='sender')),
                ('source', models.CharField(choices=[('keyword', 'Keyword reply'), ('provider', 'Provider report'), ('admin', 'Operator'), ('api', 'API')], max_length=8, verbose_name='source')),
                ('reason', models.CharField(blank=True, max_length=255, verbose_name='reason')),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by')),
            ],
            options={
                'verbose_name': 'opt-out',
                'verbose_name_plural': 'opt-outs',
                'ordering': ['-created_at'],
            },
        ),
        migrations.AddIndex(
            model_name='apitoken',
            index=models.Index(fields=['owner_type', 'owner_id'], name='django_sms_apitoken_owner'),
        ),
        migrations.AddConstraint(
            model_name='wallet',
            constraint=models.UniqueConstraint(fields=('owner_type', 'owner_id', 'currency'), name='django_sms_wallet_one_per_owner_currency'),
        ),
        migrations.AddConstraint(
            model_name='wallet',
            constraint=models.CheckConstraint(condition=models.Q(('balance__gte', 0)), name='django_sms_wallet_not_overdrawn'),
        ),
        migrations.AddConstraint(
            model_name='optout',
            constraint=models.UniqueConstraint(fields=('phone_number', 'sender'), name='django_sms_optout_once'),
        ),
    ]
