# One image for every node of the lab network (see docker-compose.yml): the
# node's role is chosen by its command, `protolab-node NODE`.
#
#   docker compose build && docker compose up -d
#
# BASE is any Debian bookworm image; CI passes one it builds itself with
# debootstrap (scripts/containers/build-images), since it reaches no image registry.
# Needs BuildKit (Docker 23 and newer, Compose v2, podman; with Debian's
# docker.io and docker-compose v1: DOCKER_BUILDKIT=1 COMPOSE_DOCKER_CLI_BUILD=1).
ARG BASE=debian:bookworm-slim
FROM ${BASE}

# The system layer: Python, the tools labs drive, and the real servers.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      python3 python3-venv \
      iproute2 nftables tcpdump bind9-dnsutils util-linux procps \
      nginx-light nsd unbound dnsmasq-base \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log

# protolab's Python dependencies, read from pyproject.toml, in their own layer:
# editing the code does not reinstall them. Where pip needs settings of the
# build machine (an index, a CA bundle), they come in as build secrets
# `pip-conf` (a pip.conf) and `pip-ca`: mounted for this step only, never in
# the image. Without them pip uses its defaults. (The second pip step
# fetches the build backend.)
COPY pyproject.toml /src/protolab/
RUN --mount=type=secret,id=pip-conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip-ca \
    python3 -m venv /opt/protolab \
 && python3 -c "import tomllib; print(*tomllib.load(open('/src/protolab/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
 && /opt/protolab/bin/pip install -q --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# protolab itself and the labs.
COPY README.md /src/protolab/
COPY protolab /src/protolab/protolab
RUN --mount=type=secret,id=pip-conf,target=/etc/pip.conf \
    --mount=type=secret,id=pip-ca \
    /opt/protolab/bin/pip install -q --no-cache-dir --disable-pip-version-check --no-deps /src/protolab \
 && rm -rf /src/protolab
COPY labs /srv/protolab/labs

ENV PATH=/opt/protolab/bin:$PATH \
    PROTOLAB_LABS=/srv/protolab/labs \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /srv/protolab
CMD ["protolab-node", "--help"]
