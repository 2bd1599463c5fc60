#!/usr/bin/env bash
# Installs and starts what the test suite needs beyond npm packages, on a Debian machine
# (idempotent; safe to run again). Needs root for apt-get.
set -euo pipefail

# rsyslog and its GnuTLS netstream driver: the syslog emitter tests run a real rsyslogd.
packages=(librdkafka-dev kcat openssl rsyslog rsyslog-gnutls)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# PostgreSQL at 127.0.0.1:5432 (trust auth) for the audit-store and lease-table tests.
if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "setup: starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi
pg_isready -h 127.0.0.1 -p 5432
