#!/usr/bin/env bash
# Install Debian's OpenLDAP server (slapd) and ldap-utils when slapd is missing: the LDAP
# export tests (tests/integration/platform/provisioning/ldap/) run this before they start
# a private slapd of their own, so the README's test command works on a new machine.
# The packaged service is stopped and disabled afterwards: the tests never use it, and it
# would otherwise hold port 389 with a directory nobody configured. Idempotent;
# `apt-get update` only runs when the install fails without it (an empty or stale package
# list). Exit 1 if it cannot.
set -u
SLAPD=/usr/sbin/slapd
if [ -x "$SLAPD" ]; then
    echo "$SLAPD"
    exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); fi
apt_install() {
    # debconf's questions (domain, admin password) are answered with defaults; the tests
    # write their own slapd.conf and never read the packaged configuration.
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slapd ldap-utils >/dev/null
}
if apt_install 2>/dev/null || { "${sudo[@]}" apt-get update -qq >/dev/null && apt_install; }; then
    # Without systemd (a container) these fail harmlessly; the init script then stops it.
    "${sudo[@]}" systemctl disable --now slapd >/dev/null 2>&1 \
        || "${sudo[@]}" service slapd stop >/dev/null 2>&1 \
        || true
    if [ -x "$SLAPD" ]; then
        echo "$SLAPD"
        exit 0
    fi
fi
echo "could not install slapd (apt-get install -y --no-install-recommends slapd ldap-utils)" >&2
exit 1
