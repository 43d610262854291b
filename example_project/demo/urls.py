from django.urls import path

from example_project.demo import views

app_name = "demo"

urlpatterns = [
    path("", views.send_code, name="send-code"),
    path("messages/<int:pk>/", views.send_code, name="message"),
]
