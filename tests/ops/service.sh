#!/bin/sh
# The systemd unit: systemd-analyze verify on it (paths pointing into this
# tree), then, where systemd runs as pid 1, a real start of a copy under a
# test name: "started" must mean the socket answers. The copy runs without
# Xen (sockets, and xs-simhyp if one comes) on a temporary run directory and is stopped and
# removed at the end; without systemd that part is skipped with a message
# (tests/ops/lifecycle.sh checks readiness against a stand-in manager).
#   sh tests/ops/service.sh UNIT OPSPROBE
set -u
UNIT=$1
P=$2
cd "$(dirname "$0")/../.."
T=$(mktemp -d /tmp/xst-service.XXXXXX)
name=xenstored-test-$$
copy=/run/systemd/system/$name.service
cleanup() {
	if [ -e "$copy" ]; then
		systemctl stop "$name" >/dev/null 2>&1
		rm -f "$copy"
		systemctl daemon-reload
		systemctl reset-failed "$name" >/dev/null 2>&1
	fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
failed=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; failed=1; }

echo "== systemd-analyze verify"
if ! command -v systemd-analyze >/dev/null; then
	echo "check-service: systemd-analyze is missing (scripts/deps.sh --test installs systemd)"
	exit 1
fi
mkdir -p "$T/man/man8" "$T/man/man5" "$T/unit"
cp docs/man/xenstored.8 "$T/man/man8/"
cp docs/man/xenstored.conf.5 "$T/man/man5/"
cp "$UNIT" "$T/unit/xenstored.service"
# Warnings count: systemd-analyze exits 0 on an unknown setting.
if (cd "$T" && MANPATH=$T/man systemd-analyze verify "$T/unit/xenstored.service") >"$T/verify" 2>&1 &&
	[ ! -s "$T/verify" ]; then
	ok "no complaint"
else
	bad "systemd-analyze verify"
	cat "$T/verify"
fi

echo "== a real start under systemd"
init=$(ps -p 1 -o comm= 2>/dev/null)
if [ "$init" != systemd ] || [ ! -d /run/systemd/system ] || [ "$(id -u)" != 0 ]; then
	echo "skip: systemd is not running here (pid 1 is ${init:-unknown}, uid $(id -u)): the unit was verified, not started"
	[ "$failed" = 0 ] && echo "service: all passed"
	exit "$failed"
fi
# The installed unit, less what would touch the host: Debian's settings, the
# Xen preparation, the real pid file; a test run directory and the simulation.
run=$T/run
sed -e '/^EnvironmentFile=/d' -e '/^ExecStartPre=/d' -e '/^RefuseManualStop=/d' \
	-e "s|^Environment=XENSTORED_ARGS=.*|Environment=XENSTORED_ARGS=--hypervisor=sim\\nEnvironment=XENSTORED_RUNDIR=$run|" \
	-e "s|--pid-file /run/xenstore.pid|--pid-file $T/pid|" \
	-e '/^\[Install\]/,$d' "$UNIT" >"$copy"
systemctl daemon-reload
if ! systemctl start "$name"; then
	bad "systemctl start"
	systemctl status "$name" --no-pager
elif [ "$(systemctl show -p ConditionResult --value "$name")" = no ]; then
	echo "skip: the unit's conditions keep it from starting here (a Xen guest?)"
else
	# systemctl start returns once READY=1 arrived: the socket must answer now.
	if "$P" ask "$run/socket"; then ok "started: the socket answers at once"; else bad "started, but no answer"; fi
	mainpid=$(systemctl show -p MainPID --value "$name")
	if [ "$mainpid" = "$(cat "$T/pid" 2>/dev/null)" ]; then ok "MainPID is the daemon of the pid file"; else
		bad "MainPID $mainpid, pid file $(cat "$T/pid" 2>/dev/null)"; fi
	if systemctl stop "$name" && [ ! -e "$run/socket" ] && [ ! -e "$T/pid" ]; then
		ok "stopped cleanly"
	else
		bad "stop"
	fi
fi
[ "$failed" = 0 ] && echo "service: all passed"
exit "$failed"
