/* Live update: CONTROL live-update's steps, the hand-over file, and the exec of the new binary. */
#ifndef XSD_LIVEUPDATE_H
#define XSD_LIVEUPDATE_H

#include <stdbool.h>
#include <stdint.h>

#include "../proto/wire.h"

struct session;
struct event_base;

/*
 * What main.c owns and hands over through exec: descriptors left open
 * (the locks, the pid file, the listening socket; -1: none) and whether
 * the daemon had left its terminal (the next one logs to syslog then).
 */
struct lu_fds {
	int run_lock, store_lock, pid, listen;
	bool detached;
};

/* The hand-over's format: a binary that answers --live-update-format with another is refused. */
unsigned lu_format(void);

/*
 * What a layer above keeps across an update (the request counters of
 * CONTROL stats): packed into the hand-over after everything else, and
 * unpacked there by the new binary; false if what it finds is not its.
 */
struct pack;
struct unpack;
struct lu_keeper {
	void (*pack)(struct pack *b);
	bool (*unpack)(struct unpack *r);
};

/* The loop to leave when an update is asked; argv to start the new binary with by default; what else to keep. */
void lu_init(struct event_base *base, int argc, char **argv, const struct lu_keeper *above);

/*
 * CONTROL live-update (the C daemon's steps: -f FILE, -c CMDLINE, -s [-t
 * SECS] [-F], -a; -b/-d of a stub domain are refused): XSE_OK with the
 * answer in text (OK or why not, as the C daemon answers), XSE_EINVAL for
 * a malformed step. *later: -s was taken; the answer comes from the daemon
 * that takes over (or this one, if that fails).
 */
enum xs_err lu_control(struct session *s, uint32_t req_id, uint32_t tx_id, unsigned argc, const char *const *argv,
		       const char **text, bool *later);

/* The loop was left for an update. */
bool lu_requested(void);

/*
 * Write the hand-over file (every session, the global quotas, fds). false
 * (logged, the asker answered, the update forgotten): serve on. On true,
 * main.c stops the domains and the store cleanly and calls lu_exec.
 */
bool lu_save(const struct lu_fds *fds);

/*
 * exec the new binary; if that fails, this one again (so the old code
 * serves on with everything, and the asker hears why). Returns only if both
 * fail.
 */
void lu_exec(void);

/*
 * The new daemon (-U): read the hand-over file before anything is opened:
 * its fds, the global quotas. false (logged): start as after a clean stop.
 * No file at all (-U given by hand): exits 1, before anything is touched.
 */
bool lu_load(struct lu_fds *fds);

/* Once the domains are taken up: the sessions, transactions, the asker's answer. The file goes. */
void lu_restore(void);

#endif
