"""``manage.py createdemouser``: make sure the demo superuser exists with a known password.

Unlike ``createsuperuser --noinput`` it may run any number of times (scripts/run-demo runs it
on every start) and it resets the password, so the documented demo / demo always works.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create or update a superuser for the demo (default: demo / demo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model._default_manager.get_by_natural_key(username)
            created = False
        except user_model.DoesNotExist:
            user = user_model(**{user_model.USERNAME_FIELD: username})
            created = True
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} superuser {username!r} (password {password!r}).")
