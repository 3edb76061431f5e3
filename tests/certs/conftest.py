"""Let's Encrypt's test server, pebble (Debian's package), with a fake DNS that sends every name
to 127.0.0.1, so http-01 validations for made-up domains reach this machine."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography import x509

from ragaas.certs.pki import create_ca, issue_leaf, write_private
from tests.conftest import free_port

PEBBLE = "/usr/bin/pebble"
CHALLTESTSRV = "/usr/bin/pebble-challtestsrv"


def _ensure_pebble() -> None:
    if Path(PEBBLE).exists() and Path(CHALLTESTSRV).exists():
        return
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("pebble is not installed and cannot be here (needs root and apt-get): "
                    "apt-get install -y pebble")  # fmt: skip
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", "pebble"], env=env, capture_output=True, text=True
    )
    if done.returncode != 0 or not Path(PEBBLE).exists():
        pytest.skip(f"pebble cannot be installed with apt-get:\n{done.stderr[-2000:]}")


@dataclass(frozen=True)
class Pebble:
    directory: str  # the ACME directory URL
    ca_bundle: Path  # trusts pebble's own HTTPS listener
    management: str
    http_port: int  # where pebble sends its http-01 validation requests

    def _get(self, path: str) -> str:
        trust = ssl.create_default_context(cafile=str(self.ca_bundle))
        response = httpx.get(f"{self.management}{path}", verify=trust, timeout=10)
        response.raise_for_status()
        return response.text

    def root(self) -> x509.Certificate:
        """The root that pebble's issuing intermediate chains to (new on every pebble start)."""
        return x509.load_pem_x509_certificate(self._get("/roots/0").encode())

    def intermediate(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self._get("/intermediates/0").encode())


def _wait(url: str, cafile: Path, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError(f"{process.args!r} exited early:\n{log.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            trust = ssl.create_default_context(cafile=str(cafile))
            if httpx.get(url, verify=trust, timeout=2).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not come up:\n{log.read_text()}")
        time.sleep(0.1)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def pebble(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pebble]:
    _ensure_pebble()
    folder = tmp_path_factory.mktemp("pebble")
    ca = create_ca("pebble listener test CA")
    listener = issue_leaf(ca, "127.0.0.1", server=True, names=["127.0.0.1", "localhost"])
    (folder / "ca.pem").write_bytes(ca.cert_pem())
    (folder / "cert.pem").write_bytes(listener.cert_pem())
    write_private(folder / "key.pem", listener.key_pem())
    acme_port, management_port, http_port, dns_port = (free_port() for _ in range(4))
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{acme_port}",
            "managementListenAddress": f"127.0.0.1:{management_port}",
            "certificate": str(folder / "cert.pem"),
            "privateKey": str(folder / "key.pem"),
            "httpPort": http_port,
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (folder / "pebble.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "PEBBLE_VA_NOSLEEP": "1",  # validate at once
        "PEBBLE_VA_ALWAYS_VALID": "0",  # really fetch every http-01 answer
        "PEBBLE_WFE_NONCEREJECT": "0",  # no random badNonce (the client retries only once)
        "PEBBLE_AUTHZREUSE": "0",  # a renewal validates again
    }
    dns_log, pebble_log = folder / "dns.log", folder / "pebble.log"
    with dns_log.open("wb") as out:
        dns = subprocess.Popen(
            [CHALLTESTSRV, "-dns01", f"127.0.0.1:{dns_port}", "-http01", "", "-https01", "",
             "-tlsalpn01", "", "-management", f"127.0.0.1:{free_port()}",
             "-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    with pebble_log.open("wb") as out:
        server = subprocess.Popen(
            [PEBBLE, "-config", str(folder / "pebble.json"), "-strict=false",
             "-dnsserver", f"127.0.0.1:{dns_port}"],
            env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        directory = f"https://127.0.0.1:{acme_port}/dir"
        _wait(directory, folder / "ca.pem", server, pebble_log)
        yield Pebble(
            directory, folder / "ca.pem", f"https://127.0.0.1:{management_port}", http_port
        )
    finally:
        _stop(server)
        _stop(dns)
