#!/bin/sh
# The library as installed: only the API's xsl_* functions exported, the man page lints, and a program finds it through pkg-config, static and shared.
#   tests/client/abi.sh BUILD_DIR DAEMON   (with CC, CFLAGS, LDFLAGS, MAKE from make)
set -eu
O=$1
DAEMON=$2
tmp=$(mktemp -d)
pid=
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

bad=$(nm -g --defined-only "$O/client/libxenstore_client.a" | awk 'NF == 3 && $3 !~ /^xsl_/ {print $3}')
[ -z "$bad" ] || { echo "abi: the static library exports more than xsl_*: $bad"; exit 1; }
bad=$(nm -D --defined-only "$O/client/libxenstore_client.so.0" | awk 'NF == 3 && $3 !~ /^xsl_/ && $3 != "XSL_0" {print $3}')
[ -z "$bad" ] || { echo "abi: the shared library exports more than xsl_*: $bad"; exit 1; }
# Exactly the functions the header declares XSL_API, no internal xsl_ function besides.
api=$(grep -E '^XSL_API' client/xenstore_client.h | grep -oE 'XSL_API[^(]*\(' | sed -E 's/.*[ *]([a-z_0-9]+)\($/\1/' | sort)
for lib in "$O/client/libxenstore_client.a" "$O/client/libxenstore_client.so.0"; do
	case $lib in *.a) opt=-g ;; *) opt=-D ;; esac
	got=$(nm $opt --defined-only "$lib" | awk 'NF == 3 && $2 == "T" {sub(/@.*/, "", $3); print $3}' | sort)
	[ "$got" = "$api" ] || {
		echo "abi: $lib exports other functions than the header's:"
		printf '%s\n' "$got" >"$tmp/got"
		printf '%s\n' "$api" >"$tmp/api"
		diff "$tmp/api" "$tmp/got" || true
		exit 1
	}
done
echo "abi: only xsl_* exported, and of them only the API"

if ! command -v mandoc >/dev/null; then
	echo "abi: mandoc missing (scripts/deps.sh --test installs it)"
	exit 1
fi
mandoc -T lint -W warning docs/man/xenstore_client.3
echo "abi: man page lints clean"

${MAKE:-make} -s install-client PREFIX="$tmp/usr" >/dev/null
export PKG_CONFIG_PATH="$tmp/usr/lib/pkgconfig"
# shellcheck disable=SC2086
${CC:-cc} ${CFLAGS:-} $(pkg-config --cflags xenstore_client) -o "$tmp/smoke-shared" tests/client/smoke/smoke.c \
	${LDFLAGS:-} $(pkg-config --libs xenstore_client) -Wl,-rpath,"$tmp/usr/lib"
# shellcheck disable=SC2086
${CC:-cc} ${CFLAGS:-} $(pkg-config --cflags xenstore_client) -o "$tmp/smoke-static" tests/client/smoke/smoke.c \
	${LDFLAGS:-} "$tmp/usr/lib/libxenstore_client.a" $(pkg-config --static --libs-only-l xenstore_client | sed 's/-lxenstore_client//')
ldd "$tmp/smoke-shared" | grep -q "$tmp/usr/lib/libxenstore_client.so.0" || { echo "abi: not linked to the installed .so"; exit 1; }
echo "abi: built against the installed header, static and shared"

mkdir "$tmp/run"
XENSTORED_RUNDIR="$tmp/run" "$DAEMON" -N -F "$tmp/run/pid" >"$tmp/run/log" 2>&1 &
pid=$!
i=0
while [ ! -S "$tmp/run/socket" ] && [ $i -lt 500 ]; do sleep 0.02; i=$((i + 1)); done
export XENSTORED_PATH="$tmp/run/socket"
"$tmp/smoke-shared"
"$tmp/smoke-static"
kill "$pid"
wait "$pid" || { echo "abi: daemon exit status $?"; cat "$tmp/run/log"; exit 1; }
pid=
echo "abi: both ran against the daemon"
