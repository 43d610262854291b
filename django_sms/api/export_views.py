"""The export views: ``POST v4/sms/export``, ``GET v4/sms/export/{ID}`` and the download of
the CSV (the ``URL`` an export gives once completed). See :mod:`django_sms.api.exports`."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from django.utils import timezone
from rest_framework.request import Request
from rest_framework.response import Response

from django_sms.api import errors
from django_sms.api.errors import MailjetError
from django_sms.api.exports import MAX_AGE, download_key, is_download_key, start_export
from django_sms.api.schema import extend_operation, parameter
from django_sms.api.serializers import (
    EXPORT_STATUSES,
    ErrorSerializer,
    ExportRequestSerializer,
    ExportSerializer,
    timestamp,
    validated_export,
)
from django_sms.api.timestamps import rfc3339
from django_sms.api.views import ERRORS, MailjetAPIView, PublicJSONView
from django_sms.models import SMSExport


def export_body(export: SMSExport, request: Request) -> dict[str, Any]:
    """An export as Mailjet shows it (both spellings of FromTs/FromTS, as for MessageId)."""
    name, description = EXPORT_STATUSES[export.status]
    url = None
    if export.status == SMSExport.Status.COMPLETED:
        namespace = request.resolver_match.namespace if request.resolver_match else ""
        path = reverse(
            f"{namespace}:api-sms-export-download" if namespace else "api-sms-export-download",
            kwargs={"export_id": export.pk},
        )
        url = request.build_absolute_uri(f"{path}?key={download_key(export)}")
    from_ts, to_ts = int(export.from_ts.timestamp()), int(export.to_ts.timestamp())
    return {
        "ID": export.pk,
        "CreationTS": timestamp(export.completed_at) or None,
        "ExpirationTS": timestamp(export.expires_at) or None,
        "Status": {"Code": export.status, "Name": name, "Description": description},
        "URL": url,
        "FromTs": from_ts,
        "ToTs": to_ts,
        "FromTS": from_ts,
        "ToTS": to_ts,
    }


class ExportCreateView(MailjetAPIView):
    @extend_operation(
        operation_id="sms_export_create",
        tags=["SMS"],
        summary="Export sent SMS as CSV",
        description=(
            "Start an export of the token owner's messages created in [FromTS, ToTS] "
            "(FromTS at most one year ago). Poll GET v4/sms/export/{ID} until Status.Code is "
            "3, then download URL."
        ),
        request=ExportRequestSerializer,
        responses={200: ExportSerializer, **ERRORS},
    )
    def post(self, request: Request) -> Response:
        period = validated_export(request.data)
        from_ts, to_ts = period["FromTS"], period["ToTS"]
        oldest = timezone.now() - MAX_AGE
        if from_ts < oldest:
            raise MailjetError(
                400,
                errors.INVALID_PERIOD,
                f"FromTS must not be older than one year (it is {rfc3339(from_ts)}, the "
                f"earliest is {rfc3339(oldest)}).",
                ["FromTS"],
            )
        if to_ts < from_ts:
            raise MailjetError(
                400,
                errors.INVALID_PERIOD,
                f"ToTS must not be before FromTS ({rfc3339(to_ts)} < {rfc3339(from_ts)}).",
                ["ToTS"],
            )
        export = start_export(self.token, from_ts, to_ts)
        return Response(export_body(export, request))


class ExportDetailView(MailjetAPIView):
    @extend_operation(
        operation_id="sms_export_retrieve",
        tags=["SMS"],
        summary="One export",
        description="An export of the token's owner: its status and, once completed, its URL.",
        parameters=[parameter("export_id", int, "path")],
        responses={200: ExportSerializer, 404: ErrorSerializer, **ERRORS},
    )
    def get(self, request: Request, export_id: str) -> Response:
        if not (export_id.isascii() and export_id.isdigit()) or len(export_id) > 18:
            raise MailjetError(
                400, errors.TYPE_MISMATCH, 'Type mismatch. Expected type "integer".', ["ID"]
            )
        export = (
            SMSExport._default_manager.filter(
                pk=int(export_id),
                owner_type_id=self.token.owner_type_id,
                owner_id=self.token.owner_id,
            )
            .defer("csv")
            .first()
        )
        if export is None:
            raise MailjetError(404, errors.NOT_FOUND, "Object not found.")
        return Response(export_body(export, request))


class ExportDownloadView(PublicJSONView):
    """The CSV of a completed export. Like Mailjet's download URLs it needs no token: the
    signed ``key`` in the URL is the credential, valid until the export expires."""

    def get(self, request: Request, export_id: int) -> HttpResponse:
        export = SMSExport._default_manager.filter(pk=export_id).first()
        key = request.query_params.get("key", "")
        if export is None or not is_download_key(export, key):
            raise MailjetError(404, errors.NOT_FOUND, "Object not found.")
        if export.status != SMSExport.Status.COMPLETED or export.expires_at is None:
            raise MailjetError(404, errors.NOT_FOUND, "This export is not completed.")
        if export.expires_at <= timezone.now():
            raise MailjetError(
                404, errors.NOT_FOUND, f"This export expired at {rfc3339(export.expires_at)}."
            )
        response = HttpResponse(export.csv, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="sms-export-{export.pk}.csv"'
        return response
