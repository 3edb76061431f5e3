#!/usr/bin/env bash
# One-step install of Ragaas on Docker Compose: checks prerequisites, writes deploy/.env with
# fresh secrets, a TLS certificate for nginx, then builds and starts the stack.
# Safe to re-run: an existing deploy/.env and certificate are kept, never regenerated.
set -euo pipefail

DEPLOY_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="${DEPLOY_DIR}/.env"
ENV_EXAMPLE="${DEPLOY_DIR}/.env.example"
COMPOSE_FILE="${DEPLOY_DIR}/compose.yaml"
CERT_DIR="${DEPLOY_DIR}/nginx/certs"
CERT_FILE="${CERT_DIR}/fullchain.pem"
KEY_FILE="${CERT_DIR}/privkey.pem"

DOMAIN="localhost"
ACME_EMAIL=""
DRY_RUN=0
START=1
WORKERS=1
COMPOSE_CMD=()

usage() {
    cat <<'EOF'
Usage: deploy/install.sh [options]

Install Ragaas with Docker Compose (PostgreSQL + pgvector, Redis, API, workers, nginx/TLS).

  1. checks that docker, docker compose and openssl are installed;
  2. writes deploy/.env from deploy/.env.example with generated secrets (only if absent);
  3. writes a self-signed TLS certificate for nginx to deploy/nginx/certs/ (only if absent);
  4. validates deploy/compose.yaml, builds the image and starts the stack;
  5. stores the mTLS certificates in the database (keys encrypted);
  6. with --acme, replaces the certificate by one from Let's Encrypt (ACME), renewed
     automatically by the workers.

Options:
  --domain NAME     public host name, put in the certificate (default: localhost)
  --acme EMAIL      get the certificate from Let's Encrypt over ACME for --domain, with EMAIL
                    as the account contact; needs the image's `ragaas certs` command, and
                    --domain pointing at this host with port 80 reachable from the internet
  --workers N       worker containers to run (default: 1)
  --no-start        prepare .env and the certificate and validate the stack, start nothing
  --dry-run         print what would be done; change nothing, start nothing
  -h, --help        show this help

Environment:
  COMPOSE           the Compose command to use (default: `docker compose`, else `docker-compose`)

Re-running is safe: deploy/.env and the certificate are kept as they are. To change a setting,
edit deploy/.env (every setting: docs/configuration.md) and run this again.
EOF
}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# Runs a command, or only prints it under --dry-run.
run() {
    if ((DRY_RUN)); then
        printf 'would run: %s\n' "$*"
    else
        "$@"
    fi
}

parse_args() {
    while (($# > 0)); do
        case "$1" in
        -h | --help)
            usage
            exit 0
            ;;
        --domain)
            [[ $# -ge 2 && -n "$2" ]] || die "--domain needs a host name"
            DOMAIN="$2"
            shift
            ;;
        --acme)
            [[ $# -ge 2 && "$2" == *@* ]] || die "--acme needs an e-mail address"
            ACME_EMAIL="$2"
            shift
            ;;
        --workers)
            [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || die "--workers needs a positive number"
            WORKERS="$2"
            shift
            ;;
        --no-start) START=0 ;;
        --dry-run) DRY_RUN=1 ;;
        *) die "unknown option: $1 (see --help)" ;;
        esac
        shift
    done
    if [[ -n "$ACME_EMAIL" && "$DOMAIN" == "localhost" ]]; then
        die "--acme needs --domain: the public name Let's Encrypt will check"
    fi
    [[ "$DOMAIN" =~ ^[A-Za-z0-9.-]+$ ]] || die "--domain: not a host name: $DOMAIN"
}

# The Compose command: $COMPOSE if set, else the docker plugin, else the standalone binary.
find_compose() {
    if [[ -n "${COMPOSE:-}" ]]; then
        read -r -a COMPOSE_CMD <<<"$COMPOSE"
    elif command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
        COMPOSE_CMD=(docker compose)
    elif command -v docker-compose >/dev/null 2>&1; then
        COMPOSE_CMD=(docker-compose)
    else
        return 1
    fi
}

