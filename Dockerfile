# One image for every node of the lab network (see docker-compose.yml): the
# node's role is chosen by its command, `protolab node-init NODE`.
#
#   docker compose build && docker compose up -d
#
# BASE is any Debian bookworm image; CI passes one it builds itself with
# debootstrap (scripts/podman/build-images), since it reaches no image registry.
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
# editing the code does not reinstall them.
COPY pyproject.toml /src/protolab/
RUN python3 -m venv /opt/protolab \
 && python3 -c "import tomllib; print(*tomllib.load(open('/src/protolab/pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > /tmp/requirements.txt \
 && /opt/protolab/bin/pip install -q --no-cache-dir --disable-pip-version-check -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# protolab itself and the labs.
COPY README.md /src/protolab/
COPY protolab /src/protolab/protolab
RUN /opt/protolab/bin/pip install -q --no-cache-dir --disable-pip-version-check --no-deps /src/protolab \
 && rm -rf /src/protolab
COPY labs /srv/protolab/labs

ENV PATH=/opt/protolab/bin:$PATH \
    PROTOLAB_LABS=/srv/protolab/labs \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /srv/protolab
CMD ["protolab", "node-init", "--help"]
