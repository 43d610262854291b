"""A small Django project that uses django_sms; run it with ``./scripts/run-demo``."""
