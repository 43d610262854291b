from django.db import migrations, models


class Migration(migrations.Migration):
    """Indexes behind the admin's country and alias filters (docs/benchmarks-admin.rst).

    Skipped by Django for a swapped-out message model: a project with its own model gets
    the same indexes from its own makemigrations, since they are declared on
    AbstractMessage.
    """

    dependencies = [
        ("django_sms", "0002_messages"),
    ]

    operations = [
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['country', '-created_at'], name='django_sms_message_country'),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(fields=['backend_alias', '-created_at'], name='django_sms_message_alias'),
        ),
    ]
