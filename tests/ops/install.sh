#!/bin/sh
# make install: the layout under DESTDIR with PREFIX=/usr; an install into a
# scratch prefix whose unit systemd-analyze verifies as installed; an existing
# configuration kept; and the refusal to overwrite files of Debian packages.
# Nothing outside a temporary directory is written.
#   sh tests/ops/install.sh MAKE O SAN
set -u
MAKE=$1
O=$2
SAN=$3
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/xst-install.XXXXXX)
trap 'rm -rf "$T"' EXIT INT TERM
failed=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failed=1; }
mk() { $MAKE -s --no-print-directory O="$O" SAN="$SAN" "$@"; }

echo "== make install DESTDIR=... PREFIX=/usr"
if mk install DESTDIR="$T/d" PREFIX=/usr >"$T/log" 2>&1; then ok "install"; else bad "install"; cat "$T/log"; fi
(cd "$T/d" && find . -type f -printf '%m %p\n' | sort) >"$T/got"
cat >"$T/want" <<'LIST'
644 ./etc/logrotate.d/xenstored
644 ./etc/xen/xenstored.conf
644 ./usr/lib/systemd/system/xenstored.service
644 ./usr/share/doc/xenstored/ARCHITECTURE.md
644 ./usr/share/doc/xenstored/README.md
644 ./usr/share/doc/xenstored/xenstored.conf
644 ./usr/share/man/man5/xenstored.conf.5
644 ./usr/share/man/man8/xenstored.8
644 ./usr/share/man/man8/xs-simhyp.8
755 ./usr/bin/xs-simguest
755 ./usr/lib/xenstored/xenstored-prepare
755 ./usr/sbin/xenstored
755 ./usr/sbin/xs-simhyp
LIST
sort -o "$T/want" "$T/want"
# The client library's files come on top (client/rules.mk).
if [ -z "$(comm -23 "$T/want" "$T/got")" ]; then ok "layout: configuration in /etc, unit, man pages, helper"; else
	bad "layout: missing"; comm -23 "$T/want" "$T/got"; fi
if grep -q '^[0-9]* \./usr/etc' "$T/got"; then bad "configuration under PREFIX/etc"; else
	ok "nothing in PREFIX/etc"; fi
u=$T/d/usr/lib/systemd/system/xenstored.service
if grep -q '^ExecStart=/usr/sbin/xenstored --no-fork .*--config-file /etc/xen/xenstored.conf \$XENSTORED_ARGS$' "$u" &&
	grep -q '^ExecStartPre=/usr/lib/xenstored/xenstored-prepare$' "$u" && ! grep -q @ "$u"; then
	ok "the unit's paths follow PREFIX and SYSCONFDIR"
else
	bad "the unit's paths"
fi

echo "== an existing configuration is kept"
echo "# mine" >"$T/d/etc/xen/xenstored.conf"
mk install DESTDIR="$T/d" PREFIX=/usr >"$T/log" 2>&1
if [ "$(cat "$T/d/etc/xen/xenstored.conf")" = "# mine" ]; then ok "kept"; else bad "overwritten"; fi

echo "== installed into a scratch prefix, the unit verifies as it is"
p=$T/p
if mk install PREFIX="$p" SYSCONFDIR="$p/etc" >"$T/log" 2>&1; then ok "install"; else bad "install"; cat "$T/log"; fi
if ! command -v systemd-analyze >/dev/null; then
	bad "systemd-analyze is missing (scripts/deps.sh --test installs systemd)"
elif (cd "$T" && MANPATH=$p/share/man systemd-analyze verify "$p/lib/systemd/system/xenstored.service") \
	>"$T/verify" 2>&1 && [ ! -s "$T/verify" ]; then
	ok "systemd-analyze verify: no complaint (commands, man pages of Documentation=)"
else
	bad "systemd-analyze verify"; cat "$T/verify"
fi

echo "== files of Debian packages are never overwritten"
if command -v dpkg-query >/dev/null && dpkg-query -S /usr/sbin/xenstored >/dev/null 2>&1; then
	if mk install-check PREFIX=/usr >"$T/log" 2>&1; then
		bad "install-check PREFIX=/usr accepts to replace /usr/sbin/xenstored"
	elif grep -q "/usr/sbin/xenstored (xen-utils-common)" "$T/log"; then
		ok "PREFIX=/usr refused: /usr/sbin/xenstored belongs to xen-utils-common"
	else
		bad "refused without naming the file"; cat "$T/log"
	fi
else
	echo "skip: no Debian package owns /usr/sbin/xenstored here"
fi
if mk install-check >"$T/log" 2>&1; then ok "the default prefix (/usr/local) clashes with nothing"; else
	bad "the default prefix clashes"; cat "$T/log"; fi

[ "$failed" = 0 ] && echo "install: all passed"
exit "$failed"
