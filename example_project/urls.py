from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sms/", include("django_sms.urls")),  # delivery-report webhooks and the REST API
    path("", include("example_project.demo.urls")),
]
