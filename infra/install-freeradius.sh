#!/usr/bin/env bash
# Install Debian's FreeRADIUS server with its PostgreSQL module (packages freeradius,
# freeradius-postgresql, freeradius-utils) when it is missing, and keep the packaged
# service stopped and disabled (tests and benches start their own freeradius on ports
# of their own). The FreeRADIUS SQL export test (tests/integration/platform/provisioning/
# radius_sql/test_freeradius.py) runs this before it needs it, so the README's test
# command works on a new machine. Idempotent; exit 1 if it cannot install.
set -u
if [ -x /usr/sbin/freeradius ] && [ -x /usr/bin/radclient ] \
    && ls /usr/lib/freeradius/rlm_sql_postgresql.so >/dev/null 2>&1; then
    echo /usr/sbin/freeradius
    exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); fi
apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        freeradius freeradius-postgresql freeradius-utils >/dev/null
}
if apt_install 2>/dev/null || { "${sudo[@]}" apt-get update -qq >/dev/null && apt_install; }; then
    if command -v systemctl >/dev/null 2>&1; then
        "${sudo[@]}" systemctl stop freeradius >/dev/null 2>&1 || true
        "${sudo[@]}" systemctl disable freeradius >/dev/null 2>&1 || true
    fi
    echo /usr/sbin/freeradius
    exit 0
fi
echo "could not install freeradius (apt-get install -y freeradius freeradius-postgresql freeradius-utils)" >&2
exit 1
