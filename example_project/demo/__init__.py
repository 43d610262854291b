"""The demo app: a page that sends a verification code with django_sms.send_sms()."""
