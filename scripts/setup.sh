#!/usr/bin/env bash
# Everything a fresh Debian 12 machine needs to run and test conveyor.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
command -v jq >/dev/null 2>&1 || need_apt+=(jq)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
# the web UI's browser tests drive Debian's Chromium (Playwright cannot download its own here)
[ -x /usr/bin/chromium ] || need_apt+=(chromium)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: ${need_apt[*]} not installed and not root: tasks run without bubblewrap (paths remapped, partial isolation)" >&2
  fi
fi

if ! python3 -c "import conveyor, hera, pytest, hypothesis, playwright" >/dev/null 2>&1 || [ pyproject.toml -nt .setup-done ]; then
  echo "setup: installing conveyor and its test dependencies (pip)"
  python3 -m pip install -q --disable-pip-version-check -e '.[test]'
  touch .setup-done
fi

# Container runtimes (podman configured for this host, docker-registry) and offline stand-in
# images; skipped when not root. CONVEYOR_SKIP_CONTAINERS=1 skips it (tasks then run as processes).
if [ "${CONVEYOR_SKIP_CONTAINERS:-0}" != 1 ]; then
  bash scripts/containers.sh
fi