check_prerequisites() {
    say "checking prerequisites"
    local missing=()
    command -v openssl >/dev/null 2>&1 || missing+=("openssl (apt-get install openssl)")
    if find_compose; then
        printf '    compose: %s\n' "${COMPOSE_CMD[*]}"
    else
        missing+=("docker compose (https://docs.docker.com/compose/install/)")
    fi
    if ((START)); then
        if ! command -v docker >/dev/null 2>&1; then
            missing+=("docker (https://docs.docker.com/engine/install/)")
        elif ((!DRY_RUN)) && ! docker info >/dev/null 2>&1; then
            missing+=("a running Docker engine that this user may use (docker info fails)")
        fi
    fi
    if ((${#missing[@]} > 0)); then
        local item
        for item in "${missing[@]}"; do
            if ((DRY_RUN)); then
                warn "missing: $item"
            else
                printf 'error: missing: %s\n' "$item" >&2
            fi
        done
        ((DRY_RUN)) || exit 1
    fi
    [[ -f "$ENV_EXAMPLE" ]] || die "$ENV_EXAMPLE not found: run this script from a Ragaas checkout"
    if ((${#COMPOSE_CMD[@]} == 0)); then
        COMPOSE_CMD=(docker compose)
    fi
}

# URL-safe base64 without padding of N random bytes.
random_b64() {
    openssl rand -base64 "$1" | tr '+/' '-_' | tr -d '=\n'
}

write_env() {
    if [[ -f "$ENV_FILE" ]]; then
        say "keeping $ENV_FILE (delete it to generate new secrets)"
        return
    fi
    say "writing $ENV_FILE with generated secrets"
    if ((DRY_RUN)); then
        printf 'would write: %s from %s, generating POSTGRES_PASSWORD, RAGAAS_JWT_SECRET and RAGAAS_SECRET_KEYS\n' \
            "$ENV_FILE" "$ENV_EXAMPLE"
        return
    fi
    local password jwt keys tmp
    password="$(openssl rand -hex 24)"
    jwt="$(random_b64 48)"
    keys="k1:$(random_b64 32)"
    tmp="$(mktemp "${ENV_FILE}.XXXXXX")"
    # Only the three generated lines change; the rest of the example (comments, defaults) stays.
    awk -v password="$password" -v jwt="$jwt" -v keys="$keys" '
        /^POSTGRES_PASSWORD=/ { print "POSTGRES_PASSWORD=" password; n++; next }
        /^RAGAAS_JWT_SECRET=/ { print "RAGAAS_JWT_SECRET=" jwt; n++; next }
        /^RAGAAS_SECRET_KEYS=/ { print "RAGAAS_SECRET_KEYS=" keys; n++; next }
        { print }
        END { if (n != 3) exit 1 }
    ' "$ENV_EXAMPLE" >"$tmp" || {
        rm -f "$tmp"
        die "$ENV_EXAMPLE lacks one of POSTGRES_PASSWORD=, RAGAAS_JWT_SECRET=, RAGAAS_SECRET_KEYS="
    }
    chmod 600 "$tmp"
    mv "$tmp" "$ENV_FILE"
}

write_certificate() {
    if [[ -f "$CERT_FILE" && -f "$KEY_FILE" ]]; then
        say "keeping the certificate in $CERT_DIR"
        return
    fi
    say "writing a self-signed certificate for $DOMAIN to $CERT_DIR"
    if [[ -n "$ACME_EMAIL" ]]; then
        printf '    (nginx starts with it; the ACME step below replaces it)\n'
    fi
    local san="DNS:localhost,IP:127.0.0.1"
    if [[ "$DOMAIN" != "localhost" ]]; then
        san="DNS:${DOMAIN},${san}"
    fi
    run mkdir -p "$CERT_DIR"
    run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
        -subj "/CN=${DOMAIN}" -addext "subjectAltName=${san}" \
        -keyout "$KEY_FILE" -out "$CERT_FILE"
    # nginx's master process reads the key as root; nobody else needs to.
    run chmod 600 "$KEY_FILE"
}

# Internal mTLS between nginx and the API (docs/deployment.md, "TLS and mTLS"): a private CA, the
# API's server certificate (name "api") and nginx's client certificate. The same files as
# `ragaas certs init --name api` writes, made with openssl so no Python is needed on the host.
write_mtls() {
    local dir="${CERT_DIR}/mtls"
    if [[ -f "$dir/ca.pem" && -f "$dir/server.pem" && -f "$dir/client.pem" ]]; then
        say "keeping the internal mTLS certificates in $dir"
        return
    fi
    say "writing the internal mTLS certificates (private CA, api server, nginx client) to $dir"
    run mkdir -p "$dir"
    run openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=Ragaas internal CA" -keyout "$dir/ca.key" -out "$dir/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
        -addext "keyUsage=critical,keyCertSign,cRLSign"
    local role usage san
    for role in server client; do
        usage="serverAuth"
        san="subjectAltName=DNS:api,DNS:localhost,IP:127.0.0.1"
        if [[ "$role" == "client" ]]; then
            usage="clientAuth"
            san="subjectAltName=DNS:nginx"
        fi
        run openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
            -subj "/CN=ragaas-${role}" -keyout "$dir/${role}.key" -out "$dir/${role}.csr"
        run openssl x509 -req -in "$dir/${role}.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
            -CAcreateserial -days 825 -out "$dir/${role}.pem" \
            -extfile <(printf '%s\nextendedKeyUsage=%s\n' "$san" "$usage")
        run rm -f "$dir/${role}.csr"
    done
    # nginx's master process (root) reads the client key; the API's container user (uid 10001)
    # reads the server key: give it to that uid, or (without the right to chown) make it readable.
    run chmod 600 "$dir/ca.key" "$dir/client.key" "$dir/server.key"
    if ((!DRY_RUN)) && ! chown 10001:10001 "$dir/server.key" 2>/dev/null; then
        chmod 644 "$dir/server.key"
    fi
}

validate_stack() {
    say "validating $COMPOSE_FILE"
    if ((DRY_RUN)); then
        run "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" config --quiet
        return
    fi
    if ! "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" config --quiet; then
        die "the Compose configuration is invalid (see above); check $ENV_FILE"
    fi
}

start_stack() {
    say "building the image and starting the stack ($WORKERS worker(s)); the first build takes a while"
    run "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" up --detach --build --wait \
        --scale "worker=${WORKERS}"
}

# The API and the workers (uid 10001) write certificates from the database into deploy/nginx/certs
# (RAGAAS_CERT_DIR in compose.yaml): at start, after `ragaas certs issue`, and on renewal.
share_cert_dir() {
    if ((DRY_RUN)); then
        printf 'would run: chown 10001:10001 %s %s\n' "$CERT_DIR" "$CERT_DIR/mtls"
        return
    fi
    if ! chown 10001:10001 "$CERT_DIR" "$CERT_DIR/mtls" 2>/dev/null; then
        warn "cannot chown $CERT_DIR to uid 10001 (run as root for that): renewed certificates" \
            "cannot be written there by the containers"
    fi
}

# The internal mTLS set into the database (encrypted): `ragaas certs init` keeps the files above
# and stores them when the database has none yet. As root in the container: the keys are 0600.
store_mtls() {
    say "storing the internal mTLS certificates in the database (keys encrypted)"
    run "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" exec -T --user 0 api \
        ragaas certs init --out /etc/ragaas/certs/mtls --name api
}

# Let's Encrypt with `ragaas certs issue` inside the running API container: the http-01 answer goes
# to the acme-webroot volume that nginx serves on port 80 (RAGAAS_ACME_WEBROOT), the certificate
# into the database (key encrypted) and out to deploy/nginx/certs (RAGAAS_CERT_DIR); the workers
# renew it 30 days before expiry and nginx reloads itself every 6 hours (docs/deployment.md).
issue_acme_certificate() {
    say "requesting a Let's Encrypt certificate for $DOMAIN (ACME)"
    local exec_api=("${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" exec -T api)
    if ((!DRY_RUN)) && ! "${exec_api[@]}" ragaas certs issue --help >/dev/null 2>&1; then
        die "--acme needs the \`ragaas certs issue\` command in the image, which this version" \
            "lacks; the stack runs with the self-signed certificate"
    fi
    run "${exec_api[@]}" ragaas certs issue --domain "$DOMAIN" --email "$ACME_EMAIL"
    run "${COMPOSE_CMD[@]}" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" exec -T nginx nginx -s reload
}

main() {
    parse_args "$@"
    if ((DRY_RUN)); then
        say "dry run: nothing is written or started"
    fi
    check_prerequisites
    write_env
    write_certificate
    write_mtls
    share_cert_dir
    validate_stack
    if ((!START)); then
        say "prepared; start with: ${COMPOSE_CMD[*]} -f $COMPOSE_FILE up -d --build"
        return
    fi
    start_stack
    store_mtls
    if [[ -n "$ACME_EMAIL" ]]; then
        issue_acme_certificate
    fi
    if ((DRY_RUN)); then
        say "dry run complete"
        return
    fi
    local port url="https://${DOMAIN}"
    port="$(sed -n 's/^NGINX_HTTPS_PORT=//p' "$ENV_FILE" 2>/dev/null || true)"
    if [[ -n "$port" && "$port" != "443" ]]; then
        url="${url}:${port}"
    fi
    say "Ragaas is up at $url (API docs: $url/docs)"
    cat <<EOF
Create the first organisation, its admin and an API key:
  ${COMPOSE_CMD[*]} -f $COMPOSE_FILE exec api ragaas admin bootstrap --org ORG --email ADMIN_EMAIL --password 'A-LONG-PASSWORD'
More workers: ${COMPOSE_CMD[*]} -f $COMPOSE_FILE up -d --scale worker=4
EOF
}

main "$@"
