"""Writing stored certificates out as the PEM files nginx and the API read.

Layout under the output directory (the one deploy/nginx/nginx.conf and compose.yaml expect):

    fullchain.pem, privkey.pem            the ACME certificate called "public"
    NAME/fullchain.pem, NAME/privkey.pem  any other ACME certificate
    mtls/ca.pem                           the internal CA (its key is never written out)
    mtls/server.pem, mtls/server.key      the API's server certificate
    mtls/client.pem, mtls/client.key      nginx's client certificate

Each file is replaced atomically (a reload never reads half a file); keys are 0600 from their
first byte.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ragaas.certs.store import private_key_pem
from ragaas.models import Certificate, CertificateKind
from ragaas.sources.crypto import Keyring

PUBLIC_NAME = "public"


def file_names(row: Certificate) -> tuple[str, str | None]:
    """(certificate file, key file or None) relative to the output directory."""
    if row.kind == CertificateKind.ACME:
        prefix = "" if row.name == PUBLIC_NAME else f"{row.name}/"
        return f"{prefix}fullchain.pem", f"{prefix}privkey.pem"
    if row.kind == CertificateKind.INTERNAL_CA:
        return f"{row.name}.pem", None
    return f"{row.name}.pem", f"{row.name}.key"


def atomic_write(path: Path, data: bytes, mode: int) -> None:
    """Replace ``path`` by ``data`` in one rename, with ``mode`` set before any byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, mode)  # the umask may have narrowed it
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_out(rows: Iterable[Certificate], keyring: Keyring, directory: Path) -> list[Path]:
    """Write each certificate (and its key, 0600) under ``directory``; returns the files written."""
    written: list[Path] = []
    for row in rows:
        cert_name, key_name = file_names(row)
        if key_name is not None:
            # The key first: nginx reloading between the two writes then sees the old pair fail
            # to match and keeps running on its previous configuration.
            atomic_write(directory / key_name, private_key_pem(keyring, row), 0o600)
            written.append(directory / key_name)
        atomic_write(directory / cert_name, row.cert_pem.encode(), 0o644)
        written.append(directory / cert_name)
    return written
