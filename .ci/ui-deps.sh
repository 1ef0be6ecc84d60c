#!/usr/bin/env bash
# Installs what the dashboard's browser test (crates/chanrac/tests/dashboard.rs) runs with:
# Chromium (Debian's chromium package) and playwright-core (npm, pinned in .ci/ui/package.json
# and package-lock.json) into .ci/ui/node_modules, which is not committed.
# Idempotent and non-interactive: safe to run again, works with CI=true and no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] && [ ! -x /usr/bin/chromium-browser ]; then
  echo "== installing chromium"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  # fonts-noto-core: the Vietnamese letters in the screenshots.
  $SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=600 chromium fonts-noto-core </dev/null >/dev/null
fi

if ! command -v node >/dev/null 2>&1; then
  echo "node is required (Debian: apt-get install nodejs npm)" >&2
  exit 1
fi

if [ ! -f .ci/ui/node_modules/playwright-core/package.json ]; then
  echo "== installing playwright-core into .ci/ui/node_modules"
  (cd .ci/ui && npm ci --no-audit --no-fund --loglevel=error </dev/null)
fi

echo "ui test tools: $(/usr/bin/chromium --version 2>/dev/null || chromium-browser --version), node $(node --version), playwright-core $(node -p "require('./.ci/ui/node_modules/playwright-core/package.json').version")"
