#!/usr/bin/env bash
# One-command set-up for a fresh Debian/Ubuntu machine with Python 3.11 and pip.
#   bash scripts/bootstrap.sh run    install everything, then run the main job (the default sweep)
#   bash scripts/bootstrap.sh test   install everything, then run the test suite
# Installs Debian packages with apt-get when run as root (else says what is missing),
# creates .venv/ beside this repo and installs berth with the pinned constraints.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-}"
case "$mode" in run|test|install) ;; *) echo "usage: bash scripts/bootstrap.sh {run|test|install}" >&2; exit 2 ;; esac

APT_PACKAGES=(g++ make perl iverilog yosys nextpnr-ice40)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "bootstrap: not root; install these Debian packages for the hardware tests: ${missing[*]}" >&2
  fi
fi

PY="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ] && ! "$PY" -m venv .venv; then
  # Debian's python3 ships venv without ensurepip unless python3-venv is installed.
  rm -rf .venv
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    "$PY" -m venv .venv
  else
    echo "bootstrap: '$PY -m venv' failed; install python3-venv (apt-get install python3-venv)" >&2
    exit 1
  fi
fi
.venv/bin/pip install -q --disable-pip-version-check -c constraints.txt -e ".[test]"

case "$mode" in
  run)  exec .venv/bin/berth sweep ;;
  # One worker per core; a test module stays on one worker (tests/conftest.py).
  test) exec .venv/bin/python -m pytest -n auto --dist loadfile ;;
  install) echo "bootstrap: installed; activate with 'source .venv/bin/activate'" ;;
esac
