"""A reference row of the webhook benchmark: the least a Django view can do with a delivery
report — parse the JSON body and store the new status with one UPDATE. No signature check,
no event history, no status rules, no signals. (The baseline with a target is the
hand-written peer, :mod:`benchmarks.peer_webhook`, which does the same work as the app.)"""

from __future__ import annotations

import json

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from django_sms.models import get_message_model


@csrf_exempt
@require_POST
def bare_status(request: HttpRequest) -> HttpResponse:
    data = json.loads(request.body)
    get_message_model()._default_manager.filter(
        provider="vonage", provider_message_id=data["message_uuid"]
    ).update(status=data["status"], updated_at=timezone.now())
    return JsonResponse({})
