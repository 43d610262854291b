"""The Mailjet-compatible REST API (DESIGN §9), built with Django REST framework.

Mounted by ``django_sms.urls``: ``<prefix>/v4/sms-send``, ``<prefix>/v4/sms``,
``<prefix>/v4/sms/<id>``, ``<prefix>/v4/sms/count``, ``<prefix>/v4/sms/export`` and
``<prefix>/v4/sms/export/<id>``, authenticated with ``Authorization: Bearer <API token>``.
See docs/api.rst.
"""
