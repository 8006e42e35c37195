#!/bin/sh
# compat.sh: Debian's xenstore-* clients and test-xenstore (libxenstore 4.17) against a daemon on a private socket.
#
#   sh tests/compat/compat.sh DAEMON     our binary, started as XENSTORED_RUNDIR=DIR DAEMON -N -F DIR/pid
#   sh tests/compat/compat.sh ref        the reference C xenstored, through tests/refd/refd.sh
#                                        (keeps these expectations honest)
#
# Prints one line per check and "N passed, N failed"; exits non-zero on any failure.
# Without the Debian clients (or, for ref, the reference daemon) it passes saying it
# skipped, what is missing and how to get it; XS_REQUIRE_REFERENCE=1 makes that a failure.
set -u

DAEMON=${1:?usage: compat.sh DAEMON|ref}
BIN=${XST_REF_BINDIR:-/usr/lib/xen-4.17/bin}
REFD=$(cd "$(dirname "$0")/../refd" && pwd)/refd.sh

skip() {
	echo "compat: skipped: $1"
	[ "${XS_REQUIRE_REFERENCE:-}" != 1 ] || { echo "0 passed, 1 failed (XS_REQUIRE_REFERENCE=1)"; exit 1; }
	exit 0
}

for tool in xenstore-write xenstore-read xenstore-ls xenstore-list xenstore-exists \
	    xenstore-rm xenstore-chmod xenstore-watch; do
	command -v "$tool" >/dev/null 2>&1 ||
		skip "Debian's $tool is not installed; scripts/deps.sh --test installs xenstore-utils"
done
[ -x "$BIN/test-xenstore" ] ||
	skip "Xen's test-xenstore is not installed ($BIN/test-xenstore); scripts/deps.sh --test installs xen-utils-4.17"
