#!/usr/bin/env bash
# Installs what is missing for `npm start` (server) or `npm test` (test): npm packages, and for tests
# Debian's chromium, firefox-esr, nats-server (cluster control-plane tests) and prometheus (dashboard test). Idempotent and quiet when everything is there.
set -euo pipefail
cd "$(dirname "$0")/.."
want="${1:-server}"

node_major=$(node -p 'process.versions.node.split(".")[0]')
node_minor=$(node -p 'process.versions.node.split(".")[1]')
if [ "$node_major" -lt 20 ] || { [ "$node_major" -eq 20 ] && [ "$node_minor" -lt 6 ]; }; then
  echo "proxima: Node.js >= 20.6 is required (found $(node --version))" >&2
  exit 1
fi

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "proxima: installing npm packages…" >&2
  # better-sqlite3 (the recorder's storage) compiles against Node's own headers when they are on the machine
  # (Debian's nodejs ships them) instead of downloading them.
  if [ -z "${npm_config_nodedir:-}" ] && [ "$(npm config get nodedir 2>/dev/null)" = "undefined" ] && [ -f /usr/include/node/node.h ] && [ "$(command -v node)" = /usr/bin/node ]; then
    export npm_config_nodedir=/usr
  fi
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

apt_install() {
  # $@: Debian packages. As root we install them; otherwise we say exactly what is missing.
  if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "proxima: installing Debian packages: $*" >&2
    if [ ! -f /var/lib/apt/periodic/proxima-updated ] || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
      apt-get update -qq >&2
      mkdir -p /var/lib/apt/periodic && touch /var/lib/apt/periodic/proxima-updated
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
  else
    echo "proxima: missing Debian packages: $* — install them with: sudo apt-get install $*" >&2
    exit 1
  fi
}

# test: browsers, namespaces, media encoding, the Janus peer and NATS (cluster mode: a real nats-server, with
# JetStream, is started per test); loadgen: media encoding; bench: all of them.
missing=()
case "$want" in
  test | bench)
    [ -x "${PROXIMA_CHROMIUM:-/usr/bin/chromium}" ] || missing+=(chromium)
    command -v ip >/dev/null || missing+=(iproute2)
    command -v ffmpeg >/dev/null || missing+=(ffmpeg)
    command -v janus >/dev/null || missing+=(janus)
    command -v "${PROXIMA_NATS_SERVER:-nats-server}" >/dev/null || missing+=(nats-server)
    # Reach tests: a firewall inside a network namespace (nft) and a real TURN server (coturn).
    command -v nft >/dev/null || missing+=(nftables)
    command -v "${PROXIMA_TURNSERVER:-turnserver}" >/dev/null || missing+=(coturn)
    ;;
  loadgen)
    command -v ffmpeg >/dev/null || missing+=(ffmpeg)
    ;;
esac
# The second browser engine runs in the e2e tests only, not in the benchmarks.
if [ "$want" = test ] && [ ! -x "${PROXIMA_FIREFOX:-/usr/bin/firefox-esr}" ]; then missing+=(firefox-esr); fi
# The shipped Grafana dashboard's queries are checked against a real Prometheus scraping the server.
if [ "$want" = test ] && ! command -v "${PROXIMA_PROMETHEUS:-prometheus}" >/dev/null; then missing+=(prometheus); fi
if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
