"""``ragaas certs`` end to end against pebble, Let's Encrypt's own ACME test server.

Issue (http-01 answered by the built-in server, then through real nginx from a webroot), the
chain verifies against pebble's root, the row holds no key in clear, list, renew (new serial,
reload command run), write (files nginx loads), and nginx serving the renewed certificate after
a graceful reload.
"""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import socket
import ssl
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509 import verification

from ragaas.certs import service
from ragaas.certs.pki import create_ca, issue_leaf, write_private
from ragaas.runtime import Runtime
from ragaas.settings import Settings
from ragaas.sources.crypto import SecretError, keyring_from
from tests.certs.conftest import Pebble
from tests.conftest import free_port, server_env
from tests.deploy.test_nginx_mtls import NGINX_CONF, _ensure_nginx, render_nginx_conf

DOMAINS = ["ragaas.test", "www.ragaas.test"]
EMAIL = "ops@ragaas.test"


def certs_cli(settings: Settings, pebble: Pebble, *args: str) -> subprocess.CompletedProcess[str]:
    """``ragaas certs ARGS`` in a subprocess on the test database, trusting pebble."""
    env = {
        **os.environ,
        **server_env(settings),
        "RAGAAS_ACME_DIRECTORY_URL": pebble.directory,
        "RAGAAS_ACME_CA_BUNDLE": str(pebble.ca_bundle),
        "COLUMNS": "160",  # rich's tables wrap at 80 columns without a terminal
    }
    command = [sys.executable, "-m", "ragaas.cli.main", "certs", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=240)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def chain_of(path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(path.read_bytes())


def verify_with_pebble(pebble: Pebble, chain: list[x509.Certificate], name: str) -> None:
    """Path validation as a TLS client does it: pebble's root, the served intermediates, name."""
    store = verification.Store([pebble.root()])
    verifier = verification.PolicyBuilder().store(store).build_server_verifier(x509.DNSName(name))
    built = verifier.verify(chain[0], chain[1:])
    assert built[-1] == pebble.root()


def stored_row(settings: Settings, name: str) -> dict[str, Any]:
    """The raw database row, as anyone with read access to the table sees it."""
    assert settings.database_url is not None
    engine = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        row = connection.execute(
            sa.text("SELECT * FROM certificates WHERE name = :name"), {"name": name}
        ).mappings().one()  # fmt: skip
    engine.dispose()
    return dict(row)


def listed(settings: Settings, pebble: Pebble) -> dict[str, dict[str, Any]]:
    rows = json.loads(ok(certs_cli(settings, pebble, "list", "--json")))
    return {row["name"]: row for row in rows}


def test_issue_list_renew_and_write_with_the_builtin_challenge_server(
    settings: Settings, pebble: Pebble, tmp_path: Path
) -> None:
    name = f"site-{uuid.uuid4().hex[:8]}"
    out = tmp_path / "out"
    issued = certs_cli(
        settings, pebble, "issue", "--name", name, "--email", EMAIL,
        *("--domain", DOMAINS[0], "--domain", DOMAINS[1]),
        "--http-port", str(pebble.http_port), "--out", str(out),
    )  # fmt: skip
    assert f"Issued {name} for ragaas.test, www.ragaas.test" in ok(issued)

    fullchain, privkey = out / name / "fullchain.pem", out / name / "privkey.pem"
    chain = chain_of(fullchain)
    assert len(chain) == 2  # leaf and pebble's intermediate
    assert chain[1] == pebble.intermediate()
    for domain in DOMAINS:
        verify_with_pebble(pebble, chain, domain)
    assert stat.S_IMODE(privkey.stat().st_mode) == 0o600
    key = serialization.load_pem_private_key(privkey.read_bytes(), None)
    assert key.public_key() == chain[0].public_key()

    # Encrypted at rest: no column of the raw row holds a private key in clear.
    row = stored_row(settings, name)
    assert not [c for c, v in row.items() if isinstance(v, str) and "PRIVATE KEY" in v]
    assert row["key_sealed"].startswith("enc:v1:")
    assert row["acme_account_key_sealed"].startswith("enc:v1:")
    assert row["kind"] == "acme"
    assert row["domains"] == DOMAINS
    assert row["serial"] == format(chain[0].serial_number, "x")
    assert row["acme_challenge"] == {"port": pebble.http_port}
    keyring = keyring_from(settings)
    assert keyring.open(row["key_sealed"], row["id"]).encode() == privkey.read_bytes()
    with pytest.raises(SecretError):  # sealed to its row: copied elsewhere it does not open
        keyring.open(row["key_sealed"], uuid.uuid4())

    entry = listed(settings, pebble)[name]
    assert entry["domains"] == DOMAINS
    expected_days = (chain[0].not_valid_after_utc - datetime.now(UTC)).days
    assert entry["days_left"] in (expected_days, expected_days - 1)
    assert entry["serial"] == row["serial"]
    table = ok(certs_cli(settings, pebble, "list"))
    assert name in table
    assert str(entry["days_left"]) in table

    # Not due within 1 day: nothing renewed, the reload command not run.
    marker = tmp_path / "reloaded"
    reload = shlex.join([sys.executable, "-c", f"open({str(marker)!r}, 'w').write('yes')"])
    quiet = ok(certs_cli(settings, pebble, "renew", "--days", "1", "--reload-cmd", reload,
                         "--out", str(out)))  # fmt: skip
    assert "nothing to renew" in quiet
    assert not marker.exists()

    # A margin longer than the certificate's lifetime: renewed now, with a new serial.
    margin = str(entry["days_left"] + 2)
    renewed = ok(certs_cli(settings, pebble, "renew", "--days", margin, "--reload-cmd", reload,
                           "--out", str(out)))  # fmt: skip
    assert f"renewed {name}" in renewed
    assert marker.read_text() == "yes"
    new_chain = chain_of(fullchain)
    assert new_chain[0].serial_number != chain[0].serial_number
    verify_with_pebble(pebble, new_chain, DOMAINS[1])
    new_key = serialization.load_pem_private_key(privkey.read_bytes(), None)
    assert new_key.public_key() == new_chain[0].public_key()
    assert new_key.public_key() != key.public_key()  # a fresh key, not the old one re-certified
    renewed_row = stored_row(settings, name)
    assert renewed_row["serial"] == format(new_chain[0].serial_number, "x")
    assert renewed_row["id"] == row["id"]
    # The account is reused, not created again (ACME CAs limit new accounts).
    assert renewed_row["acme_account_url"] == row["acme_account_url"]

    # `write` elsewhere gives the same files, keys 0600.
    elsewhere = tmp_path / "elsewhere"
    ok(certs_cli(settings, pebble, "write", "--out", str(elsewhere)))
    assert (elsewhere / name / "fullchain.pem").read_bytes() == fullchain.read_bytes()
    assert (elsewhere / name / "privkey.pem").read_bytes() == privkey.read_bytes()
    assert stat.S_IMODE((elsewhere / name / "privkey.pem").stat().st_mode) == 0o600


def test_issue_refuses_a_failing_challenge_with_the_reason(
    settings: Settings, pebble: Pebble, tmp_path: Path
) -> None:
    # Nothing answers on pebble's validation port: the CA's error reaches the operator.
    empty = tmp_path / "webroot-nobody-serves"
    result = certs_cli(
        settings, pebble, "issue", "--name", "refused", "--domain", "nobody.ragaas.test",
        "--email", EMAIL, "--webroot", str(empty), "--out", str(tmp_path / "out"),
    )  # fmt: skip
    assert result.returncode == 1
    assert "challenge failed: nobody.ragaas.test" in result.stderr
    assert "refused" not in listed(settings, pebble)
    assert (empty / ".well-known" / "acme-challenge").is_dir()  # it was answered there...
    assert not [p for p in empty.rglob("*") if p.is_file()]  # ...and the answer removed again


def _served_serial(port: int, root_pem: Path, name: str) -> int:
    context = ssl.create_default_context(cafile=str(root_pem))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der).serial_number


