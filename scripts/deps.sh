#!/bin/sh
# Install what building (and, with --test, testing) needs on Debian 12, skipping what is there.
#   scripts/deps.sh          build dependencies (compiler, libevent, tdb, libxen, pkg-config)
#   scripts/deps.sh --test   plus Check, Debian's xenstore clients, the reference daemons,
#                            mandoc and systemd-analyze
#   scripts/deps.sh --fuzz   plus clang and its libFuzzer runtime, for make fuzz
set -e
pkgs="gcc make pkg-config libc6-dev libevent-dev libtdb-dev libxen-dev"
if [ "${1:-}" = "--test" ]; then
	# xen-utils-4.17: the reference C xenstored/oxenstored and test-xenstore, for the
	# compatibility and differential tests; python3 is not needed. mandoc lints the
	# man pages (the client library's, xenstored(8), xenstored.conf(5)); systemd brings
	# systemd-analyze to verify the unit.
	pkgs="$pkgs check xenstore-utils xen-utils-4.17 mandoc systemd"
fi
if [ "${1:-}" = "--fuzz" ]; then pkgs="$pkgs clang-14 libclang-rt-14-dev"; fi
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "missing packages:$missing (run as root to install them)" >&2
		exit 1
	fi
	echo "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
