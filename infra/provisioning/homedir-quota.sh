#!/bin/sh
# Example program for a Bureau command target: a home page / FTP folder per account,
# with a disk quota. An example to adapt, not a product.
#
# Install: copy into the folder named by BUREAU_PROVISIONING_COMMANDS, owned by root,
# mode 0755. Configure the target (options JSON), for example:
#   {"kinds": ["web", "ftp"],
#    "add":    ["homedir-quota.sh", "/srv/www", "{user}", "{uid}", "{gid}", "{quota_mb}"],
#    "remove": ["homedir-quota.sh", "/srv/www", "{user}", "{uid}", "{gid}", "{quota_mb}"]}
# (without "change", Bureau runs "add" again with the new values).
#
# Arguments: BASE USER UID GID QUOTA_MB; the action is in $BUREAU_ACTION (add, change,
# remove). Every action is idempotent, as Bureau requires: after a crash it repeats the
# account that was in progress.
#   add, change: create BASE/USER (mode 0750), hand it to UID:GID when run as root, and
#                set a block quota of QUOTA_MB MiB (0 = none) with setquota(8) when it is
#                installed and we are root; otherwise record QUOTA_MB in BASE/USER/.quota.
#   remove:      delete BASE/USER and everything in it, and clear the quota.
set -eu

if [ "$#" -ne 5 ]; then
    echo "usage: BUREAU_ACTION=add|change|remove $0 BASE USER UID GID QUOTA_MB" >&2
    exit 64
fi
base=$1 user=$2 uid=$3 gid=$4 quota_mb=$5
action=${BUREAU_ACTION:-}

case "$base" in
    /*) ;;
    *) echo "BASE $base must be an absolute path" >&2; exit 64 ;;
esac
case "$user" in
    "" | . | .. | */* | -*) echo "USER $user must be a plain name" >&2; exit 64 ;;
esac
for number in "$uid" "$gid" "$quota_mb"; do
    case "$number" in
        "" | *[!0-9]*) echo "UID, GID and QUOTA_MB must be numbers, got $number" >&2; exit 64 ;;
    esac
done
if [ ! -d "$base" ]; then
    echo "BASE $base does not exist; create it first" >&2
    exit 66
fi

home="$base/$user"
root=no
[ "$(id -u)" -eq 0 ] && root=yes

mount_point() {  # setquota wants the file system's mount point, not any folder on it
    df -P "$base" | awk 'NR == 2 { print $6 }'
}

set_quota() {  # $1: MiB, 0 for none
    if [ "$root" = yes ] && command -v setquota >/dev/null 2>&1; then
        blocks=$(( $1 * 1024 ))  # setquota counts 1 KiB blocks
        setquota -u "$uid" "$blocks" "$blocks" 0 0 "$(mount_point)"
        rm -f "$home/.quota"
    elif [ -d "$home" ]; then
        printf '%s\n' "$1" > "$home/.quota.tmp"
        mv -f "$home/.quota.tmp" "$home/.quota"
    fi
}

case "$action" in
    add | change)
        mkdir -p "$home"
        chmod 0750 "$home"
        if [ "$root" = yes ]; then
            chown "$uid:$gid" "$home"
        fi
        set_quota "$quota_mb"
        ;;
    remove)
        if [ "$root" = yes ] && command -v setquota >/dev/null 2>&1; then
            setquota -u "$uid" 0 0 0 0 "$(mount_point)"
        fi
        rm -rf -- "$home"
        ;;
    *)
        echo "BUREAU_ACTION must be add, change or remove, got '$action'" >&2
        exit 64
        ;;
esac
