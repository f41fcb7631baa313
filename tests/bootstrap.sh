#!/usr/bin/env bash
# Set up everything Kentongan needs on a fresh Debian machine, then run the demo or the tests.
#   bash tests/bootstrap.sh demo   - the whole network on this machine
#   bash tests/bootstrap.sh test   - ruff, mypy --strict and the full pytest suite
# Safe to run again: apt and pip steps are skipped when already satisfied.
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
cd "$here"
mode="${1:-test}"
shift || true

need_apt=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need_apt+=(mosquitto)
command -v mosquitto_pub >/dev/null 2>&1 || need_apt+=(mosquitto-clients)
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v victoria-metrics >/dev/null 2>&1 || need_apt+=(victoria-metrics)
command -v influxd >/dev/null 2>&1 || need_apt+=(influxdb)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v docker-compose >/dev/null 2>&1 || need_apt+=(docker-compose)
command -v caddy >/dev/null 2>&1 || need_apt+=(caddy)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt+=(postgresql)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "==> installing Debian packages: ${need_apt[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}"
fi
# The distribution's broker would hold port 1883 and our tests pick free ports anyway;
# it is not stopped here. Nor is the PostgreSQL cluster Debian's package starts on 5432:
# the tests run a private cluster of their own on a free port. Debian's caddy service would
# serve a placeholder page on port 80; the tests run their own caddy, so it is switched off.
if [[ " ${need_apt[*]} " == *" caddy "* ]] && command -v systemctl >/dev/null 2>&1; then
  $sudo_cmd systemctl disable --now caddy.service >/dev/null 2>&1 || true
fi

venv="$here/.venv"
[ -x "$venv/bin/python" ] || { echo "==> creating $venv"; python3 -m venv "$venv"; }
stamp="$venv/.kentongan-installed"
want="$(cat tests/requirements-dev.txt tests/testkit/pyproject.toml protocol/pyproject.toml edge/pyproject.toml cloud/pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing Python packages into $venv"
  "$venv/bin/python" -m pip install -q --upgrade pip
  "$venv/bin/python" -m pip install -q -r tests/requirements-dev.txt
  echo "$want" > "$stamp"
fi
export PATH="$venv/bin:$PATH"

case "$mode" in
  test)
    echo "==> ruff"
    ruff check .
    ruff format --check .
    echo "==> mypy --strict"
    mypy
    echo "==> pytest"
    exec pytest "$@"
    ;;
  demo)
    exec kentongan-demo "$@"
    ;;
  *)
    echo "usage: bash tests/bootstrap.sh [test|demo] [args...]" >&2
    exit 64
    ;;
esac
