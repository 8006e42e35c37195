#!/bin/sh
# The README's block-device flow, run as written there with the programs the build made:
# a 64 MiB image, xs-simhyp and xenstored on a private run directory, xs-blkback,
# guest 5 with xs-blkfront, sectors written and read from the guest, both ends'
# states seen from dom0 with xenstore-ls/xenstore-watch (Debian's xenstore-utils,
# when installed), detach, both ends Closed and the nodes gone. Every process it
# starts is stopped by its PID; the run directory goes.
set -eu

O=${O:-.}
B=$(cd "$O" && pwd)
RUN=$(mktemp -d /tmp/blkflow.XXXXXX)
PIDS=""
fail() {
	echo "check-blk-flow: FAIL: $*" >&2
	for f in "$RUN"/*.log; do
		[ -e "$f" ] && { echo "--- $f" >&2; tail -n 30 "$f" >&2; }
	done
	exit 1
}
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do
		i=0
		while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -9 "$p" 2>/dev/null || true
	done
	rm -rf "$RUN"
}
trap cleanup EXIT INT TERM

# Wait up to 10 s for a command to succeed.
await() {
	i=0
	until "$@" >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -lt 100 ] || return 1
		sleep 0.1
	done
}

# As the README: the clients find the store (and the hypervisor beside it) by XENSTORED_PATH.
export XENSTORED_PATH="$RUN/socket"

truncate -s 64M "$RUN/disk.img"

"$B/simhyp/xs-simhyp" -s "$RUN/simhyp" -F "$RUN/simhyp.pid" >"$RUN/simhyp.log" 2>&1 &
PIDS="$PIDS $!"
await test -S "$RUN/simhyp" || fail "xs-simhyp did not start"
XENSTORED_RUNDIR="$RUN" "$B/daemon/xenstored" -N -F "$RUN/xenstored.pid" >"$RUN/xenstored.log" 2>&1 &
PIDS="$PIDS $!"
await test -S "$RUN/socket" || fail "xenstored did not start"
"$B/drivers/xs-blkback" -v >"$RUN/blkback.log" 2>&1 &
PIDS="$PIDS $!"
# The guest returns once its domain exists (-B), printing its PID.
GUEST=$("$B/drivers/xs-blkfront" -d 5 -B run 2>"$RUN/blkfront.log") || fail "the guest did not start"
PIDS="$PIDS $GUEST"

# dom0 watches both ends' state nodes for the whole flow (Debian's client, if there).
WATCH=""
if command -v xenstore-watch >/dev/null 2>&1; then
	xenstore-watch /local/domain/0/backend/vbd /local/domain/5/device/vbd >"$RUN/watch.log" 2>&1 &
	WATCH=$!
	PIDS="$PIDS $WATCH"
fi

"$B/drivers/xs-block" introduce 5 || fail "introduce"
"$B/drivers/xs-block" attach 5 "$RUN/disk.img" xvda || fail "attach"
"$B/drivers/xs-blkfront" -d 5 wait 10000 || fail "the device did not connect"
"$B/drivers/xs-blkfront" -d 5 info | grep -q 'xvda (51712): Connected, 131072 sectors' ||
	fail "info: $("$B/drivers/xs-blkfront" -d 5 info)"

# Written by the guest: in the image at the right place.
printf 'hello from guest 5' >"$RUN/msg"
"$B/drivers/xs-blkfront" -d 5 write 100 "$RUN/msg" || fail "write"
[ "$(dd if="$RUN/disk.img" bs=512 skip=100 count=1 2>/dev/null | head -c 18)" = "hello from guest 5" ] ||
	fail "the guest's sector is not in the image"
"$B/drivers/xs-blkfront" -d 5 read 100 1 | grep -q 'hello from guest' || fail "read back"
# Written by dom0 into the image: read by the guest.
printf 'written by dom0' | dd of="$RUN/disk.img" bs=512 seek=2000 conv=notrunc 2>/dev/null
"$B/drivers/xs-blkfront" -d 5 read 2000 1 "$RUN/out" || fail "read"
[ "$(head -c 15 "$RUN/out")" = "written by dom0" ] || fail "dom0's sector read wrong"
"$B/drivers/xs-blkfront" -d 5 flush || fail "flush"

if command -v xenstore-ls >/dev/null 2>&1; then
	xenstore-ls -fp /local/domain/0/backend/vbd/5/51712 | grep -q 'sectors = "131072"' ||
		fail "xenstore-ls: no sectors"
	[ "$(xenstore-read /local/domain/5/device/vbd/51712/state)" = 4 ] || fail "frontend not Connected"
fi

"$B/drivers/xs-block" detach 5 xvda || fail "detach"
"$B/drivers/xs-block" list | grep -q 51712 && fail "the devices are still listed"
await grep -q 'vbd 51712: removed' "$RUN/blkfront.log" || fail "the guest did not see the device go"
grep -q 'vbd 51712: frontend Closed' "$RUN/blkfront.log" || fail "the frontend never said Closed"
grep -q 'vbd 5/51712: backend Closed' "$RUN/blkback.log" || fail "the backend never said Closed"

if [ -n "$WATCH" ]; then
	sleep 0.2
	grep -q '^/local/domain/5/device/vbd/51712/state' "$RUN/watch.log" || fail "xenstore-watch saw nothing"
fi
"$B/drivers/xs-blkfront" -d 5 stop >/dev/null || fail "stop"
echo "check-blk-flow: 1 passed, 0 failed"
