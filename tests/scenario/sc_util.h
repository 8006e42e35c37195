/* Helpers of the scenario tests: statuses, restricted connections, timing, liveness, RSS bounds, stats, bulk writes, configuration files. */
#ifndef XS_SC_UTIL_H
#define XS_SC_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "scenario.h"

/* Built with AddressSanitizer: slower, and freed memory sits in quarantine for a while. */
#if defined(__SANITIZE_ADDRESS__)
#define SC_ASAN 1
#else
#define SC_ASAN 0
#endif

/* A latency that counts as "live" for a well-behaved client (1.3 (L) says 1 s; ASan doubles it). */
#define SC_LIVE_MS (SC_ASAN ? 2000.0 : 1000.0)

/* "OK" for an OK reply, the error name for an ERROR reply, "" for any other reply. */
const char *sc_status(const struct xst_msg *m);
/*
 * Send one request and return the status of its reply, asserting the reply
 * is of the request's type or ERROR (the library checks that itself) and,
 * on a raw connection, that it carries the request's tx_id.
 */
const char *sc_try(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
		   const char *const *args, struct xst_msg *reply);
/* Same, asserting the status. */
void sc_must(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last, const char *const *args,
	     const char *status);
#define SC_OK(c, type, tx, raw_last, ...) sc_must((c), (type), (tx), (raw_last), SC_ARGS(__VA_ARGS__), "OK")

/* Start a transaction on c (xsl_txn_start, or raw TRANSACTION_START: a numeric id). */
xsl_txn_t sc_tx_start(struct sc_conn *c);
/* Drop c to the rights of domain domid (our CONTROL restrict hook). */
void sc_restrict(struct sc_conn *c, unsigned domid);
/* A library connection so restricted. */
struct sc_conn *sc_restricted(const struct xst_daemon *d, unsigned domid);
/*
 * WATCH on a connection that has no unread messages: returns the reply status
 * and, when it is OK, asserts the initial event (the path as given, the token)
 * follows it. depth may be NULL. Through the library, token names the watch
 * (the library makes the token on the wire).
 */
const char *sc_watch(struct sc_conn *c, const char *path, const char *token, const char *depth);
/* Assert that no message (library: no watch event) arrives on c within ms. */
void sc_silent(struct sc_conn *c, int ms);
/*
 * Next message must be WATCH_EVENT path\0token\0 with req_id 0 and tx_id 0
 * (library: the next event must be path's, of the watch named token).
 */
void sc_expect_event(struct sc_conn *c, const char *path, const char *token);

/* Monotonic milliseconds. */
double sc_now_ms(void);
/*
 * A well-behaved client's round: a write, a read back, and a one-write
 * transaction, each answered within SC_LIVE_MS. Returns the slowest call in ms.
 */
double sc_probe(struct sc_conn *c, const char *tag);

/*
 * Under ASan, give daemons started from now on a small quarantine: freed
 * memory is otherwise held back up to 256 MB, which would hide (or fake)
 * growth in the RSS bounds. A no-op in normal builds.
 */
void sc_rss_friendly_asan(void);
/* Daemon RSS in KiB (asserts it can be read). */
long sc_rss(const struct xst_daemon *d);
/* How many lines of the daemon's log contain needle (0: none). */
int sc_log_has(const struct xst_daemon *d, const char *needle);
/* The daemon's log lines that contain needle, on stderr: what a failure leaves to go on. */
void sc_log_print(const struct xst_daemon *d, const char *needle);
/* The number after `after` in the daemon's last log line that has line_has before it, or none. */
long sc_log_number(const struct xst_daemon *d, const char *line_has, const char *after, long none);

/* CONTROL check answers OK: the store's structure is sound. */
void sc_check_ok(struct sc_conn *c);
/* A counter of CONTROL stats (the test fails if it is not there). */
long long sc_stat(struct sc_conn *c, const char *name);
/*
 * Nodes fmt (two %d: i / 1000, i % 1000) for i in [from, to) written with
 * value on raw connection c, many in flight, each answered OK.
 */
void sc_write_many(struct sc_conn *c, const char *fmt, int from, int to, const char *value);
/* How many of those nodes, every step-th, read as value (the others absent; anything else fails). */
int sc_count(struct sc_conn *c, const char *fmt, int from, int to, int step, const char *value);

/* The size of file name in directory dir, -1 if there is none. */
long long sc_file_size(const char *dir, const char *name);

/* A configuration file of text for the daemon, and the arguments naming it (unlink conf.path after). */
struct sc_conf {
	char path[320];
	const char *args[3];
};
const char *const *sc_conf_args(struct sc_conf *conf, const char *text);

/* Give domain domid a home it owns, as a toolstack would. */
void sc_make_home(struct sc_conn *dom0, unsigned domid);

#endif
