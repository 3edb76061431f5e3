"""A private CA and the certificates for mTLS between nginx and the API.

nginx terminates public TLS and then talks to the API over TLS again, presenting a client
certificate; the API only accepts clients signed by this CA, so nothing else on the network can
reach it directly. EC P-256 keys: small, fast and accepted by every TLS stack involved.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DAYS = 3650
LEAF_DAYS = 825  # the longest lifetime clients such as macOS accept for a TLS server certificate
DEFAULT_SERVER_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class CertPaths:
    """Where ``ragaas certs init`` writes each PEM file inside its output directory."""

    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    @property
    def client_cert(self) -> Path:
        return self.directory / "client.pem"

    @property
    def client_key(self) -> Path:
        return self.directory / "client.key"

    def all(self) -> tuple[Path, ...]:
        return (
            self.ca_cert,
            self.ca_key,
            self.server_cert,
            self.server_key,
            self.client_cert,
            self.client_key,
        )


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Ragaas"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def create_ca(common_name: str = "Ragaas private CA", days: int = CA_DAYS) -> Issued:
    """A self-signed CA that may sign leaf certificates only (path length 0)."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return Issued(cert, key)


def _san(names: Iterable[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in dict.fromkeys(names):  # keep order, drop duplicates
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def issue_leaf(
    ca: Issued,
    common_name: str,
    *,
    server: bool,
    names: Iterable[str] = (),
    days: int = LEAF_DAYS,
) -> Issued:
    """A certificate signed by ``ca``: for a TLS server (with SANs) or a TLS client."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = _now()
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.key.public_key()),
            critical=False,
        )
    )
    sans = list(names) if server else []
    if sans:
        builder = builder.add_extension(_san(sans), critical=False)
    return Issued(builder.sign(ca.key, hashes.SHA256()), key)


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` readable by the owner only, from the first byte (no chmod race)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def write_public(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o644)


def init_mtls(
    directory: Path,
    server_names: Iterable[str] = (),
    *,
    force: bool = False,
) -> tuple[CertPaths, bool]:
    """Create the CA, server and client certificates in ``directory``.

    Returns the paths and whether anything was written: an existing complete set is kept unless
    ``force`` (re-issuing would break the running API/nginx pair until both are restarted).
    A partial set is an error rather than silently half-replaced.
    """
    paths = CertPaths(directory)
    present = [p for p in paths.all() if p.exists()]
    if present and not force:
        if len(present) == len(paths.all()):
            return paths, False
        missing = ", ".join(p.name for p in paths.all() if not p.exists())
        raise FileExistsError(
            f"{directory} holds an incomplete certificate set (missing {missing}); "
            "use --force to create a new one"
        )
    ca = create_ca()
    extra = list(server_names)
    names = [*extra, *DEFAULT_SERVER_NAMES]
    server = issue_leaf(ca, names[0], server=True, names=names)
    client = issue_leaf(ca, "ragaas-nginx", server=False)
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    write_public(paths.ca_cert, ca.cert_pem())
    write_private(paths.ca_key, ca.key_pem())
    write_public(paths.server_cert, server.cert_pem())
    write_private(paths.server_key, server.key_pem())
    write_public(paths.client_cert, client.cert_pem())
    write_private(paths.client_key, client.key_pem())
    return paths, True


def load_ca(paths: CertPaths) -> Issued:
    """The CA written by :func:`init_mtls`, to sign further certificates (e.g. a test's)."""
    cert = x509.load_pem_x509_certificate(paths.ca_cert.read_bytes())
    key = serialization.load_pem_private_key(paths.ca_key.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{paths.ca_key} is not an EC private key")
    return Issued(cert, key)
