#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those that are missing:
#   postgresql    (escalation store and tracker store on a real PostgreSQL server)
#   redis-server  (the lock store of several replicas, and its outage)
#   nginx         (make cluster and the cluster soak test: one entry point, load balancing)
#   chromium, fonts-liberation  (browser tests of the web widget, Playwright drives Chromium)
# Run as root (CI and the development machines are); prints what it does.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null 2>&1 || missing+=(nginx)
[[ -x /usr/bin/chromium ]] || missing+=(chromium)
[[ -d /usr/share/fonts/truetype/liberation ]] || missing+=(fonts-liberation)

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "Missing Debian packages: ${missing[*]} (run as root: apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
