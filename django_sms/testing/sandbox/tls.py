"""HTTPS for the sandbox: a throwaway self-signed certificate for 127.0.0.1 / localhost.

Some official SDKs hard-code ``https://`` (the Vonage SDK does), so using them as test
oracles needs a TLS server::

    cert, key = make_self_signed_certificate(tmp_path)
    with Sandbox(ssl_context=server_context(cert, key)) as sandbox:
        requests.get(sandbox.url + "/...", verify=str(cert))   # or REQUESTS_CA_BUNDLE=cert

Needs the ``cryptography`` package (in the ``test`` and ``vonage`` extras); the rest of the
sandbox is standard library only.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path


def make_self_signed_certificate(directory: str | Path) -> tuple[Path, Path]:
    """Write ``sandbox-cert.pem`` and ``sandbox-key.pem`` (valid one day for 127.0.0.1,
    ::1 and localhost) into ``directory``; return their paths."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "The sandbox's HTTPS mode needs 'cryptography': pip install cryptography"
        ) from exc

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "django-sms sandbox")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([
                x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                x509.IPAddress(ipaddress.ip_address("::1")),
                x509.DNSName("localhost"),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = Path(directory)
    cert_path, key_path = directory / "sandbox-cert.pem", directory / "sandbox-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))
    return cert_path, key_path


def server_context(cert_path: str | Path, key_path: str | Path) -> ssl.SSLContext:
    """A server-side ``ssl.SSLContext`` for ``Sandbox(ssl_context=...)``."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    return context
