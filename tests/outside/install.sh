#!/usr/bin/env bash
# Installs the outside clients used by tests/tests/outside_clients.rs into a cache directory:
#   python: a venv with beem 0.24.26 and its pinned dependencies (requirements.txt, PyPI)
#   node:   @hiveio/dhive 1.3.6 and its locked dependencies (package-lock.json, npm registry)
#
# Usage: bash tests/outside/install.sh python|node|all [CACHE]
#   CACHE defaults to ${CARGO_TARGET_DIR:-<workspace>/target}/outside-clients.
#
# An install whose stamp file matches (same requirements/lock and same python/node version) is
# reused without touching the network. Exit status: 0 ready; 3 the registry cannot be reached
# (one "outside clients: ..." line and the client's last lines on stderr); anything else is a
# real failure (the client's whole log on stderr). Both .ci/run and the tests call this script,
# so there is one install procedure.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
workspace="$(cd "$here/../.." && pwd)"
component="${1:-all}"
cache="${2:-${CARGO_TARGET_DIR:-$workspace/target}/outside-clients}"
mkdir -p "$cache"

# Text that only a failure to reach the registry produces (DNS, refused, unreachable, timeout).
pip_offline='NewConnectionError|Failed to establish a new connection|Temporary failure in name resolution|Name or service not known|Network is unreachable|No route to host|Connection refused|ConnectTimeout|Read timed out|ProxyError|Max retries exceeded'
npm_offline='ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|ENETUNREACH|EHOSTUNREACH|ESOCKETTIMEDOUT|network request to .* failed|request to .* failed, reason'

unreachable() { # registry log pattern
  echo "outside clients: SKIPPED: the $1 registry cannot be reached, nothing installed; the client said:" >&2
  grep -Em 3 "$3" "$2" >&2 || true
  exit 3
}

failed() { # what log
  echo "outside clients: $1 failed:" >&2
  cat "$2" >&2
  exit 1
}

install_python() {
  local venv="$cache/venv" log="$cache/pip.log" want
  want="$(python3 --version 2>&1)"$'\n'"$(cat "$here/requirements.txt")"
  if [[ -f "$venv/.vwf-installed" && "$(cat "$venv/.vwf-installed")" == "$want" ]]; then
    echo "outside clients: beem venv up to date ($venv)"
    return
  fi
  rm -rf "$venv"
  python3 -m venv "$venv" >"$log" 2>&1 || failed "python3 -m venv" "$log"
  if ! "$venv/bin/python" -m pip install --disable-pip-version-check --no-input \
      --timeout 20 --retries 1 -r "$here/requirements.txt" >>"$log" 2>&1; then
    if grep -Eq "$pip_offline" "$log"; then unreachable PyPI "$log" "$pip_offline"; fi
    failed "pip install -r tests/outside/requirements.txt" "$log"
  fi
  printf '%s' "$want" >"$venv/.vwf-installed"
  echo "outside clients: installed beem $("$venv/bin/python" -c 'import beem; print(beem.__version__)') into $venv"
}

install_node() {
  local modules="$cache/node_modules" log="$cache/npm.log" want
  want="$(node --version 2>&1)"$'\n'"$(cat "$here/package-lock.json")"
  if [[ -f "$modules/.vwf-installed" && "$(cat "$modules/.vwf-installed")" == "$want" ]]; then
    echo "outside clients: dhive node_modules up to date ($modules)"
    return
  fi
  rm -rf "$modules"
  cp "$here/package.json" "$here/package-lock.json" "$cache/"
  # --ignore-scripts: secp256k1's optional native build would fetch node headers from outside
  # the registry; without it secp256k1 uses its bundled pure-JS implementation (elliptic).
  if ! npm ci --prefix "$cache" --ignore-scripts --no-audit --no-fund \
      --fetch-timeout=20000 --fetch-retries=1 >"$log" 2>&1; then
    if grep -Eq "$npm_offline" "$log"; then unreachable npm "$log" "$npm_offline"; fi
    failed "npm ci (tests/outside/package-lock.json)" "$log"
  fi
  printf '%s' "$want" >"$modules/.vwf-installed"
  echo "outside clients: installed @hiveio/dhive $(node -p "require('$modules/@hiveio/dhive/package.json').version") into $modules"
}

case "$component" in
  python) install_python ;;
  node) install_node ;;
  all)
    # Both are tried; a real failure wins over an unreachable registry.
    py=0 js=0
    (install_python) || py=$?
    (install_node) || js=$?
    for status in "$py" "$js"; do
      if [[ "$status" -ne 0 && "$status" -ne 3 ]]; then exit "$status"; fi
    done
    if [[ "$py" -eq 3 || "$js" -eq 3 ]]; then exit 3; fi
    ;;
  *) echo "usage: install.sh python|node|all [CACHE]" >&2; exit 2 ;;
esac