if [ "$DAEMON" = ref ]; then
	why=$(sh "$REFD" check c) || skip "$why"
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/xscompat.XXXXXX") || exit 1
pid=
cleanup() {
	if [ "$DAEMON" = ref ]; then
		sh "$REFD" stop "$dir" >/dev/null 2>&1
	elif [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

if [ "$DAEMON" = ref ]; then
	# The C daemon refuses permissions naming a domain it believes absent (chmod r5 below).
	XSSHIM_DOMAINS=all sh "$REFD" start c "$dir" >/dev/null || { echo "0 passed, 1 failed"; exit 1; }
else
	[ -x "$DAEMON" ] || { echo "compat: no daemon binary $DAEMON"; echo "0 passed, 1 failed"; exit 1; }
	XENSTORED_RUNDIR=$dir "$DAEMON" -N -F "$dir/pid" >"$dir/daemon.log" 2>&1 </dev/null &
	pid=$!
fi
export XENSTORED_PATH="$dir/socket"
unset XENSTORED_RUNDIR
i=0
while [ ! -S "$dir/socket" ] && [ $i -lt 200 ]; do
	sleep 0.05
	i=$((i + 1))
done
if [ ! -S "$dir/socket" ]; then
	echo "compat: daemon did not create $dir/socket"
	cat "$dir/daemon.log" 2>/dev/null
	echo "0 passed, 1 failed"
	exit 1
fi

passed=0
failed=0
nl='
'

# t NAME RC EXPECTED-STDOUT COMMAND...: exit status and stdout must match exactly.
t() {
	name=$1 want_rc=$2 want_out=$3
	shift 3
	out=$("$@" 2>"$dir/stderr")
	rc=$?
	if [ "$rc" = "$want_rc" ] && [ "$out" = "$want_out" ]; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: $*"
		echo "   exit $rc (want $want_rc)"
		echo "   got:  $(printf '%s' "$out" | sed '2,$s/^/         /')"
		echo "   want: $(printf '%s' "$want_out" | sed '2,$s/^/         /')"
		sed 's/^/   stderr: /' "$dir/stderr"
		failed=$((failed + 1))
	fi
}

t "write" 0 "" xenstore-write /c/a hello
t "read" 0 "hello" xenstore-read /c/a
t "write several (one transaction)" 0 "" xenstore-write /c/b/x 1 /c/b/y 2
t "read several" 0 "1${nl}2" xenstore-read /c/b/x /c/b/y
t "read -p" 0 "/c/a: hello${nl}/c/b/x: 1" xenstore-read -p /c/a /c/b/x
t "read missing" 1 "" xenstore-read /c/nope
t "exists" 0 "" xenstore-exists /c/a
t "exists missing" 1 "" xenstore-exists /c/nope
t "list" 0 "a${nl}b" xenstore-list /c
t "list -p" 0 "/c/a${nl}/c/b" xenstore-list -p /c
t "list leaf" 0 "" xenstore-list /c/a
t "ls" 0 "a = \"hello\"${nl}b = \"\"${nl} x = \"1\"${nl} y = \"2\"" xenstore-ls /c
t "ls -fp" 0 "/c/a = \"hello\"   (n0)${nl}/c/b = \"\"   (n0)${nl}/c/b/x = \"1\"   (n0)${nl}/c/b/y = \"2\"   (n0)" \
	xenstore-ls -fp /c
t "chmod" 0 "" xenstore-chmod /c/a n0 r5 b7
t "ls -fp after chmod" 0 "/c/a = \"hello\"   (n0,r5,b7)${nl}/c/b = \"\"   (n0)${nl}/c/b/x = \"1\"   (n0)${nl}/c/b/y = \"2\"   (n0)" \
	xenstore-ls -fp /c
t "chmod -r" 0 "" xenstore-chmod -r /c/b r3
t "ls -fp after chmod -r" 0 "/c/b/x = \"1\"   (r3)${nl}/c/b/y = \"2\"   (r3)" \
	xenstore-ls -fp /c/b
t "chmod -u" 0 "" xenstore-chmod -u /c/b/x n0 r9
t "perms of /c after chmod -u" 0 "/c = \"\"   (n0,r9)" sh -c 'xenstore-ls -fp / | grep "^/c = "'
t "ls -fp after chmod -u" 0 "/c/a = \"hello\"   (n0,r5,b7)${nl}/c/b = \"\"   (n0,r9)${nl}/c/b/x = \"1\"   (n0,r9)${nl}/c/b/y = \"2\"   (r3)" \
	xenstore-ls -fp /c
t "write escapes" 0 "" xenstore-write /c/e 'tab\there\x01'
t "read (escaped)" 0 'tab\there\001' xenstore-read /c/e
t "read -R" 0 "$(printf 'tab\there\001')" xenstore-read -R /c/e
t "write relative" 0 "" xenstore-write rel/node v
t "read relative as absolute" 0 "v" xenstore-read /local/domain/0/rel/node
t "rm" 0 "" xenstore-rm /c/a
t "exists after rm" 1 "" xenstore-exists /c/a
t "rm subtree" 0 "" xenstore-rm /c/b
t "list after rm" 0 "e" xenstore-list /c
t "rm missing leaf" 0 "" xenstore-rm /c/nope
t "write deep" 0 "" xenstore-write /t/x/y v
t "rm -t" 0 "" xenstore-rm -t /t/x/y
t "rm -t removed empty parents" 1 "" xenstore-exists /t
t "rm -t keeps a parent with a value" 0 "" sh -c \
	'xenstore-write /k/p val && xenstore-write /k/p/q v && xenstore-rm -t /k/p/q && xenstore-read /k/p >/dev/null'

# A child list over 4096 bytes: libxenstore gets E2BIG and falls back to DIRECTORY_PART.
long=$(printf '%0200d' 0)
big=""
n=0
while [ $n -lt 30 ]; do
	big="$big /big/n$n$long v"
	n=$((n + 1))
done
# shellcheck disable=SC2086
t "write 30 long children" 0 "" xenstore-write $big
t "list of more than 4096 bytes" 0 "30" sh -c 'xenstore-list /big | wc -l | tr -d " "'
t "ls of more than 4096 bytes" 0 "30" sh -c 'xenstore-ls /big | wc -l | tr -d " "'

# w NAME N PATH EXPECTED ACTION: `xenstore-watch -n N PATH` in the background; once it has printed
# its initial event, ACTION (a shell command) runs; the watcher must then exit 0 having printed
# exactly EXPECTED (one event path per line).
w() {
	name=$1 n=$2 wpath=$3 want_out=$4 action=$5
	: >"$dir/watch.out"
	timeout 10 xenstore-watch -n "$n" "$wpath" >"$dir/watch.out" 2>"$dir/stderr" &
	wpid=$!
	i=0
	while [ ! -s "$dir/watch.out" ] && [ $i -lt 200 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	sh -c "$action" >/dev/null 2>>"$dir/stderr"
	wait "$wpid"
	rc=$?
	out=$(cat "$dir/watch.out")
	if [ "$rc" = 0 ] && [ "$out" = "$want_out" ]; then
		echo "PASS $name"
		passed=$((passed + 1))
	else
		echo "FAIL $name: xenstore-watch -n $n $wpath, then: $action"
		echo "   exit $rc (want 0; 124 is a timeout)"
		echo "   got:  $(printf '%s' "$out" | sed '2,$s/^/         /')"
		echo "   want: $(printf '%s' "$want_out" | sed '2,$s/^/         /')"
		sed 's/^/   stderr: /' "$dir/stderr"
		failed=$((failed + 1))
	fi
}

w "xenstore-watch -n 3: initial event, then two writes" 3 /cw "/cw${nl}/cw/a${nl}/cw/b" \
	'xenstore-write /cw/a 1 && xenstore-write /cw/b 2'
w "xenstore-watch -n 1: only the initial event" 1 /cw "/cw" 'true'
w "xenstore-watch: a write elsewhere does not fire" 2 /cw "/cw${nl}/cw/c" \
	'xenstore-write /cwx 1 && xenstore-write /cw2 1 && xenstore-write /cw/c 1'
w "xenstore-watch: the same value written again fires again" 3 /cw/a "/cw/a${nl}/cw/a${nl}/cw/a" \
	'xenstore-write /cw/a 1 && xenstore-write /cw/a 1'
w "xenstore-watch: a transaction's writes fire at commit" 3 /cwt "/cwt${nl}/cwt/x${nl}/cwt/y" \
	'xenstore-write /cwt/x 1 /cwt/y 2'
w "xenstore-watch: rm of a subtree fires its root" 2 /cw "/cw${nl}/cw/a" 'xenstore-rm /cw/a'
t "write a node to watch" 0 "" xenstore-write /cwr/a/b 1
w "xenstore-watch: rm fires exact watches on removed descendants" 2 /cwr/a/b "/cwr/a/b${nl}/cwr/a/b" \
	'xenstore-rm /cwr'
w "xenstore-watch: chmod fires" 2 /cw "/cw${nl}/cw/b" 'xenstore-chmod /cw/b n0 r3'
w "xenstore-watch: relative path, relative events" 2 relw "relw${nl}relw/x" \
	'xenstore-write /local/domain/0/relw/x 1'
w "xenstore-watch: a missing node's watch fires when it appears" 2 /cwm/deep/node \
	"/cwm/deep/node${nl}/cwm/deep/node" 'xenstore-write /cwm/deep/node v'
t "xenstore-watch: bad path" 1 "" xenstore-watch -n 1 /bad.path

# Xen's own smoke test: all 12 cases, then 10 iterations.
TESTS="read 1${nl}read 2000${nl}write 1${nl}write 2000${nl}dir${nl}rm node${nl}rm dir${nl}ta empty${nl}ta empty x${nl}ta rmw${nl}ta rmw x${nl}ta err"
t "test-xenstore (12 cases)" 0 "$TESTS" sh -c "$BIN/test-xenstore | sed 's/ *: .*//'"
t "test-xenstore -i 10" 0 "$TESTS" sh -c "$BIN/test-xenstore -i 10 | sed 's/ *: .*//'"
t "test-xenstore left nothing behind" 1 "" xenstore-exists /local/domain/0/xenstore-test

if [ "$DAEMON" != ref ] && ! kill -0 "$pid" 2>/dev/null; then
	echo "FAIL daemon died"
	cat "$dir/daemon.log"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
