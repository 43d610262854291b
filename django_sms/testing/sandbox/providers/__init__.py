"""Provider handlers of the sandbox, registered by name.

Adding a provider = adding a module here that defines a
:class:`~django_sms.testing.sandbox.providers.base.ProviderHandler` subclass decorated with
:func:`register`. :func:`handler_classes` imports every module of this package once, so no
list has to be edited; third-party handlers call :func:`register` themselves (or are passed
to ``Sandbox(providers=[...])``). A module that cannot be imported (a missing optional
package) is skipped with a warning on the ``django_sms.sandbox`` logger.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from typing import TypeVar

from django_sms.testing.sandbox.providers.base import (
    Headers,
    ProviderHandler,
    SandboxRequest,
    SandboxResponse,
)

__all__ = [
    "Headers",
    "ProviderHandler",
    "SandboxRequest",
    "SandboxResponse",
    "handler_classes",
    "register",
]

logger = logging.getLogger("django_sms.sandbox")

H = TypeVar("H", bound=type[ProviderHandler])

_REGISTRY: dict[str, type[ProviderHandler]] = {}
_discovered = False
_lock = threading.Lock()


def register(handler_class: H) -> H:
    """Class decorator: make ``handler_class`` part of every new sandbox."""
    if not handler_class.name or not handler_class.prefixes:
        raise ValueError(f"{handler_class.__name__} needs a name and path prefixes.")
    _REGISTRY[handler_class.name] = handler_class
    return handler_class


def handler_classes() -> dict[str, type[ProviderHandler]]:
    """Every registered handler class by provider name (this package's modules included)."""
    global _discovered
    with _lock:
        if not _discovered:
            for module in pkgutil.iter_modules(__path__):
                if module.name.startswith("_") or module.name == "base":
                    continue
                try:
                    importlib.import_module(f"{__name__}.{module.name}")
                except ImportError as exc:
                    # A handler needing an optional package (e.g. cryptography) must not take
                    # the other providers down with it.
                    logger.warning("SMS sandbox: provider %r skipped: %s", module.name, exc)
            _discovered = True
    return dict(_REGISTRY)
