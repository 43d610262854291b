from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "example_project.demo"
    label = "demo"
    verbose_name = "DemoShop"

    def ready(self) -> None:
        from django_sms.signals import pre_send
        from example_project.demo import phone

        # After django_sms's receiver, which puts the code into the text (see phone.py).
        pre_send.connect(phone.receive, dispatch_uid="demo.phone.receive")