@dataclass(frozen=True)
class NginxSite:
    certs: Path
    webroot: Path
    https_port: int
    root_pem: Path  # pebble's root, to verify what nginx serves
    command: list[str]  # nginx with this site's configuration
    pid: str
    process: subprocess.Popen[bytes]

    @property
    def reload(self) -> str:
        return shlex.join([*self.command, "-g", self.pid, "-s", "reload"])


@pytest.fixture
def nginx_site(settings: Settings, pebble: Pebble, tmp_path: Path) -> Iterator[NginxSite]:
    """deploy/nginx/nginx.conf under real nginx, its port-80 server where pebble validates,
    started (as deploy/install.sh leaves it) on a placeholder certificate."""
    nginx = _ensure_nginx()
    certs, webroot, prefix = tmp_path / "certs", tmp_path / "webroot", tmp_path / "nginx"
    prefix.mkdir()
    # The mTLS set as `ragaas certs init` makes and stores it; `write` puts it where nginx reads.
    ok(certs_cli(settings, pebble, "init", "--out", str(tmp_path / "init" / "mtls"),
                 "--name", "api", "--force"))  # fmt: skip
    again = certs_cli(settings, pebble, "init", "--out", str(tmp_path / "elsewhere" / "mtls"))
    assert again.returncode == 1  # a second, different CA would break the stored pair
    assert "already holds an mTLS set" in again.stderr
    ok(certs_cli(settings, pebble, "write", "--out", str(certs)))
    assert (certs / "mtls" / "client.key").exists()
    assert not (certs / "mtls" / "ca.key").exists()  # the CA key stays in the database
    placeholder = issue_leaf(create_ca(), DOMAINS[0], server=True, names=DOMAINS)
    (certs / "fullchain.pem").write_bytes(placeholder.cert_pem())
    write_private(certs / "privkey.pem", placeholder.key_pem())

    https_port = free_port()
    conf_text = render_nginx_conf(
        NGINX_CONF.read_text(), prefix=prefix, certs=certs, api_port=free_port(),
        http_port=pebble.http_port, https_port=https_port,
    )  # fmt: skip
    assert conf_text.count("root /var/www/acme;") == 1
    conf = prefix / "nginx.conf"
    conf.write_text(conf_text.replace("root /var/www/acme;", f"root {webroot};"))
    command = [nginx, "-c", str(conf), "-p", str(prefix), "-e", str(prefix / "error.log")]
    pid = f"pid {prefix}/nginx.pid;"
    root_pem = tmp_path / "pebble-root.pem"
    root_pem.write_bytes(pebble.root().public_bytes(serialization.Encoding.PEM))
    process = subprocess.Popen([*command, "-g", f"daemon off; {pid}"], stderr=subprocess.DEVNULL)
    try:
        _wait_for_serial(https_port, root_pem, None)
        yield NginxSite(certs, webroot, https_port, root_pem, command, pid, process)
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_webroot_through_nginx_then_renewal_job_reloads_nginx(
    settings: Settings, runtime: Runtime, pebble: Pebble, nginx_site: NginxSite
) -> None:
    site = nginx_site
    # Issue: pebble fetches the answer from nginx's port-80 server, out of the webroot.
    issued = await asyncio.to_thread(
        certs_cli, settings, pebble, "issue", "--domain", DOMAINS[0], "--email", EMAIL,
        "--webroot", str(site.webroot), "--out", str(site.certs), "--reload-cmd", site.reload,
    )  # fmt: skip
    assert "Issued public for ragaas.test" in ok(issued)
    first = chain_of(site.certs / "fullchain.pem")[0]
    await asyncio.to_thread(_wait_for_serial, site.https_port, site.root_pem, first.serial_number)

    # The workers' renewal (what the hourly certs.renew job runs), reloading nginx.
    job_settings = settings.model_copy(
        update={
            "cert_dir": site.certs,
            "cert_reload_command": site.reload,
            "acme_ca_bundle": pebble.ca_bundle,
        }
    )
    margin = (first.not_valid_after_utc - datetime.now(UTC)).days + 2
    report = await service.renew_and_deploy(runtime.sessionmaker, job_settings, days=margin)
    assert "public" in report.renewed, report
    assert site.certs / "fullchain.pem" in report.written
    renewed = chain_of(site.certs / "fullchain.pem")[0]
    assert renewed.serial_number != first.serial_number
    await asyncio.to_thread(_wait_for_serial, site.https_port, site.root_pem, renewed.serial_number)
    assert site.process.poll() is None  # reloaded, never restarted
    check = await asyncio.to_thread(
        subprocess.run, [*site.command, "-t", "-g", site.pid], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr  # the written files load


def _wait_for_serial(port: int, root_pem: Path, serial: int | None) -> None:
    """Until nginx serves ``serial`` (None: until it answers TLS at all, with any certificate).

    nginx -s reload is asynchronous: new workers take over shortly after the signal.
    """
    deadline = time.monotonic() + 20
    while True:
        try:
            served: int | None = _served_serial(port, root_pem, DOMAINS[0])
        except ssl.SSLCertVerificationError:
            served = -1  # up, with a certificate not from pebble (the placeholder)
        except OSError:
            served = None
        if served == serial or (serial is None and served is not None):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"nginx serves serial {served}, expected {serial}")
        time.sleep(0.2)
