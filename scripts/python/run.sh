#!/usr/bin/env bash
# The Python step of CI (issue #24): Microsoft's Python Key Vault client, unmodified, against the
# local vault, every method of SecretClient, challenge-resource verification on.
#
# PyPI cannot be reached from CI, so the client comes from Debian: sid's python3-azure (a snapshot
# of azure-sdk-for-python: azure-keyvault-secrets 4.11, azure-identity 1.26, azure-core 1.41) with
# python3-msal, python3-msal-extensions, python3-isodate and python3-typing-extensions, all pure
# Python. They are fetched with a private apt directory (the system's sources are not touched),
# unpacked, and their modules copied into a cached folder put on PYTHONPATH. The modules with
# compiled parts (cryptography) and requests come from the machine's own Debian release with
# apt-get, for Debian's /usr/bin/python3, the interpreter they are built for.
#
# Idempotent: the cache (.ci/cache/python, or $CI_CACHE_DIR/python) is reused when complete.
# Runs as root on a clean Debian machine with access to the Debian archive.
#
#   scripts/python/run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
CACHE="${CI_CACHE_DIR:-$ROOT/.ci/cache}/python"
SITE="$CACHE/site"
PYTHON=/usr/bin/python3
# The packages whose modules are copied, and what is copied from each.
SID_PACKAGES=(python3-azure python3-msal python3-msal-extensions python3-isodate python3-typing-extensions)
MODULES=(azure/__init__.py azure/core azure/identity azure/keyvault/secrets msal msal_extensions
  isodate typing_extensions.py)

log() { printf '[python] %s\n' "$*"; }

# Debian's python3 with the compiled modules the client needs, from the machine's release.
system_packages() {
  if [[ -x "$PYTHON" ]] && "$PYTHON" -c 'import requests, cryptography, jwt' 2>/dev/null; then
    return
  fi
  log "installing python3, requests, cryptography, PyJWT from the machine's Debian release"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    python3 python3-requests python3-cryptography python3-jwt
}

# sid's pure-Python packages, unpacked into $SITE once.
sid_modules() {
  if [[ -f "$SITE/.complete" ]]; then
    log "reusing $SITE ($(cat "$SITE/.complete"))"
    return
  fi
  local apt="$CACHE/apt" debs="$CACHE/debs" unpacked="$CACHE/unpacked"
  rm -rf "$SITE" "$debs" "$unpacked"
  mkdir -p "$apt/parts" "$apt/lists/partial" "$apt/cache/archives/partial" "$debs" "$unpacked" "$SITE"
  cat >"$apt/parts/sid.sources" <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  local options=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$apt/parts"
    -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)
  log "fetching ${SID_PACKAGES[*]} from sid (private apt directory $apt)"
  apt-get "${options[@]}" update
  (cd "$debs" && apt-get "${options[@]}" download "${SID_PACKAGES[@]}")
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$unpacked"; done
  local dist="$unpacked/usr/lib/python3/dist-packages"
  for module in "${MODULES[@]}"; do
    mkdir -p "$SITE/$(dirname "$module")"
    cp -r "$dist/$module" "$SITE/$module"
  done
  # Package metadata, for importlib.metadata lookups.
  cp -r "$dist"/azure_core-*.dist-info "$dist"/azure_identity-*.dist-info \
    "$dist"/azure_keyvault_secrets-*.dist-info "$dist"/isodate-*.dist-info \
    "$dist"/typing_extensions-*.dist-info "$dist"/msal-*.egg-info \
    "$dist"/msal_extensions-*.egg-info "$SITE/"
  rm -rf "$debs" "$unpacked"
  (cd "$SITE" && ls -d ./*.dist-info ./*.egg-info | sed 's|^\./||' | tr '\n' ' ') >"$SITE/.complete"
  log "modules ready in $SITE"
}

# Starts the local vault (HTTPS, strict tokens, answering to myvault.localhost) and runs the check.
WORK=""
VAULT_PID=""
cleanup() {
  if [[ -n "$VAULT_PID" ]]; then kill "$VAULT_PID" 2>/dev/null || true; fi
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# The value of a variable in the local vault's start banner (`  export NAME=value`), if printed yet.
banner_value() {
  sed -n "s/^  export $1=//p" "$2" 2>/dev/null
}

run_check() {
  if [[ ! -f "$ROOT/dist/esm/emulator/bin.js" ]]; then npm run build; fi
  WORK=$(mktemp -d)
  local work="$WORK" out="$WORK/vault.out"
  (cd "$work" && exec node "$ROOT/dist/esm/emulator/bin.js" --port 0 --https --strict-auth \
    --hostname myvault.localhost --delay-ms 20 --restore-conflict-after-purge-ms 0) >"$out" 2>&1 &
  VAULT_PID=$!
  local tries=0
  until [[ -n "$(banner_value IDENTITY_HEADER "$out")" ]]; do
    if ! kill -0 "$VAULT_PID" 2>/dev/null || ((tries++ > 300)); then
      cat "$out" >&2
      log "the local vault did not start"
      return 1
    fi
    sleep 0.1
  done
  local url port
  url=$(banner_value KEYVAULT_URI "$out")
  port=${url##*:}
  log "local vault at $url, reached as https://myvault.localhost:$port"
  VAULT_URL="https://myvault.localhost:$port" \
    IDENTITY_ENDPOINT="$(banner_value IDENTITY_ENDPOINT "$out")" \
    IDENTITY_HEADER="$(banner_value IDENTITY_HEADER "$out")" \
    REQUESTS_CA_BUNDLE="$work/keyvault-emulator-ca.pem" \
    PYTHONPATH="$SITE" PYTHONDONTWRITEBYTECODE=1 \
    "$PYTHON" "$ROOT/scripts/python/secret_client_check.py"
}

system_packages
sid_modules
run_check
