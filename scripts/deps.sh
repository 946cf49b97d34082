#!/bin/sh
# deps.sh - install the Debian 12 packages switchyard needs to build and test.
#
# Idempotent: asks dpkg which packages are missing and installs only those, so a
# second run on a ready machine does nothing and needs no network. Needs root for
# apt-get; without it, names the missing packages and exits non-zero.
set -eu

# usage: scripts/deps.sh [fuzz] [bench]
#   fuzz   adds clang and its libFuzzer runtime (make fuzz)
#   bench  adds wrk and nginx (the OFREP benchmark's load generator and reference)
#
# One package per line: build tools, then the libraries of ARCHITECTURE.md that the
# code uses so far. Add a package here in the change that first includes it.
PACKAGES="
build-essential
pkg-config
meson
ninja-build
libgsl-dev
libjansson-dev
libcmocka-dev
libmurmurhash-dev
libevent-dev
libsqlite3-dev
libssl-dev
libcurl4-openssl-dev
curl
jq
sqlite3
nodejs
python3
chromium
python3-aiosmtpd
python3-statsmodels
prometheus
systemd
postgresql-15
postgresql-client-15
libpq-dev
"
# python3 writes the console's assets into C (scripts/ui-embed.py); chromium is the browser
# the console's test drives (tests/integration/console.sh). python3-statsmodels is CUPED's
# reference: its OLS y ~ C(arm) + x (tests/integration/cuped.sh).
# postgresql-15 is the server the PostgreSQL tests start themselves (issue 25:
# tests/integration/pg.sh runs its initdb and pg_ctl from /usr/lib/postgresql/15/bin; the
# package's own cluster, 15/main, is made but not started: see policy-rc.d below);
# postgresql-client-15 is their psql; libpq-dev is the client library store/postgres will
# link (meson finds it as an optional dependency until then).
# npm comes with NodeSource's nodejs; Debian ships it apart. The build installs the
# console's npm packages (ui/package-lock.json) into build/*/ui/ui-node; the OFREP SDK
# test, the console's test and the flagd-core benchmark install theirs into build/
# themselves.
command -v npm >/dev/null 2>&1 || PACKAGES="$PACKAGES npm"
for group in "$@"; do
    case "$group" in
    fuzz) PACKAGES="$PACKAGES clang libclang-rt-14-dev" ;;
    bench) PACKAGES="$PACKAGES wrk nginx-light python3" ;;
    *)
        echo "deps.sh: unknown group '$group' (known: fuzz, bench)" >&2
        exit 2
        ;;
    esac
done

missing=""
for pkg in $PACKAGES; do
    pkg_status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    case "$pkg_status" in
    *" installed") ;;
    *) missing="$missing $pkg" ;;
    esac
done

if [ -z "$missing" ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps.sh: missing packages:$missing" >&2
    echo "deps.sh: run 'sudo scripts/deps.sh' (or install them with apt-get) and retry" >&2
    exit 1
fi

echo "deps.sh: installing$missing"
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; refresh them once, then install.
apt-get update -qq
# prometheus brings promtool and the server the metrics tests start on a port of their own;
# its package, like postgresql-15's, would also start a system-wide service: no service
# starts during the install.
policy=""
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    policy=/usr/sbin/policy-rc.d
fi
# shellcheck disable=SC2086 # word splitting of the package list is intended
status=0
apt-get install -y -qq --no-install-recommends $missing >/dev/null || status=$?
[ -z "$policy" ] || rm -f "$policy"
exit "$status"
