#!/usr/bin/env bash
# Makes sure the Docker engine is running and Chromium is installed, as the tests need both.
# As root on Debian/Ubuntu it installs what is missing (docker.io, chromium); otherwise it says what to install.
set -euo pipefail

need_install=()
command -v dockerd >/dev/null 2>&1 || need_install+=(docker.io)
[ -x /usr/bin/chromium ] || command -v chromium >/dev/null 2>&1 || need_install+=(chromium)
# the NAT test builds network namespaces and iptables NAT rules
command -v ip >/dev/null 2>&1 || need_install+=(iproute2)
command -v iptables >/dev/null 2>&1 || need_install+=(iptables)

if [ ${#need_install[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing ${need_install[*]} from the Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need_install[@]}" ca-certificates >/dev/null
  else
    echo "Missing: ${need_install[*]}. Install them (Debian/Ubuntu: sudo apt-get install ${need_install[*]}) and run again." >&2
    exit 1
  fi
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ]; then
    echo "==> starting dockerd"
    (setsid dockerd >/tmp/meshwork-dockerd.log 2>&1 &)
    for _ in $(seq 1 60); do
      docker info >/dev/null 2>&1 && break
      sleep 1
    done
    docker info >/dev/null 2>&1 || { echo "dockerd did not come up; see /tmp/meshwork-dockerd.log" >&2; tail -20 /tmp/meshwork-dockerd.log >&2; exit 1; }
  else
    echo "The Docker engine is not running and this user cannot start it: start it (sudo systemctl start docker) or add yourself to the docker group." >&2
    exit 1
  fi
fi
echo "==> docker $(docker version --format '{{.Server.Version}}'), $(/usr/bin/chromium --version 2>/dev/null || chromium --version)"
