#!/bin/sh
# Start-up, locking, signals and readiness of the daemon, in temporary
# directories; every daemon is stopped by its pid.
#   sh tests/ops/lifecycle.sh DAEMON OPSPROBE
set -u
D=$1
P=$2
T=$(mktemp -d /tmp/xst-ops.XXXXXX)
R=$T/run
S=$R/socket
failed=0
pids=""

cleanup() {
	# Daemons this script started: their pids, and any a failing check left in a pid file.
	for p in $pids $(cat "$T/pid" "$T/pid2" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failed=1; }
check() { # check "what" command...
	what=$1
	shift
	if "$@"; then ok "$what"; else bad "$what"; fi
}
none() { # none FILE...: none of them exists
	for f in "$@"; do [ -e "$f" ] && return 1; done
	return 0
}
gone() { ! kill -0 "$1" 2>/dev/null; }
wait_gone() {
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
	gone "$1"
}
# Run the daemon with the run directory $R unless RUNDIR= says otherwise; status in $rc
# (124: still running after 30 s), stderr in $T/err.
run() {
	XENSTORED_RUNDIR=${RUNDIR:-$R} timeout 30 "$D" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
sum() { cksum "$@" 2>/dev/null; }
answers() { "$P" ask "$1"; }

echo "== daemon mode: the starter returns once the daemon serves"
run -F "$T/pid"
check "started, exit 0" [ "$rc" = 0 ]
pid=$(cat "$T/pid" 2>/dev/null)
pids="$pids $pid"
check "the pid file names a live daemon" kill -0 "$pid"
check "the socket answers as the starter returns" answers "$S"
check "the run directory is locked by it" [ "$(cat "$R/xenstored.lock" 2>/dev/null)" = "$pid" ]

echo "== a second daemon on the live run directory refuses and touches nothing"
before="$(ls -i "$S") $(sum "$R/xenstore.tdb") $(sum "$R/xenstore.wal") $(sum "$R/xenstored.lock") $(sum "$T/pid")"
run -F "$T/pid2"
check "daemon mode: exit 1" [ "$rc" = 1 ]
check "it names the holder's pid" grep -q "run directory $R is in use by another xenstored (pid $pid" "$T/err"
check "no pid file of its own" [ ! -e "$T/pid2" ]
run -N
check "foreground: exit 1" [ "$rc" = 1 ]
after="$(ls -i "$S") $(sum "$R/xenstore.tdb") $(sum "$R/xenstore.wal") $(sum "$R/xenstored.lock") $(sum "$T/pid")"
check "socket, store, log, lock and pid file untouched" [ "$before" = "$after" ]
check "the first still serves" answers "$S"

echo "== the same pid file: already running, exit 0 (as the C xenstored)"
run -F "$T/pid"
check "exit 0" [ "$rc" = 0 ]
check "it says so" grep -q "already running as pid $pid" "$T/err"
check "the first still serves" answers "$S"

echo "== another run directory, but the same store or the same socket"
RUNDIR=$T/other run -N --store-file "$R/xenstore.tdb"
check "same store: exit 1" [ "$rc" = 1 ]
check "it names the store directory" grep -q "store directory $R is in use" "$T/err"
check "the run directory it made is gone" [ ! -e "$T/other" ]
XENSTORED_PATH=$S RUNDIR=$T/other run -N
check "same socket: exit 1" [ "$rc" = 1 ]
check "it says a daemon serves there" grep -q "another daemon serves $S" "$T/err"
check "the socket is untouched" [ "$(ls -i "$S")" = "$(echo "$before" | cut -d' ' -f1-2)" ]
check "the first still serves" answers "$S"

echo "== signals: USR1, USR2 and HUP do not stop it"
for sig in USR1 USR2 HUP; do
	kill -s "$sig" "$pid"
	sleep 0.1
	check "SIG$sig: still alive and serving" answers "$S"
done

echo "== a daemon killed leaves a stale socket and lock: the next start replaces them"
kill -KILL "$pid"
wait_gone "$pid"
check "stale socket left" [ -S "$S" ]
run -F "$T/pid"
check "restart: exit 0" [ "$rc" = 0 ]
pid=$(cat "$T/pid" 2>/dev/null)
pids="$pids $pid"
check "it serves" answers "$S"
kill -TERM "$pid"
check "SIGTERM stops it" wait_gone "$pid"
check "pid file, socket and lock removed" none "$T/pid" "$S" "$R/xenstored.lock"
check "the store stays" [ -s "$R/xenstore.tdb" ]

echo "== failed starts in daemon mode: non-zero, nothing left behind"
printf 'no-such-key = 1\n' >"$T/bad.conf"
RUNDIR=$T/fresh run -F "$T/pid" -c "$T/bad.conf"
check "bad configuration: exit 1" [ "$rc" = 1 ]
check "it names the line" grep -q "bad.conf:1: bad setting" "$T/err"
check "no pid file, no run directory" none "$T/pid" "$T/fresh"
mkdir "$T/isdir"
RUNDIR=$T/fresh run -F "$T/pid" --store-file "$T/isdir"
check "unusable store: exit 1" [ "$rc" = 1 ]
check "it names the store" grep -q "cannot open the store $T/isdir" "$T/err"
check "no pid file, store lock or run directory" none "$T/pid" "$T/fresh" "$T/xenstored.lock"
run -F "$T/no/such/dir/pid"
check "pid file cannot be written: exit 1" [ "$rc" = 1 ]
check "no socket or lock left (nor a simhyp socket: that is xs-simhyp's, never the daemon's)" none "$S" "$R/xenstored.lock" "$R/simhyp"

echo "== readiness: READY=1 on \$NOTIFY_SOCKET only once the socket answers"
XENSTORED_RUNDIR=$R "$P" notify "$T/notify" "$S" "$D" -N >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/   /' "$T/out"
check "foreground, path socket" [ "$rc" = 0 ]
XENSTORED_RUNDIR=$R "$P" notify -d "@xst-ops-notify-$$" "$S" "$D" >"$T/out" 2>"$T/err"
rc=$?
sed 's/^/   /' "$T/out"
check "daemon mode, abstract socket" [ "$rc" = 0 ]

if [ "$failed" != 0 ]; then
	echo "lifecycle: FAILED"
	exit 1
fi
echo "lifecycle: all passed"
