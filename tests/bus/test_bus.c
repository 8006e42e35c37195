/* Bus scenarios against the real daemon: the exact state sequences both ends of a device see, through connect, failure, restart, suspend, loss. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "proto/ring.h"

#define S_INITIALISING XSL_XBS_INITIALISING
#define S_INITWAIT XSL_XBS_INITWAIT
#define S_INITIALISED XSL_XBS_INITIALISED
#define S_CONNECTED XSL_XBS_CONNECTED
#define S_CLOSING XSL_XBS_CLOSING
#define S_CLOSED XSL_XBS_CLOSED

/* The whole handshake, as each end sees it (frontend.md 2.6 and 6.10). */
#define FRONT_WROTE S_INITIALISED, S_CONNECTED
#define FRONT_TOLD S_INITWAIT, S_CONNECTED
#define BACK_WROTE S_INITWAIT, S_CONNECTED
#define BACK_TOLD S_INITIALISING, S_INITIALISED, S_CONNECTED

#define OK(call)                                                                   \
	do {                                                                       \
		int err_ = (call);                                                 \
		ck_assert_msg(err_ >= 0, "%s: %s", #call, strerror(-err_));        \
	} while (0)

static struct bt_world W;

/* A daemon, the guest, dom0's backend end and the guest's frontend end (not registered yet). */
static void up(enum bt_kind front_kind)
{
	bt_up(&W);
	bt_end_start(&W, &W.back, XSL_BUS_BACKEND, BT_SOCKET);
	bt_end_start(&W, &W.front, XSL_BUS_FRONTEND, front_kind);
}

/* The backend reaches InitWait and reads the frontend's Initialising before the frontend looks: each end's first view is then fixed. */
static void connect_first(const char *devid)
{
	bt_attach(&W, devid);
	bt_end_register(&W.back);
	bt_wait_own(&W.back, 0, S_INITWAIT);
	bt_wait_nseen(&W.back, 0, 1);
	bt_end_register(&W.front);
	bt_wait_nseen(&W.back, 0, 3);
	bt_wait_own(&W.front, 0, S_CONNECTED);
}

/* Attach while both buses run, the frontend held until the backend is in InitWait. */
static void connect_running(const char *devid, unsigned i)
{
	bt_pause(&W.front, true);
	bt_attach(&W, devid);
	bt_wait_own(&W.back, i, S_INITWAIT);
	bt_wait_nseen(&W.back, i, 1);
	bt_pause(&W.front, false);
	bt_wait_nseen(&W.back, i, 3);
	bt_wait_own(&W.front, i, S_CONNECTED);
}

/* Detach as libxl does, one step at a time: both ends are seen Closed before the directories go. */
static void detach_steps(const char *devid, unsigned i)
{
	struct xsl_bus_attach a = bt_device(devid);

	OK(xsl_bus_toolstack_close(W.dom0, &a));
	bt_wait_own(&W.back, i, S_CLOSED);
	bt_wait_seen(&W.front, i, S_CLOSED);
	OK(xsl_bus_toolstack_remove(W.dom0, &a));
	bt_wait_removed(&W.front, i);
	bt_wait_removed(&W.back, i);
}

/* Device i went through the handshake, and nothing more was written or told. */
static void expect_connected(unsigned i)
{
	bt_expect(&W.front, i, BT_SEQ(FRONT_WROTE), BT_SEQ(FRONT_TOLD));
	bt_expect(&W.back, i, BT_SEQ(BACK_WROTE), BT_SEQ(BACK_TOLD));
}

/* The backend was set to Closing after the handshake: both ends closed as Linux's blkfront and blkback do. */
static void expect_closed(unsigned i)
{
	bt_expect(&W.front, i, BT_SEQ(FRONT_WROTE, S_CLOSED), BT_SEQ(FRONT_TOLD, S_CLOSING, S_CLOSED));
	bt_expect(&W.back, i, BT_SEQ(BACK_WROTE, S_CLOSED), BT_SEQ(BACK_TOLD, S_CLOSED));
}

/* Detach it step by step: both ends close, and go. */
static void expect_detached(const char *devid, unsigned i)
{
	detach_steps(devid, i);
	expect_closed(i);
}

static void expect_value(const char *path, const char *want)
{
	char buf[512];

	ck_assert_msg(strcmp(bt_read(&W, path, buf, sizeof(buf)), want) == 0, "%s: '%s', expected '%s'",
		      path, buf, want);
}

static void expect_perms(const char *path, unsigned owner, unsigned reader)
{
	struct xsl_perm *p = NULL;
	unsigned n = 0;

	OK(xsl_get_perms(W.dom0, 0, path, &p, &n));
	ck_assert_msg(n == 2 && p[0].domid == owner && p[0].access == XSL_PERM_NONE &&
			      p[1].domid == reader && p[1].access == XSL_PERM_READ,
		      "%s: perms not n%u r%u", path, owner, reader);
	free(p);
}

/* In the frontend's thread, outside callbacks: a driver's wait for its backend. */
static int wait_in(struct bt_end *e, void *arg)
{
	struct xsl_bus_dev *dev = e->rec[0].dev;
	int s;

	(void)arg;
	if (!dev)
		return -ENODEV;
	s = xsl_bus_wait_otherend(dev, XSL_XBS_BIT(S_CONNECTED), BT_WAIT_MS);
	if (s != S_CONNECTED)
		return s < 0 ? s : -EPROTO;
	s = xsl_bus_wait_otherend(dev, XSL_XBS_BIT(S_CLOSED), 100);
	return s == -ETIMEDOUT ? 0 : s < 0 ? s : -EPROTO;
}

START_TEST(test_connect)
{
	char fdir[128], bdir[128], path[192];

	up(BT_RING);
	connect_first("768");
	bt_front_dir(fdir, sizeof(fdir), "768");
	bt_back_dir(bdir, sizeof(bdir), "768");
	/* As xl block-attach leaves them: each end's directory its own, readable by the other. */
	expect_perms(fdir, BT_GUEST, 0);
	expect_perms(bdir, 0, BT_GUEST);
	snprintf(path, sizeof(path), "%s/ring-ref", fdir);
	expect_value(path, "8");
	snprintf(path, sizeof(path), "%s/feature-flush-cache", bdir);
	expect_value(path, "1");
	/* The guest's store event channel, as its toolstack recorded it; dom0 on the socket has none. */
	ck_assert_uint_eq(bt_log_count(&W.front, "xenbus0: using event channel 1"), 1);
	ck_assert_uint_eq(bt_log_count(&W.back, "xenbus0: using the store's socket"), 1);
	expect_connected(0);
	/* Waiting: from the program's flow it works; from otherend_changed it said -EDEADLK at once. */
	OK(bt_do(&W.front, wait_in, NULL));
	ck_assert_int_eq(bt_rec(&W.front, 0).cb_wait, -EDEADLK);

	/* Detach: the backend to Closing, both reach Closed, the directories go. */
	expect_detached("768", 0);
	expect_value(fdir, "(ENOENT)");
	expect_value("/local/domain/0/backend/vbd/5", "(ENOENT)");
	ck_assert_uint_eq(bt_rec(&W.front, 0).removes, 1);
	ck_assert_uint_eq(bt_rec(&W.back, 0).removes, 1);
	bt_down(&W);
}
END_TEST

/* The backend cannot use what the frontend published: it reports under error/ and closes. */
START_TEST(test_backend_closing)
{
	char path[192];

	up(BT_RING);
	W.front.mode = BT_NO_RING_REF;
	bt_attach(&W, "768");
	bt_end_register(&W.back);
	bt_wait_own(&W.back, 0, S_INITWAIT);
	bt_wait_nseen(&W.back, 0, 1);
	bt_end_register(&W.front);
	bt_wait_own(&W.back, 0, S_CLOSED);
	bt_wait_seen(&W.front, 0, S_CLOSED);
	bt_expect(&W.back, 0, BT_SEQ(S_INITWAIT, S_CLOSING, S_CLOSED),
		  BT_SEQ(S_INITIALISING, S_INITIALISED, S_CLOSED));
	bt_expect(&W.front, 0, BT_SEQ(S_INITIALISED, S_CLOSED),
		  BT_SEQ(S_INITWAIT, S_CLOSING, S_CLOSED));
	/* Linux's xenbus_dev_error layout: <home>/error/<nodename below home>/error = "<errno> <message>". */
	snprintf(path, sizeof(path), "/local/domain/0/error/backend/vbd/%u/768/error", BT_GUEST);
	expect_value(path, "2 reading ring-ref and event-channel from /local/domain/5/device/vbd/768");
	ck_assert_uint_eq(bt_log_count(&W.back, "error 2: reading ring-ref"), 1);
	bt_down(&W);
}
END_TEST

/* A new frontend finds its device Connected: walked back with the backend, then connected again. */
START_TEST(test_frontend_restart)
{
	up(BT_RING);
	connect_first("768");
	bt_end_stop(&W.front);
	ck_assert_uint_eq(W.front.rec[0].removes, 1);
	/* The store keeps what the old one left: state Connected. */
	bt_end_start(&W, &W.front, XSL_BUS_FRONTEND, BT_RING);
	bt_end_register(&W.front);
	bt_wait_own(&W.front, 0, S_CONNECTED);
	bt_wait_nseen(&W.back, 0, 8);
	bt_expect(&W.front, 0, BT_SEQ(FRONT_WROTE), BT_SEQ(FRONT_TOLD));
	bt_expect(&W.back, 0, BT_SEQ(BACK_WROTE, S_CLOSING, S_CLOSED, S_INITWAIT, S_CONNECTED),
		  BT_SEQ(BACK_TOLD, S_CLOSING, S_CLOSED, S_INITIALISING, S_INITIALISED, S_CONNECTED));
	ck_assert_uint_eq(bt_log_count(&W.front, "walking it back to Initialising"), 1);
	bt_down(&W);
}
END_TEST

static int suspend_in(struct bt_end *e, void *arg)
{
	(void)arg;
	return xsl_bus_suspend(e->bus);
}

static int resume_in(struct bt_end *e, void *arg)
{
	(void)arg;
	return xsl_bus_resume(e->bus);
}

static int reconnect_in(struct bt_end *e, void *arg)
{
	struct xsl_stats st;
	int err = xsl_reconnect(e->h);

	(void)arg;
	if (err < 0)
		return err;
	xsl_stats(e->h, &st);
	return st.reconnects == 1 ? 0 : -EPROTO;
}

/*
 * Suspend, migrate, resume: the toolstack makes both directories afresh
 * (a new backend device), the guest's ring reconnects (watches replayed),
 * the frontend resumes and connects to the new backend.
 */
START_TEST(test_suspend_resume)
{
	struct xsl_bus_attach a = bt_device("768");
	struct bt_rec r;

	up(BT_RING);
	connect_first("768");
	OK(bt_do(&W.front, suspend_in, NULL));
	ck_assert_uint_eq(bt_rec(&W.front, 0).suspends, 1);
	OK(xsl_bus_toolstack_remove(W.dom0, &a));
	bt_wait_removed(&W.back, 0);
	bt_attach(&W, "768");
	bt_wait_own(&W.back, 1, S_INITWAIT);
	bt_wait_nseen(&W.back, 1, 1);
	/* The ring's reconnection handshake, as a resumed guest's kernel does it. */
	OK(bt_do(&W.front, reconnect_in, NULL));
	OK(bt_do(&W.front, resume_in, NULL));
	bt_wait_nown(&W.front, 0, 4);
	bt_wait_nseen(&W.back, 1, 3);
	bt_expect(&W.front, 0, BT_SEQ(FRONT_WROTE, FRONT_WROTE), BT_SEQ(FRONT_TOLD, FRONT_TOLD));
	bt_expect(&W.back, 0, BT_SEQ(BACK_WROTE), BT_SEQ(BACK_TOLD));
	bt_expect(&W.back, 1, BT_SEQ(BACK_WROTE), BT_SEQ(BACK_TOLD));
	r = bt_rec(&W.front, 0);
	ck_assert_uint_eq(r.probes, 1);
	ck_assert_uint_eq(r.suspends, 1);
	ck_assert_uint_eq(r.resumes, 1);
	ck_assert_uint_eq(r.removes, 0);
	ck_assert_uint_eq(bt_rec(&W.back, 0).removes, 1);
	bt_down(&W);
}
END_TEST

/* The guest's ring reconnects under a connected device (the store's reconnection feature): watches replayed, nothing told twice. */
START_TEST(test_ring_reconnect)
{
	up(BT_RING);
	connect_first("768");
	OK(bt_do(&W.front, reconnect_in, NULL));
	expect_connected(0);
	/* The replayed watches carry on: the detach goes through. */
	expect_detached("768", 0);
	bt_down(&W);
}
END_TEST

static int reconnects_in(struct bt_end *e, void *arg)
{
	struct xsl_stats st;

	(void)arg;
	xsl_stats(e->h, &st);
	return (int)st.reconnects;
}

static void wait_reconnected(struct bt_end *e)
{
	for (int i = 0; bt_do(e, reconnects_in, NULL) < 1; i++) {
		ck_assert_msg(i < BT_WAIT_MS / BT_SETTLE_MS, "%s end did not reconnect", e->label);
		bt_settle();
	}
}

/* The daemon restarts under both ends (sockets reconnecting): nothing is told twice, and detach still works. */
START_TEST(test_daemon_restart)
{
	up(BT_SOCKET_AS);
	connect_first("768");
	bt_restart_daemon(&W, false);
	wait_reconnected(&W.front);
	wait_reconnected(&W.back);
	expect_connected(0);
	/* Through the new daemon. */
	expect_detached("768", 0);
	bt_down(&W);
}
END_TEST

/* The daemon's log line for a ring whose framing a kill lost. */
#define HALF_MESSAGE "(a message half read or half written): asking the guest to reconnect"

/* Both directories of the device are gone. */
static void expect_nodes_gone(const char *devid)
{
	char dir[128];

	bt_front_dir(dir, sizeof(dir), devid);
	expect_value(dir, "(ENOENT)");
	bt_back_dir(dir, sizeof(dir), devid);
	expect_value(dir, "(ENOENT)");
}

/* Detached step by step: both ends closed as after the handshake, and the nodes went. */
static void expect_detached_gone(const char *devid, unsigned i)
{
	expect_detached(devid, i);
	expect_nodes_gone(devid);
}

/* Both ends registered, the guest's frontend paused: what the store tells it waits in its ring. */
static void up_front_paused(void)
{
	up(BT_RING);
	bt_end_register(&W.back);
	bt_end_register(&W.front);
	bt_pause(&W.front, true);
}

/*
 * How often each end's handle reconnected: the frontend's (the guest's ring
 * started afresh) exactly, the backend's socket at least (a connection into
 * a dying daemon's backlog counts too). Then everything stops.
 */
static void expect_reconnects_down(int front, int back_min)
{
	ck_assert_int_eq(bt_do(&W.front, reconnects_in, NULL), front);
	ck_assert_int_ge(bt_do(&W.back, reconnects_in, NULL), back_min);
	bt_down(&W);
}

/* The daemon's log: the guest's ring was taken up as it was, with this many of its watches, times times in all. */
static void expect_taken_up(unsigned watches, int times)
{
	char needle[64];

	snprintf(needle, sizeof(needle), "%u watches): its ring goes on", watches);
	ck_assert_msg(xst_daemon_log_count(&W.d, needle) == times, "'%s' logged %d times, expected %d",
		      needle, xst_daemon_log_count(&W.d, needle), times);
}

/*
 * The daemon restarts under a Connected device whose frontend is the guest
 * on its ring: stopped cleanly (_i 0) or killed (_i 1). The new daemon takes
 * the ring up where it was, with the guest's two watches (its type's and
 * the backend's state), without a new INTRODUCE: the guest notices nothing
 * (no reconnection), the backend's socket reconnects. Nothing is told
 * twice: a device attached afterwards connects through the watches taken
 * up, and detach closes both ends and removes the nodes.
 */
START_TEST(test_daemon_restart_ring)
{
	up(BT_RING);
	connect_first("768");
	bt_restart_daemon(&W, _i == 1);
	expect_taken_up(2, 1);
	wait_reconnected(&W.back);
	expect_connected(0);
	connect_running("832", 1);
	expect_connected(1);
	expect_detached_gone("768", 0);
	expect_detached_gone("832", 1);
	expect_reconnects_down(0, 1);
}
END_TEST

/*
 * The daemon restarts three times in the middle of the handshake, stopped
 * cleanly (_i 0) or killed (_i 1): with the backend in InitWait and the
 * device's coming still unread in the guest's ring (its frontend paused, no
 * watch on the backend yet); with the frontend inside its publication
 * transaction (which dies with the daemon: the store answers its next
 * request EAGAIN and the transaction runs again); and with the frontend's
 * Initialised published and the backend (paused) not yet told. Each end
 * then sees the handshake exactly once, as without the restarts.
 */
START_TEST(test_daemon_restart_ring_negotiating)
{
	up_front_paused();
	bt_attach(&W, "768");
	bt_wait_own(&W.back, 0, S_INITWAIT);
	bt_wait_nseen(&W.back, 0, 1);
	ck_assert_uint_gt(bt_ring_unread(&W), 0);
	bt_restart_daemon(&W, _i == 1);
	expect_taken_up(1, 1); /* the type's watch */
	wait_reconnected(&W.back);

	bt_pause(&W.back, true);
	bt_hold(&W.front, true);
	bt_pause(&W.front, false);
	bt_wait_held(&W.front);
	bt_restart_daemon(&W, _i == 1);
	expect_taken_up(2, 1); /* and the backend's state */
	bt_hold(&W.front, false);
	bt_wait_own(&W.front, 0, S_INITIALISED);
	ck_assert_uint_eq(bt_rec(&W.front, 0).publishes, 2);

	bt_restart_daemon(&W, _i == 1);
	expect_taken_up(2, 2);
	bt_pause(&W.back, false);
	bt_wait_nseen(&W.back, 0, 3);
	bt_wait_own(&W.front, 0, S_CONNECTED);
	expect_connected(0);
	expect_detached_gone("768", 0);
	expect_reconnects_down(0, 2);
}
END_TEST

/*
 * Restarted, stopped cleanly (_i 0) or killed (_i 1), while the guest,
 * paused, had not read of six devices coming: more events than its ring
 * holds, the rest queued in the daemon. A clean stop hands all of it to the
 * next daemon, which goes on where it stopped. A killed daemon's successor
 * cannot go on from half a message: if the ring's last event was cut, it
 * asks the guest to reconnect (the store's reconnection feature) and the
 * guest's library does so by itself, its watches registered again; if not,
 * it goes on from the indices and, the queued events lost, fires each of
 * the guest's watches once more. Either way every device connects with the
 * handshake told once, and closes.
 */
START_TEST(test_daemon_restart_ring_events_queued)
{
	static const char *const ids[] = {"768", "832", "896", "960", "1024", "1088"};
	const unsigned n = sizeof(ids) / sizeof(ids[0]);
	bool cut;

	up_front_paused();
	for (unsigned i = 0; i < n; i++)
		bt_attach(&W, ids[i]);
	bt_wait_recs(&W.back, n);
	for (unsigned i = 0; i < n; i++) {
		bt_wait_own(&W.back, i, S_INITWAIT);
		bt_wait_nseen(&W.back, i, 1);
	}
	/* The ring full; the rest waits in the daemon. */
	ck_assert_uint_eq(bt_ring_unread(&W), XS_RING_SIZE);
	cut = bt_ring_cut(&W);
	bt_restart_daemon(&W, _i == 1);
	ck_assert_int_eq(xst_daemon_log_count(&W.d, _i == 0 ? "taken up where a clean stop left it"
						    : cut  ? HALF_MESSAGE
							   : "watch events were lost"),
			 1);
	bt_pause(&W.front, false);
	bt_wait_recs(&W.front, n);
	for (unsigned i = 0; i < n; i++) {
		bt_wait_own(&W.front, i, S_CONNECTED);
		bt_wait_nseen(&W.back, i, 3);
	}
	for (unsigned i = 0; i < n; i++)
		expect_connected(i);
	for (unsigned i = 0; i < n; i++) {
		struct xsl_bus_attach a = bt_device(ids[i]);

		OK(xsl_bus_toolstack_close(W.dom0, &a));
	}
	for (unsigned i = 0; i < n; i++) {
		bt_wait_own(&W.back, i, S_CLOSED);
		bt_wait_seen(&W.front, i, S_CLOSED);
	}
	for (unsigned i = 0; i < n; i++) {
		struct xsl_bus_attach a = bt_device(ids[i]);

		OK(xsl_bus_toolstack_remove(W.dom0, &a));
	}
	for (unsigned i = 0; i < n; i++) {
		bt_wait_removed(&W.front, i);
		bt_wait_removed(&W.back, i);
		expect_closed(i);
		expect_nodes_gone(ids[i]);
	}
	expect_reconnects_down(_i == 1 && cut, 1);
}
END_TEST

/*
 * Killed while the guest was half way through writing a request: the next
 * daemon cannot know where the ring's messages stand, so it serves nothing
 * but a reconnection (error field XENSTORE_ERROR_COMM). The guest's library
 * reconnects by itself (the store's reconnection feature) and registers its
 * watches again; their first events tell the bus each other end's state
 * again, which it does not tell its drivers twice. The device still
 * detaches. (test_ring_reconnect is the reconnection the guest asks for.)
 */
START_TEST(test_daemon_killed_ring_resync)
{
	up(BT_RING);
	connect_first("768");
	bt_pause(&W.front, true);
	bt_ring_half_request(&W);
	bt_restart_daemon(&W, true);
	ck_assert_int_eq(xst_daemon_log_count(&W.d, HALF_MESSAGE), 1);
	expect_taken_up(2, 0);
	bt_pause(&W.front, false);
	wait_reconnected(&W.front);
	wait_reconnected(&W.back);
	expect_connected(0);
	expect_detached_gone("768", 0);
	expect_reconnects_down(1, 1);
}
END_TEST

/*
 * The same in the middle of the handshake: killed while the frontend was
 * inside its publication transaction, whose next request went into the
 * ring while no daemon ran. The next daemon serves nothing but the
 * reconnection, so that request is never answered: the transaction died
 * with the ring's old life, and runs again on the new one. Each end sees
 * the handshake exactly once.
 */
START_TEST(test_daemon_killed_ring_resync_negotiating)
{
	up(BT_RING);
	bt_attach(&W, "768");
	bt_end_register(&W.back);
	bt_wait_own(&W.back, 0, S_INITWAIT);
	bt_wait_nseen(&W.back, 0, 1);
	bt_hold(&W.front, true);
	bt_end_register(&W.front);
	bt_wait_held(&W.front);
	bt_ring_half_request(&W);
	bt_stop_daemon(&W, true);
	bt_hold(&W.front, false);
	bt_wait_ring_request(&W);
	bt_start_daemon(&W);
	ck_assert_int_eq(xst_daemon_log_count(&W.d, HALF_MESSAGE), 1);
	bt_wait_nown(&W.front, 0, 1);
	bt_wait_nseen(&W.back, 0, 3);
	bt_wait_own(&W.front, 0, S_CONNECTED);
	expect_connected(0);
	ck_assert_uint_eq(bt_rec(&W.front, 0).publishes, 2);
	expect_detached_gone("768", 0);
	expect_reconnects_down(1, 1);
}
END_TEST

/* The backend's directory vanishes (its domain went): the frontend is told Closed; each end is removed with its directory. */
START_TEST(test_otherend_vanishes)
{
	char bdir[128], fdir[128];

	up(BT_RING);
	connect_first("768");
	bt_back_dir(bdir, sizeof(bdir), "768");
	bt_front_dir(fdir, sizeof(fdir), "768");
	bt_pause(&W.front, true);
	OK(xsl_rm(W.dom0, 0, bdir));
	bt_wait_removed(&W.back, 0);
	bt_pause(&W.front, false);
	bt_wait_own(&W.front, 0, S_CLOSED);
	bt_expect(&W.front, 0, BT_SEQ(FRONT_WROTE, S_CLOSED), BT_SEQ(FRONT_TOLD, S_CLOSED));
	bt_expect(&W.back, 0, BT_SEQ(BACK_WROTE), BT_SEQ(BACK_TOLD));
	ck_assert_uint_eq(bt_log_count(&W.front, "768: gone: taken as Closed"), 1);
	ck_assert_uint_eq(bt_rec(&W.front, 0).removes, 0);
	OK(xsl_rm(W.dom0, 0, fdir));
	bt_wait_removed(&W.front, 0);
	bt_down(&W);
}
END_TEST

static void write_state(const char *dir, const char *v)
{
	char path[192];

	snprintf(path, sizeof(path), "%s/state", dir);
	OK(xsl_write(W.dom0, 0, path, v, strlen(v)));
}

/* Junk, Unknown and missing states are ignored (logged once a run); a flood costs one event. */
START_TEST(test_junk_states)
{
	static const char *const junk[] = {"", "9", "04", " 4", "4\n", "-1", "0", "Connected"};
	char bdir[128], fdir[128], path[192];

	up(BT_RING);
	connect_first("768");
	bt_back_dir(bdir, sizeof(bdir), "768");
	bt_front_dir(fdir, sizeof(fdir), "768");
	write_state(bdir, "junk");
	bt_wait_log(&W.front, "junk value 'junk' ignored");
	for (unsigned i = 0; i < sizeof(junk) / sizeof(junk[0]); i++)
		write_state(bdir, junk[i]);
	snprintf(path, sizeof(path), "%s/state", bdir);
	OK(xsl_rm(W.dom0, 0, path));
	write_state(fdir, "x");
	bt_wait_log(&W.back, "junk value 'x' ignored");
	bt_settle();
	/* One line for the whole run of unusable values. */
	ck_assert_uint_eq(bt_log_count(&W.front, "ignored"), 1);
	ck_assert_uint_eq(bt_log_count(&W.back, "ignored"), 1);

	/* A flood of states while the frontend does not pump: one event waits, the last value counts. */
	bt_pause(&W.front, true);
	for (int i = 0; i < 200; i++)
		write_state(bdir, i % 2 ? "4" : "5");
	bt_pause(&W.front, false);
	bt_wait_log(&W.front, "Connected again");
	write_state(fdir, "4");
	bt_wait_log(&W.back, "Connected again");
	expect_connected(0);

	/* Valid again, and acted on. */
	write_state(bdir, "5");
	bt_wait_own(&W.back, 0, S_CLOSED);
	bt_wait_seen(&W.front, 0, S_CLOSED);
	expect_closed(0);
	bt_down(&W);
}
END_TEST

static void wait_value(const char *path, const char *want)
{
	char buf[512];

	for (int i = 0; strcmp(bt_read(&W, path, buf, sizeof(buf)), want) != 0; i++) {
		ck_assert_msg(i < BT_WAIT_MS / BT_SETTLE_MS, "%s: '%s', expected '%s'", path, buf, want);
		bt_settle();
	}
}

static void set_key(const char *devid, const char *key, const char *v)
{
	char dir[128], path[192];

	bt_front_dir(dir, sizeof(dir), devid);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	OK(xsl_write(W.dom0, 0, path, v, strlen(v)));
}

/* Other-end details that are junk, inconsistent or point nowhere: reported, Closing, never probed. */
START_TEST(test_junk_otherend)
{
	static const char *const ids[] = {"768", "832", "896", "960"};
	char path[192], want[256], bdir[128];

	up(BT_RING);
	for (unsigned i = 0; i < 4; i++)
		bt_attach(&W, ids[i]);
	set_key("768", "backend-id", "0x0");
	set_key("832", "backend", "/local/domain/3/backend/vbd/5/832");
	bt_back_dir(bdir, sizeof(bdir), "896");
	OK(xsl_rm(W.dom0, 0, bdir));
	set_key("960", "backend", "backend/vbd/5/960");
	bt_end_register(&W.front);
	for (unsigned i = 0; i < 4; i++) {
		bt_front_dir(path, sizeof(path), ids[i]);
		strcat(path, "/state");
		wait_value(path, "5");
	}
	snprintf(path, sizeof(path), "/local/domain/%u/error/device/vbd/768/error", BT_GUEST);
	snprintf(want, sizeof(want),
		 "22 reading other end details from /local/domain/%u/device/vbd/768: its domain id is not a domain id",
		 BT_GUEST);
	expect_value(path, want);
	snprintf(path, sizeof(path), "/local/domain/%u/error/device/vbd/832/error", BT_GUEST);
	snprintf(want, sizeof(want),
		 "22 reading other end details from /local/domain/%u/device/vbd/832: its path is not a directory of the domain it names",
		 BT_GUEST);
	expect_value(path, want);
	snprintf(path, sizeof(path), "/local/domain/%u/error/device/vbd/896/error", BT_GUEST);
	snprintf(want, sizeof(want),
		 "2 reading other end details from /local/domain/%u/device/vbd/896: the other end is missing or not readable",
		 BT_GUEST);
	expect_value(path, want);
	bt_settle();
	pthread_mutex_lock(&W.front.lock);
	ck_assert_uint_eq(W.front.nrec, 0);
	pthread_mutex_unlock(&W.front.lock);
	bt_down(&W);
}
END_TEST

/* Devices come and go while both buses run; the others are not disturbed. */
START_TEST(test_hotplug)
{
	struct xsl_bus_attach a1 = bt_device("832");

	up(BT_RING);
	bt_end_register(&W.back);
	bt_end_register(&W.front);
	connect_running("768", 0);
	connect_running("832", 1);
	expect_detached("768", 0);
	expect_connected(1);
	ck_assert_uint_eq(bt_rec(&W.front, 1).removes, 0);
	/*
	 * libxl's whole detach, the ends running meanwhile: the directories go
	 * as soon as the backend is Closed, so whether the frontend still read
	 * that Closed before they went is a race of the two domains.
	 */
	ck_assert_int_eq(xsl_bus_toolstack_detach(W.dom0, &a1, BT_WAIT_MS), 0);
	bt_wait_removed(&W.front, 1);
	bt_wait_removed(&W.back, 1);
	bt_expect_either(&W.front, 1, BT_SEQ(FRONT_WROTE, S_CLOSED),
			 BT_SEQ(FRONT_TOLD, S_CLOSING, S_CLOSED), BT_SEQ(FRONT_TOLD, S_CLOSING));
	bt_expect(&W.back, 1, BT_SEQ(BACK_WROTE, S_CLOSED), BT_SEQ(BACK_TOLD, S_CLOSED));
	bt_down(&W);
}
END_TEST

Suite *suite_bus(void)
{
	Suite *s = suite_create("bus");
	TCase *tc = tcase_create("scenarios");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_connect);
	tcase_add_test(tc, test_backend_closing);
	tcase_add_test(tc, test_frontend_restart);
	tcase_add_test(tc, test_suspend_resume);
	tcase_add_test(tc, test_ring_reconnect);
	tcase_add_test(tc, test_daemon_restart);
	tcase_add_loop_test(tc, test_daemon_restart_ring, 0, 2);
	tcase_add_loop_test(tc, test_daemon_restart_ring_negotiating, 0, 2);
	tcase_add_loop_test(tc, test_daemon_restart_ring_events_queued, 0, 2);
	tcase_add_test(tc, test_daemon_killed_ring_resync);
	tcase_add_test(tc, test_daemon_killed_ring_resync_negotiating);
	tcase_add_test(tc, test_otherend_vanishes);
	tcase_add_test(tc, test_junk_states);
	tcase_add_test(tc, test_junk_otherend);
	tcase_add_test(tc, test_hotplug);
	suite_add_tcase(s, tc);
	return s;
}
