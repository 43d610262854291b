from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("swapped", "0001_initial"),
    ]

    operations = [
        migrations.AddIndex(
            model_name='custommessage',
            index=models.Index(fields=['country', '-created_at'], name='swapped_custommessage_country'),
        ),
        migrations.AddIndex(
            model_name='custommessage',
            index=models.Index(fields=['backend_alias', '-created_at'], name='swapped_custommessage_alias'),
        ),
    ]
