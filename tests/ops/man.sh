#!/bin/sh
# The man pages: clean under mandoc's linter (warnings fail), and complete:
# every option of --help in xenstored(8), every configuration key in
# xenstored.conf(5).
#   sh tests/ops/man.sh DAEMON
set -u
D=$1
cd "$(dirname "$0")/../.."
failed=0
if ! command -v mandoc >/dev/null; then
	echo "check-man: mandoc is missing (scripts/deps.sh --test installs it)"
	exit 1
fi
for m in docs/man/xenstored.8 docs/man/xenstored.conf.5 docs/man/xs-simhyp.8; do
	if mandoc -T lint -W warning "$m"; then echo "ok: $m: mandoc -T lint"; else failed=1; fi
done
help=$("$D" --help)
for o in $(echo "$help" | sed '/^Configuration file/,$d' | grep -o -- '--[a-z][a-z-]*' | sort -u); do
	grep -qE "Fl -${o#--}( |$)" docs/man/xenstored.8 || { echo "FAIL: xenstored.8 lacks $o"; failed=1; }
done
for k in $(echo "$help" | sed -n '/^Configuration file/,$p' | sed -n 's/^  \([a-z][a-z-]*\)\(NAME\)\{0,1\} = .*/\1/p'); do
	# quota-nodes and the like: in the list under quota-NAME.
	grep -qE "^\.It Cm ((.*[ ,])?$k|${k#quota-})( |$)" docs/man/xenstored.conf.5 ||
		{ echo "FAIL: xenstored.conf.5 lacks the key $k"; failed=1; }
done
[ "$failed" = 0 ] && echo "check-man: both pages lint clean and cover every option and key of --help"
exit "$failed"
