#!/usr/bin/env bash
# Installs the system packages the test suite needs (real PostgreSQL, MariaDB and Chromium), only
# when they are missing. Debian/Ubuntu with apt, as root; elsewhere it says what to install.
set -euo pipefail
need=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v mariadbd >/dev/null 2>&1 || need+=(mariadb-server)
{ [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; } || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "missing system packages: ${need[*]} (install them, or set TEST_PG_URL / TEST_MYSQL_URL / CHROMIUM_PATH)" >&2
  exit 1
fi
echo "installing ${need[*]} …" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
