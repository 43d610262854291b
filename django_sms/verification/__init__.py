"""Phone verification: one-time codes sent by SMS, checked with brute-force and SMS-pumping
defences. See docs/verification.rst.

    from django_sms.verification import start_verification, check_verification

    start_verification("+33612345678", purpose="signup", request=request)
    if check_verification("+33612345678", typed_code, purpose="signup", request=request):
        ...  # the number is verified (the code is consumed)

Import it once Django's apps are loaded (it uses the models).
"""

from django_sms.verification.service import (
    CheckResult,
    cancel_verification,
    check_verification,
    start_verification,
)

__all__ = ["CheckResult", "cancel_verification", "check_verification", "start_verification"]
