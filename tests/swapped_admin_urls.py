"""URLs of an admin site that registers MessageAdmin for the swapped-in CustomMessage, the way
a project that swaps the message model does (used by test_admin_swapped.py only)."""

from django.contrib import admin
from django.urls import path

from django_sms.admin import MessageAdmin
from tests.swapped.models import CustomMessage

site = admin.AdminSite(name="swapped_admin")
site.register(CustomMessage, MessageAdmin)

urlpatterns = [path("admin/", site.urls)]
