"""The Mailjet-compatible REST API (DESIGN §9), built with Django REST framework.

Mounted by ``django_sms.urls``: ``<prefix>/v4/sms-send``, ``<prefix>/v4/sms``,
``<prefix>/v4/sms/<id>`` and ``<prefix>/v4/sms/count``, authenticated with
``Authorization: Bearer <API token>``. See docs/api.rst.
"""
