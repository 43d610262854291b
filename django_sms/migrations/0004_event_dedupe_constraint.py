from django.db import migrations, models


class Migration(migrations.Migration):
    """The events' dedupe key becomes unique through a constraint instead of unique=True:
    the same uniqueness, without the second (LIKE) index PostgreSQL gets for a unique
    CharField, which every recorded report had to update."""

    dependencies = [
        ("django_sms", "0003_admin_indexes"),
    ]

    operations = [
        migrations.AlterField(
            model_name="statusevent",
            name="dedupe_key",
            field=models.CharField(
                blank=True, max_length=255, null=True, verbose_name="dedupe key"
            ),
        ),
        migrations.AddConstraint(
            model_name="statusevent",
            constraint=models.UniqueConstraint(
                fields=("dedupe_key",), name="django_sms_event_dedupe_key"
            ),
        ),
    ]
