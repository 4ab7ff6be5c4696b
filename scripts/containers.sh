#!/usr/bin/env bash
# Container runtimes for conveyor's container executors and their tests, on Debian 12,
# as ../shared/notes/containers.md found they work on these machines:
#  - podman (with runc, cgroupfs and nofile ulimits this host allows), Debian's
#    docker-registry and apache2-utils (htpasswd), docker.io (engine started by the tests);
#  - an offline Debian base image (mmdebstrap; the tarball is cached between runs);
#  - local stand-ins tagged with the names Argo's examples use (busybox, alpine:3.23,
#    python:alpine3.23, argoproj/argosay:v2, ...), since no public registry is reachable.
# Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

CACHE=${CONVEYOR_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/conveyor}
BASE=localhost/conveyor/base:bookworm
STANDINS=localhost/conveyor/standins:latest
TAGS=(docker.io/library/busybox:latest docker.io/library/alpine:3.23 docker.io/library/alpine:latest
      docker.io/library/python:alpine3.23 docker.io/library/python:3.11 docker.io/library/python:3.11-slim
      docker.io/library/debian:latest docker.io/library/ubuntu:latest
      docker.io/library/debian:9.1 docker.io/library/debian:8.9 docker.io/library/alpine:3.6 docker.io/library/ubuntu:17.10 docker.io/library/influxdb:1.2 docker.io/library/nginx:1.13
      docker.io/docker/whalesay:latest docker.io/library/bash:5)
#: argosay's image runs /argosay when a template names no command
ARGOSAY_TAGS=(docker.io/argoproj/argosay:v2 docker.io/argoproj/argosay:v1)

say() { echo "containers: $*"; }

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  say "not root on a Debian machine: skipping (container tests will say why they are skipped)" >&2
  exit 0
fi

need=()
for tool in podman:podman runc:runc docker-registry:docker-registry mmdebstrap:mmdebstrap htpasswd:apache2-utils \
            skopeo:skopeo dockerd:docker.io; do
  command -v "${tool%%:*}" >/dev/null 2>&1 || need+=("${tool#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${need[@]}" >/dev/null
fi

conf=/etc/containers/containers.conf
if ! grep -q "conveyor" "$conf" 2>/dev/null; then
  say "configuring podman for this host ($conf): runc, cgroupfs, nofile ulimit within the hard limit"
  mkdir -p /etc/containers
  [ -f "$conf" ] && cp "$conf" "$conf.before-conveyor"
  cat > "$conf" <<'CONF'
# written by conveyor's scripts/containers.sh: crun and high nofile limits fail on these hosts
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
fi

if ! podman image exists "$BASE"; then
  mkdir -p "$CACHE"
  tarball="$CACHE/base-bookworm.tar"
  if [ ! -s "$tarball" ]; then
    say "building the offline base image root with mmdebstrap (about 30 s, cached in $CACHE)"
    mmdebstrap --quiet --format=tar --variant=minbase --include=python3,python3-venv,busybox,jq,curl,ca-certificates \
      bookworm "$tarball.part" >/dev/null
    mv "$tarball.part" "$tarball"
  fi
  say "importing $BASE"
  podman import --quiet --change 'CMD ["sh"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$BASE" >/dev/null
fi

stamp=$(cat scripts/containers.sh scripts/images/standins.Containerfile tests/standins/* | sha256sum | cut -c1-16)
have=$(podman image inspect --format '{{ index .Labels "dev.conveyor.standins" }}' "$STANDINS" 2>/dev/null || true)
if [ "$have" != "$stamp" ]; then
  say "building stand-in images for Argo's example images ($STANDINS)"
  podman build --quiet --network=none --build-arg STAMP="$stamp" -f scripts/images/standins.Containerfile \
    -t "$STANDINS" tests/standins >/dev/null
  for tag in "${TAGS[@]}"; do podman tag "$STANDINS" "$tag"; done
  printf 'FROM %s\nENTRYPOINT ["/argosay"]\nCMD []\n' "$STANDINS" |
    podman build --quiet --network=none -t "${ARGOSAY_TAGS[0]}" -f - tests/standins >/dev/null
  for tag in "${ARGOSAY_TAGS[@]:1}"; do podman tag "${ARGOSAY_TAGS[0]}" "$tag"; done
fi
say "ready: $(podman --version), images: $BASE, $STANDINS (+$(( ${#TAGS[@]} + ${#ARGOSAY_TAGS[@]} )) stand-in tags)"
