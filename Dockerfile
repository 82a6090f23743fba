# The four sportsfeed images from one Dockerfile, with the repository root as build context (an image
# needs uv.lock and services/common). SERVICE picks the service, PORT its port (the default of its
# settings); the push gateway is built with --target push-gateway, which adds the dashboard:
#   docker build --build-arg SERVICE=ingest --build-arg PORT=8081 -t sportsfeed/ingest .
#   docker build --build-arg SERVICE=persistence --build-arg PORT=8082 -t sportsfeed/persistence .
#   docker build --build-arg SERVICE=stream-processor --build-arg PORT=8083 -t sportsfeed/stream-processor .
#   docker build --build-arg SERVICE=push-gateway --build-arg PORT=8080 --target push-gateway \
#     -t sportsfeed/push-gateway .
# How the images are made and what they guarantee: docs/images.md.

# ---- builder: a virtualenv with this service, sportsfeed-common and their locked dependencies only
FROM python:3.11.14-slim-bookworm AS builder

# The uv release ./sportsfeed installs, so the image reads uv.lock exactly as CI does.
ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir --disable-pip-version-check "uv==${UV_VERSION}"

# uv builds with the base image's Python (never a downloaded one), keeps no cache in the layer,
# puts the virtualenv where the final stage expects it, and trusts the system's certificate store
# (as ./sportsfeed does: where a TLS-intercepting proxy's CA is installed).
ENV UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_SYSTEM_CERTS=1 \
    UV_PROJECT_ENVIRONMENT=/opt/sportsfeed/venv
WORKDIR /src

# Declared only now, so that the layers above are shared by the four images.
ARG SERVICE
ARG PORT

# Third-party dependencies first, in a layer of their own: a code change does not download them again.
# An unknown or missing SERVICE, or a PORT that is not a number, stops the build here.
COPY pyproject.toml uv.lock ./
COPY services/common/pyproject.toml services/common/
COPY services/${SERVICE}/pyproject.toml services/${SERVICE}/
RUN case "${SERVICE}" in ingest|persistence|stream-processor|push-gateway) ;; \
      *) echo "SERVICE must be ingest, persistence, stream-processor or push-gateway, not '${SERVICE}'" >&2; exit 1;; \
    esac \
 && case "${PORT}" in ''|*[!0-9]*) echo "PORT must be ${SERVICE}'s port number, not '${PORT}'" >&2; exit 1;; esac \
 && uv sync --frozen --no-dev --no-editable --no-install-workspace --package "sportsfeed-${SERVICE}"

# Then the workspace code, installed as wheels (non-editable: nothing points back at /src), and
# bytecode for the whole virtualenv. unchecked-hash: the .pyc files stay valid after the copy to the
# final stage whatever the files' timestamps, so Python never needs to write one at start.
# Last, the image's command at a fixed path, so that the final CMD needs no shell and no ARG:
# sportsfeed-service replaces itself (exec) with `python -m sportsfeed_<service>.main`, which thus
# runs as PID 1 and gets SIGTERM directly.
COPY services/common/src services/common/src
COPY services/${SERVICE}/src services/${SERVICE}/src
RUN uv sync --frozen --no-dev --no-editable --package "sportsfeed-${SERVICE}" \
 && python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/sportsfeed/venv \
 && module="$(python -c 'import sys; print("sportsfeed_" + sys.argv[1].replace("-", "_") + ".main")' "${SERVICE}")" \
 && printf '%s\n' '#!/opt/sportsfeed/venv/bin/python' \
      "# The image's command: exec python -m ${module} (docs/images.md)." \
      'import os, sys' \
      "os.execv(sys.executable, [sys.executable, '-m', '${module}', *sys.argv[1:]])" \
      > /opt/sportsfeed/venv/bin/sportsfeed-service \
 && chmod 0755 /opt/sportsfeed/venv/bin/sportsfeed-service \
 && /opt/sportsfeed/venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('${module}') is None)"

# ---- dashboard: the page's npm packages, exactly as its package-lock.json pins them (push-gateway only)
FROM node:20.20.2-bookworm-slim AS dashboard
WORKDIR /dashboard
COPY services/push-gateway/dashboard/package.json services/push-gateway/dashboard/package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime: the virtualenv on a clean slim Python, run by an unprivileged numeric user
FROM python:3.11.14-slim-bookworm AS runtime

# User and group 10001 (the charts' runAsUser/runAsGroup): no login shell, no home directory, and
# nothing in the image it can write. The official image ships the standard library without
# bytecode; compiling it here spares every start from compiling it again in memory. (No ARG is
# declared before this step, so the four images share its layer.)
RUN groupadd --system --gid 10001 sportsfeed \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin sportsfeed \
 && python -m compileall -q -j 0 -x '/(site-packages|test|tests|idlelib|tkinter|turtledemo|lib2to3|ensurepip)/' \
      /usr/local/lib/python3.11

ARG SERVICE
ARG PORT
# The version is the four packages' (tests/k8s/test_dockerfiles.py checks that each has it).
LABEL org.opencontainers.image.title="sportsfeed-${SERVICE}" \
      org.opencontainers.image.description="sportsfeed ${SERVICE}: one of the four sportsfeed services (docs/images.md)" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-bookworm"

COPY --from=builder /opt/sportsfeed/venv /opt/sportsfeed/venv

# The root filesystem is read-only in Kubernetes: no bytecode writes, and HOME is /tmp (an emptyDir).
# DATA_DIR is faust's working folder (persistence and stream-processor; the others ignore it), so it
# lives under /tmp too. One level below /tmp: faust creates that folder but not missing parents.
# faust fills in {conf.id}, the consumer group.
ENV PATH="/opt/sportsfeed/venv/bin:${PATH}" \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    DATA_DIR="/tmp/sportsfeed-{conf.id}"

USER 10001:10001
EXPOSE ${PORT}
# No HEALTHCHECK: Kubernetes probes GET /healthz and /readyz on this port.
CMD ["/opt/sportsfeed/venv/bin/sportsfeed-service"]

# ---- push-gateway (--target push-gateway): the runtime plus the analysts' dashboard: its own files
# (static ES modules, no build step), and from uPlot only what the page loads, which the gateway
# serves as /vendor/ from node_modules/uplot/dist, plus uPlot's licence.
FROM runtime AS push-gateway
COPY services/push-gateway/dashboard/ /opt/sportsfeed/dashboard/
COPY --from=dashboard /dashboard/node_modules/uplot/LICENSE /opt/sportsfeed/dashboard/node_modules/uplot/
COPY --from=dashboard /dashboard/node_modules/uplot/dist/uPlot.iife.min.js \
     /dashboard/node_modules/uplot/dist/uPlot.min.css \
     /opt/sportsfeed/dashboard/node_modules/uplot/dist/
ENV DASHBOARD_DIR=/opt/sportsfeed/dashboard

# ---- service (the default target): ingest, persistence and stream-processor, the runtime as it is.
# The gateway without its dashboard would be incomplete: it is refused here.
FROM runtime AS service
ARG SERVICE
RUN if [ "${SERVICE}" = push-gateway ]; then echo "build push-gateway with --target push-gateway" >&2; exit 1; fi
