#!/bin/sh
# tests/refd/refd.sh: runs Debian's reference xenstored / oxenstored (xen-utils-4.17) without Xen, under tests/refd/refshim.c.
#
#   refd.sh check c|ox               exit 0 if that daemon is installed; else print what is
#                                    missing and how to get it, exit 3
#   refd.sh run   c|ox DIR [ARGS]    become the daemon, in the foreground, socket DIR/socket
#                                    (tests/lib/xst_daemon.c forks this, so the daemon is its child)
#   refd.sh start c|ox DIR [ARGS]    the same in the background; prints its pid once it listens
#   refd.sh stop  DIR                stop the one started in DIR, by the pid in DIR/pid
#
# The daemon's output goes to DIR/daemon.log (start) or to the caller's (run).
# Exit status 3: not installed; 1: installed but did not start (the reason and the log follow).
#
# Environment:
#   XST_REF_BINDIR  where the reference binaries are (default /usr/lib/xen-4.17/bin, where
#                   xen-utils-4.17 puts them; /usr/sbin/xenstored is a wrapper that needs Xen)
#   XST_REF_SHIM    the built shim (make builds O/tests/refd/refshim.so); if unset or absent,
#                   it is compiled from refshim.c here into DIR
#   XSSHIM_DOMAINS, XSSHIM_DEBUG   passed on to the shim (see refshim.c)
set -u

here=$(cd "$(dirname "$0")" && pwd)
BINDIR=${XST_REF_BINDIR:-/usr/lib/xen-4.17/bin}

usage() {
	echo "usage: $0 check c|ox | run c|ox DIR [args] | start c|ox DIR [args] | stop DIR" >&2
	exit 2
}

# binary KIND: the binary's path and its human name in $bin, $name.
binary() {
	case "$1" in
	c) bin=$BINDIR/xenstored name="the reference C xenstored" ;;
	ox) bin=$BINDIR/oxenstored name="the reference oxenstored" ;;
	*) usage ;;
	esac
}

# installed KIND: 0 if there; else the message on stdout, status 3.
installed() {
	binary "$1"
	[ -x "$bin" ] && return 0
	echo "$name is not installed ($bin); scripts/deps.sh --test installs xen-utils-4.17"
	return 3
}

# alive PID: the process exists and is not a zombie (an exited child of ours stays one until reaped).
alive() {
	state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$state" ] && [ "$state" != Z ]
}

# shim DIR: the shim's path in $shim, compiled into DIR if the build's is not there.
shim() {
	shim=${XST_REF_SHIM:-}
	[ -n "$shim" ] && [ -f "$shim" ] && return 0
	shim=$1/refshim.so
	# shellcheck disable=SC2046
	${CC:-cc} -shared -fPIC -O2 -std=gnu11 -D_GNU_SOURCE -U_FORTIFY_SOURCE \
		$(pkg-config --cflags xencontrol xenevtchn xengnttab 2>/dev/null) \
		-o "$shim" "$here/refshim.c" -ldl && return 0
	rm -f "$shim"
	echo "could not build the shim $shim from $here/refshim.c (a C compiler and libxen-dev are needed)" >&2
	return 1
}

# run KIND DIR ARGS...: exec the daemon.
run() {
	kind=$1 dir=$2
	shift 2
	msg=$(installed "$kind") || { echo "$msg" >&2; exit 3; }
	binary "$kind"
	shim "$dir" || exit 1
	rm -f "$dir/socket" "$dir/pid"
	# The C daemon takes its socket from XENSTORED_PATH/XENSTORED_RUNDIR; oxenstored binds
	# /var/run/xenstored/socket, which the shim moves to XSSHIM_RUNDIR.
	export XENSTORED_RUNDIR="$dir" XENSTORED_PATH="$dir/socket" XSSHIM_RUNDIR="$dir" LD_PRELOAD="$shim"
	if [ "$kind" = c ]; then
		# No -D: the shim lets the daemon set up dom0 as on a Xen host (4.17 with -D
		# crashes on the first request, having no dom0).
		exec "$bin" -N -F "$dir/pid" "$@"
	fi
	# Debian's /etc/xen/oxenstored.conf, its files moved into DIR.
	cat >"$dir/oxenstored.conf" <<EOF
pid-file = $dir/pid
test-eagain = false
merge-activate = true
conflict-burst-limit = 5.0
conflict-max-history-seconds = 0.05
conflict-rate-limit-is-aggregate = true
perms-activate = true
perms-watch-activate = true
quota-activate = true
quota-maxentity = 1000
quota-maxsize = 2048
quota-maxwatch = 100
quota-transaction = 10
quota-maxrequests = 1024
quota-path-max = 1024
quota-maxoutstanding = 1024
quota-maxwatchevents = 1024
persistent = false
xenstored-log-file = $dir/xenstored.log
xenstored-log-level = warn
access-log-file = $dir/xenstored-access.log
xenstored-kva = /proc/xen/xsd_kva
xenstored-port = /proc/xen/xsd_port
EOF
	exec "$bin" --config-file "$dir/oxenstored.conf" --no-fork "$@"
}

# start KIND DIR ARGS...: run in the background, in its own session (no signal meant for the
# caller's terminal reaches it); its pid on stdout once it listens.
start() {
	kind=$1 dir=$2
	shift 2
	msg=$(installed "$kind") || { echo "$msg" >&2; exit 3; }
	binary "$kind"
	rm -f "$dir/socket" "$dir/pid"
	setsid sh "$0" run "$kind" "$dir" "$@" >"$dir/daemon.log" 2>&1 </dev/null &
	child=$!
	i=0
	while ! { [ -S "$dir/socket" ] && [ -s "$dir/pid" ]; }; do
		if ! alive "$child" || [ $i -ge 200 ]; then
			why="exited"
			alive "$child" && why="did not listen on $dir/socket within 10 s" && kill -9 "$child"
			echo "$name ($bin) is installed but failed to start ($why); its log, $dir/daemon.log:" >&2
			sed 's/^/    /' "$dir/daemon.log" >&2
			exit 1
		fi
		sleep 0.05
		i=$((i + 1))
	done
	cat "$dir/pid"
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
check)
	[ $# = 1 ] || usage
	installed "$1"
	;;
run | start)
	[ $# -ge 2 ] || usage
	mkdir -p "$2" || exit 1
	kind=$1 dir=$(cd "$2" && pwd)
	shift 2
	"$cmd" "$kind" "$dir" "$@"
	;;
stop)
	[ $# = 1 ] || usage
	pid=$(cat "$1/pid" 2>/dev/null) || exit 0
	[ -n "$pid" ] || exit 0
	kill "$pid" 2>/dev/null
	i=0
	while alive "$pid" && [ $i -lt 100 ]; do
		sleep 0.05
		i=$((i + 1))
	done
	alive "$pid" && kill -9 "$pid" 2>/dev/null
	rm -f "$1/pid"
	;;
*)
	usage
	;;
esac
