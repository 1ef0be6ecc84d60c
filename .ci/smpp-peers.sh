#!/usr/bin/env bash
# Installs the SMPP peers the tests of crates/chanrac-smpp/tests/peers.rs run against:
# python-smpplib and smpp34 (PyPI) in .venv-ci/, and Kannel (Debian's kannel package).
# Idempotent and non-interactive: safe to run again, works with CI=true and no stdin.
set -euo pipefail
cd "$(dirname "$0")/.."

PY_PEERS=(smpplib==2.2.4 smpp34==1.5.0)

if ! .venv-ci/bin/python -c "import smpplib, smpp34" 2>/dev/null; then
  echo "== installing ${PY_PEERS[*]} into .venv-ci"
  python3 -m venv .venv-ci
  .venv-ci/bin/pip install --quiet --disable-pip-version-check "${PY_PEERS[@]}"
fi

if ! command -v bearerbox >/dev/null 2>&1 && [ ! -x /usr/sbin/bearerbox ]; then
  echo "== installing kannel"
  SUDO=""
  if [ "$(id -u)" != 0 ]; then SUDO="sudo -n"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq </dev/null
  $SUDO apt-get install -y -qq kannel </dev/null >/dev/null
fi
# The package starts its own bearerbox as a service; the tests run their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop kannel 2>/dev/null || true; fi
service kannel stop >/dev/null 2>&1 || true

.venv-ci/bin/python -c "from importlib.metadata import version as v; print('smpp peers: smpplib', v('smpplib'), 'smpp34', v('smpp34'))"
test -x /usr/sbin/bearerbox && test -x /usr/sbin/smsbox && echo "smpp peers: kannel $(dpkg-query -W -f='${Version}' kannel 2>/dev/null)"
