#!/usr/bin/env bash
# Install Debian's radclient (package freeradius-utils) when it is missing: the RADIUS
# interoperability test (tests/e2e/test_radclient.py) runs this before it needs it, so the
# README's test command works on a new machine. Idempotent; `apt-get update` only runs when
# the install fails without it (an empty or stale package list). Exit 1 if it cannot.
set -u
if command -v radclient >/dev/null 2>&1; then
    command -v radclient
    exit 0
fi
sudo=()
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then sudo=(sudo -n); fi
apt_install() {
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        freeradius-utils >/dev/null
}
if apt_install 2>/dev/null || { "${sudo[@]}" apt-get update -qq >/dev/null && apt_install; }; then
    command -v radclient
    exit 0
fi
echo "could not install freeradius-utils (apt-get install -y --no-install-recommends freeradius-utils)" >&2
exit 1
