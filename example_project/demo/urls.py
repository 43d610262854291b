from django.urls import path

from example_project.demo import views

app_name = "demo"

urlpatterns = [
    path("", views.start, name="start"),
    path("verifications/<uuid:pk>/", views.verification, name="verification"),
]
