"""What a project that swaps the three models writes in its admin.py: Django ignores the
registrations of the swapped-out defaults, so the app's admin classes are registered for the
project's own models (docs/admin.rst, "Swapped models")."""

from django.contrib import admin

from django_sms.admin import APITokenAdmin, MessageAdmin, WalletAdmin
from tests.swapped.models import CustomMessage, CustomToken, CustomWallet

admin.site.register(CustomMessage, MessageAdmin)
admin.site.register(CustomWallet, WalletAdmin)
admin.site.register(CustomToken, APITokenAdmin)
