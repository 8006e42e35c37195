/* Shared declarations of the bus tests: a daemon, each end of a device in a thread of its own, recording drivers, waits. */
#ifndef XSL_BUS_TESTS_H
#define XSL_BUS_TESTS_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>

#include "client/xenstore_client.h"
#include "tests/lib/xst_daemon.h"

/* Sanitizers slow everything down and the machine is shared: generous everywhere. */
#define BT_WAIT_MS 20000
/* Quiet time before sequences are compared: a state told late would show by then. */
#define BT_SETTLE_MS 250
/* The guest domain, its store event channel (~/store/port), the device type and ids. */
#define BT_GUEST 5u
#define BT_GUEST_PORT 1u /* a fresh simulated domain's (xsl_simdom_port), as xs-simhyp makes it */
#define BT_TYPE "vbd"

/* Expected sequences: BT_SEQ(XSL_XBS_INITWAIT, ...) or BT_NONE. */
#define BT_SEQ(...) ((const int[]){__VA_ARGS__, -1})
#define BT_NONE ((const int[]){-1})

Suite *suite_xbs(void);
Suite *suite_bus(void);

enum bt_kind {
	BT_RING,      /* the guest over its simulated ring (xsl_simdom) */
	BT_SOCKET,    /* dom0 over the socket */
	BT_SOCKET_AS, /* the socket, restricted to the guest's domid (CONTROL restrict) */
};

/* What one device's driver saw and did (devices in probe order; a device probed again is a new one). */
#define BT_SEQ_MAX 24
struct bt_rec {
	char nodename[128];
	int own[BT_SEQ_MAX]; /* states the driver wrote (switches that wrote) */
	unsigned nown;
	int seen[BT_SEQ_MAX]; /* states otherend_changed told */
	unsigned nseen;
	unsigned probes, removes, suspends, resumes;
	unsigned publishes; /* a frontend's publication transactions begun (attempts) */
	bool bound;
	struct xsl_bus_dev *dev; /* while bound: for commands run in the end's thread */
	int cb_wait;             /* what a wait answered inside otherend_changed (1: not tried) */
};

/* Driver behaviour (bt_end.mode). */
#define BT_NO_RING_REF 1u /* the frontend publishes no ring-ref: the backend's negotiation fails */

#define BT_RECS_MAX 8
#define BT_LOG_MAX 64
struct bt_end {
	const char *label;
	enum bt_kind kind;
	enum xsl_bus_side side;
	struct bt_world *w;
	unsigned mode;
	pthread_t th;
	int cmdfd;                 /* eventfd: a command, a pause, a stop */
	pthread_mutex_t lock;      /* everything below */
	pthread_cond_t cond;
	int (*cmd)(struct bt_end *e, void *arg);
	void *cmd_arg;
	int cmd_result;
	bool cmd_done, paused, stop;
	bool hold, held;           /* a frontend's publication waits inside its transaction (bt_hold) */
	struct xsl *h;             /* the end's thread's, like bus */
	struct xsl_bus *bus;
	struct bt_rec rec[BT_RECS_MAX];
	unsigned nrec;
	char log[BT_LOG_MAX][200];
	unsigned nlog;
	char failure[256];         /* a check that failed in the end's thread */
};

struct bt_world {
	struct xst_daemon d;
	char simhyp[320];
	struct xsl *dom0;          /* the toolstack's (the test's thread) */
	struct xsl_simdom *guest;  /* domain BT_GUEST: registered and introduced */
	struct bt_end front, back;
};

/* A daemon, dom0, the guest domain with its home, ~/domid and ~/store/port. */
void bt_up(struct bt_world *w);
/* Both ends stopped, the guest destroyed, the daemon stopped by PID (clean exit asserted). */
void bt_down(struct bt_world *w);
/*
 * Stop the daemon (cleanly, or kill -9 when kill_it), the hypervisor and
 * the guest domain left running; start it again on the same store (dom0
 * reconnected); or both.
 */
void bt_stop_daemon(struct bt_world *w, bool kill_it);
void bt_start_daemon(struct bt_world *w);
void bt_restart_daemon(struct bt_world *w, bool kill_it);
/*
 * Half a request written into the guest's ring under its library's feet
 * (its end paused, idle), taken by the daemon: a daemon killed now leaves
 * a ring whose framing the next one cannot know.
 */
void bt_ring_half_request(struct bt_world *w);
/* Wait until the guest's ring holds request bytes the store has not taken. */
void bt_wait_ring_request(struct bt_world *w);
/* Bytes the store wrote to the guest's ring that it has not read. */
unsigned bt_ring_unread(struct bt_world *w);
/* Whether those end inside a message (the rest of which the store still holds). */
bool bt_ring_cut(struct bt_world *w);

/* An end: its thread, its handle and bus (opened in the thread), its driver registered. */
void bt_end_start(struct bt_world *w, struct bt_end *e, enum xsl_bus_side side, enum bt_kind kind);
void bt_end_register(struct bt_end *e);
/* Close its bus and handle (the store is left as it is), join the thread. */
void bt_end_stop(struct bt_end *e);
/* Run fn in the end's thread (between pumps, outside callbacks) and return its result. */
int bt_do(struct bt_end *e, int (*fn)(struct bt_end *e, void *arg), void *arg);
/* A paused end does not pump: its events wait, as those of a slow domain. */
void bt_pause(struct bt_end *e, bool paused);
/*
 * A held frontend stops in its next publication, inside the transaction,
 * after its first write (its thread waits there); bt_wait_held waits for
 * that; bt_hold(e, false) lets it go on.
 */
void bt_hold(struct bt_end *e, bool hold);
void bt_wait_held(struct bt_end *e);

/* Waits (BT_WAIT_MS, then the test fails). i: the device's index in probe order. */
void bt_wait_own(struct bt_end *e, unsigned i, int state);
void bt_wait_seen(struct bt_end *e, unsigned i, int state);
/* ... until it wrote n states, was told n states. */
void bt_wait_nown(struct bt_end *e, unsigned i, unsigned n);
void bt_wait_nseen(struct bt_end *e, unsigned i, unsigned n);
void bt_wait_removed(struct bt_end *e, unsigned i);
void bt_wait_recs(struct bt_end *e, unsigned n);
void bt_wait_log(struct bt_end *e, const char *text);
/* Lines of the end's log containing text. */
unsigned bt_log_count(struct bt_end *e, const char *text);
/* After BT_SETTLE_MS: device i wrote exactly own and was told exactly seen. */
void bt_expect(struct bt_end *e, unsigned i, const int *own, const int *seen);
/* The same, where what it was told may also be seen_too (a race the test cannot order). */
void bt_expect_either(struct bt_end *e, unsigned i, const int *own, const int *seen,
		      const int *seen_too);
/* A copy of device i's record. */
struct bt_rec bt_rec(struct bt_end *e, unsigned i);
void bt_settle(void);

/* The toolstack (dom0): device devid of type BT_TYPE between BT_GUEST and dom0. */
struct xsl_bus_attach bt_device(const char *devid);
void bt_attach(struct bt_world *w, const char *devid);
/* Paths of its two directories. */
void bt_front_dir(char *buf, size_t size, const char *devid);
void bt_back_dir(char *buf, size_t size, const char *devid);
/* dom0 reads path: its value, or "(ENOENT)" and the like. */
const char *bt_read(struct bt_world *w, const char *path, char *buf, size_t size);

#endif
