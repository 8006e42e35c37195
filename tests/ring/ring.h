/* Shared helpers of the ring and domain tests: daemons, guests in other processes, checked requests, raw ring access. */
#ifndef XS_RING_TESTS_H
#define XS_RING_TESTS_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "client/xenstore_client.h"
#include "proto/ring.h"
#include "tests/lib/xst_conn.h"
#include "tests/lib/xst_daemon.h"
#include "tests/lib/xst_wire.h"

/* Built with AddressSanitizer: everything is slower. */
#if defined(__SANITIZE_ADDRESS__)
#define RT_ASAN 1
#else
#define RT_ASAN 0
#endif

/* A latency that counts as "live" (robustness.md 1.3 (L) says 1 s; the sanitizer build doubles it). */
#define RT_LIVE_MS (RT_ASAN ? 2000.0 : 1000.0)
/* How long any single reply may take before a test gives up. */
#define RT_CALL_MS 5000

#define RT_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

/*
 * Failures. Checks work the same in the test process and in forked guest
 * processes: in the test they fail the Check test; in a guest they record
 * the message for the test to report and end the guest with status 1.
 * Each helper macro records its caller's line first.
 */
extern const char *rt_at_file;
extern int rt_at_line;
static inline void rt_at(const char *file, int line)
{
	rt_at_file = file;
	rt_at_line = line;
}
#define RT_AT() rt_at(__FILE__, __LINE__)
void rt_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4), noreturn));
#define RT_CHECK(cond, ...)                                          \
	do {                                                         \
		if (!(cond))                                         \
			rt_fail(__FILE__, __LINE__, __VA_ARGS__);    \
	} while (0)

/*
 * Clients, dom0's and the guests', go through the library (xst_conn.h);
 * the raw ring functions below are for what a client must not do.
 */

/* A daemon of ours in a fresh directory, with a privileged socket client (dom0). */
struct rt_daemon {
	struct xst_daemon d;
	char simhyp[320];
	struct xst_conn *dom0;
};
void rt_start(struct rt_daemon *rd, const char *const *extra_args);
/* The same with a configuration file (-c) holding settings ("key = value" lines). */
void rt_start_conf(struct rt_daemon *rd, const char *settings);
/* Close dom0, stop by PID and assert a clean exit (status 0: no sanitizer report, no leak). */
void rt_stop(struct rt_daemon *rd);
/* Stop cleanly and start again on the same run directory (and store); dom0 reconnects. */
void rt_restart(struct rt_daemon *rd);
/*
 * The same with the hypervisor left serving, its domains alive: the daemon
 * stopped cleanly, or killed (SIGKILL) when kill is set.
 */
#define rt_restart_keep_hyp(...) (RT_AT(), rt_restart_keep_hyp_(__VA_ARGS__))
void rt_restart_keep_hyp_(struct rt_daemon *rd, bool kill);
/* Another privileged socket client. */
struct xst_conn *rt_connect(const struct rt_daemon *rd);

/* "OK" for an OK reply, the error name for an ERROR reply, else the reply type's name. */
const char *rt_status(const struct xst_msg *m);
/* Send one request and wait for its reply (xst_call: events meanwhile wait for rt_event). */
#define rt_call(...) (RT_AT(), rt_call_(__VA_ARGS__))
void rt_call_(struct xst_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
	      const char *const *args, struct xst_msg *reply);
/* Same, asserting the status ("OK", "EACCES", ...; for READ-like replies use the helpers below). */
#define rt_must(...) (RT_AT(), rt_must_(__VA_ARGS__))
void rt_must_(struct xst_conn *c, uint32_t type, xsl_txn_t tx, int raw_last,
	      const char *const *args, const char *status);
#define rt_write(...) (RT_AT(), rt_write_(__VA_ARGS__))
void rt_write_(struct xst_conn *c, xsl_txn_t tx, const char *path, const char *value);
/* READ must answer exactly value. */
#define rt_read_is(...) (RT_AT(), rt_read_is_(__VA_ARGS__))
void rt_read_is_(struct xst_conn *c, xsl_txn_t tx, const char *path, const char *value);
/* A one-string request (READ, GET_PERMS, IS_DOMAIN_INTRODUCED, ...) must answer exactly the bytes. */
#define rt_answer_is(...) (RT_AT(), rt_answer_is_(__VA_ARGS__))
void rt_answer_is_(struct xst_conn *c, uint32_t type, const char *arg, const void *bytes,
		   size_t len);
/* ... with s and its terminating NUL (IS_DOMAIN_INTRODUCED, DIRECTORY, GET_DOMAIN_PATH). */
#define RT_ANSWER_STR(c, type, arg, s) rt_answer_is((c), (type), (arg), (s), sizeof(s))
/* The GET_PERMS of path, as "n0 r5 ..." (entries joined by spaces), or the error name. */
#define rt_perms(...) (RT_AT(), rt_perms_(__VA_ARGS__))
const char *rt_perms_(struct xst_conn *c, const char *path, char *buf, size_t size);
#define rt_perms_are(...) (RT_AT(), rt_perms_are_(__VA_ARGS__))
void rt_perms_are_(struct xst_conn *c, const char *path, const char *expected);
#define rt_tx_start(...) (RT_AT(), rt_tx_start_(__VA_ARGS__))
xsl_txn_t rt_tx_start_(struct xst_conn *c);
/*
 * A watch through the library, named token (depth may be NULL): it must be
 * accepted, then its initial event come. The token on the wire is the
 * library's: xst_watch_token(c, token) for a request that must name it.
 */
#define rt_watch(...) (RT_AT(), rt_watch_(__VA_ARGS__))
void rt_watch_(struct xst_conn *c, const char *path, const char *token, const char *depth);
/* The next two events must be path with token1 and token2, in either order. */
#define rt_event_pair(...) (RT_AT(), rt_event_pair_(__VA_ARGS__))
void rt_event_pair_(struct xst_conn *c, const char *path, const char *token1, const char *token2);
/* The next watch event must be path, of the watch named token (within RT_CALL_MS). */
#define rt_event(...) (RT_AT(), rt_event_(__VA_ARGS__))
void rt_event_(struct xst_conn *c, const char *path, const char *token);
/* No watch event may arrive within ms (queued ones count). */
#define rt_no_event(...) (RT_AT(), rt_no_event_(__VA_ARGS__))
void rt_no_event_(struct xst_conn *c, int ms);
/* Take the events that arrive within ms of each other; all must be for path (unless NULL). */
#define rt_drain(...) (RT_AT(), rt_drain_(__VA_ARGS__))
unsigned rt_drain_(struct xst_conn *c, const char *path, int ms);
/* One number from CONTROL stats ("watches", "transactions", "domains", "connections", ...). */
#define rt_stat(...) (RT_AT(), rt_stat_(__VA_ARGS__))
long rt_stat_(struct xst_conn *priv, const char *name);

/* A guest domain: its simulated domain (the library's) and a client over its ring. */
struct rt_guest {
	uint32_t domid;
	struct xsl_simdom *dom;
	struct xs_ring *ring; /* the page, as the guest maps it */
	struct xst_conn *c;
};
/* Register domain domid (not introduced). */
#define rt_guest_register(...) (RT_AT(), rt_guest_register_(__VA_ARGS__))
void rt_guest_register_(struct rt_guest *g, const struct rt_daemon *rd, uint32_t domid);
/* Introduce it through priv (home made and owned by it, INTRODUCE) and open its ring client. */
#define rt_guest_introduce(...) (RT_AT(), rt_guest_introduce_(__VA_ARGS__))
void rt_guest_introduce_(struct rt_guest *g, struct xst_conn *priv);
/* Both, through a privileged connection of its own (for forked guests). */
#define rt_guest_up(...) (RT_AT(), rt_guest_up_(__VA_ARGS__))
void rt_guest_up_(struct rt_guest *g, const struct rt_daemon *rd, uint32_t domid);
/* Register and introduce it from this process, through rd's dom0. */
#define rt_guest_here(...) (RT_AT(), rt_guest_here_(__VA_ARGS__))
void rt_guest_here_(struct rt_guest *g, struct rt_daemon *rd, uint32_t domid);
/* Close the client and destroy the domain (the daemon sees it die). */
void rt_guest_down(struct rt_guest *g);
/* Wait until the daemon no longer reports the domain introduced (asked through priv). */
#define rt_wait_gone(...) (RT_AT(), rt_wait_gone_(__VA_ARGS__))
void rt_wait_gone_(struct xst_conn *priv, uint32_t domid);

/*
 * Guests in forked processes. The function runs in the child and returns
 * its exit status (0 = passed); checks in it record their message. Each
 * side can send the other single-byte signals and wait for them.
 */
struct rt_child {
	pid_t pid;
	int to_child, from_child;    /* our ends */
	int in_child, out_child;     /* the child's ends (valid in the child) */
	char *msg;                   /* shared: the child's failure message */
	void *arg;
	const struct rt_daemon *rd;
};
typedef int (*rt_child_fn)(struct rt_child *ch);
void rt_child_start(struct rt_child *ch, const struct rt_daemon *rd, rt_child_fn fn, void *arg);
/* In the test: signal the child / wait for its signal (fails after 10 s). */
#define rt_tell(...) (RT_AT(), rt_tell_(__VA_ARGS__))
void rt_tell_(struct rt_child *ch, char what);
#define rt_hear(...) (RT_AT(), rt_hear_(__VA_ARGS__))
void rt_hear_(struct rt_child *ch, char what);
/* In the child: the same towards the test. */
#define rt_child_tell(...) (RT_AT(), rt_child_tell_(__VA_ARGS__))
void rt_child_tell_(struct rt_child *ch, char what);
#define rt_child_hear(...) (RT_AT(), rt_child_hear_(__VA_ARGS__))
void rt_child_hear_(struct rt_child *ch, char what);
/* Wait for the child and assert it exited with status 0 (reporting its message otherwise). */
#define rt_child_join(...) (RT_AT(), rt_child_join_(__VA_ARGS__))
void rt_child_join_(struct rt_child *ch);
/* Kill the child (SIGKILL) and reap it: a guest dying without warning. */
void rt_child_kill(struct rt_child *ch);

/*
 * Raw ring access, as a guest that does not use the client library: the
 * page and event channel of the library's simulated domain, driven with
 * proto/ring.h. A guest's client must be idle meanwhile (it would take
 * the replies).
 */
/* Signal the domain's event channel towards the store. */
void rt_raw_notify(struct xsl_simdom *d);
/* Produce bytes into the request ring (they must fit now); notify if asked. */
#define rt_raw_put(...) (RT_AT(), rt_raw_put_(__VA_ARGS__))
void rt_raw_put_(struct xsl_simdom *d, const void *buf, size_t len, bool notify);
/* Produce bytes as room appears (notifying after each piece), as a guest streaming a big message. */
#define rt_raw_stream(...) (RT_AT(), rt_raw_stream_(__VA_ARGS__))
void rt_raw_stream_(struct xsl_simdom *d, const void *buf, size_t len);
/* A whole request message (it must fit now), outside any transaction or in transaction tx_id. */
#define rt_raw_req(...) (RT_AT(), rt_raw_req_(__VA_ARGS__))
void rt_raw_req_(struct xsl_simdom *d, uint32_t type, uint32_t req_id, const void *payload,
		 size_t len, bool notify);
#define rt_raw_req_tx(...) (RT_AT(), rt_raw_req_tx_(__VA_ARGS__))
void rt_raw_req_tx_(struct xsl_simdom *d, uint32_t type, uint32_t req_id, uint32_t tx_id,
		    const void *payload, size_t len, bool notify);
/* Take one message from the response ring, exactly its bytes (0, or -1 on timeout). */
int rt_raw_take(struct xsl_simdom *d, struct xst_msg *m, int timeout_ms);
/*
 * The reconnection handshake by hand (feature 1): ask the store to start
 * over and wait until it has. Unlike the library's xsl_reconnect, nothing
 * is registered again afterwards. 0, or -1 (ETIMEDOUT).
 */
int rt_raw_reconnect(struct xsl_simdom *d, int timeout_ms);
/*
 * Wait until the daemon has taken every notification we sent and served
 * the ring (a privileged round trip follows), so that the page can be
 * edited without racing it.
 */
#define rt_quiesce(...) (RT_AT(), rt_quiesce_(__VA_ARGS__))
void rt_quiesce_(struct xsl_simdom *d, struct xst_conn *priv);
/* Wait (up to ms) until the ring's error field holds error: returns whether it did. */
bool rt_wait_error(struct xsl_simdom *d, uint32_t error, int ms);

double rt_now_ms(void);
void rt_sleep_ms(int ms);
/* Open descriptors of the daemon, and its mappings of guest ring pages (memfd "xenstore-ring"). */
int rt_daemon_fds(const struct rt_daemon *rd);
int rt_daemon_ring_maps(const struct rt_daemon *rd);
/* Daemon RSS in KiB. */
long rt_rss(const struct rt_daemon *rd);
/*
 * A well-behaved client's round: a write, a read back, and a one-write
 * transaction under base (which it may write). Returns the slowest call in ms.
 */
#define rt_probe(...) (RT_AT(), rt_probe_(__VA_ARGS__))
double rt_probe_(struct xst_conn *c, const char *base, unsigned i);


Suite *suite_guests(void);
Suite *suite_domains(void);
Suite *suite_edges(void);
Suite *suite_robust(void);
Suite *suite_starve(void);
Suite *suite_quota(void);
Suite *suite_attacks(void);
Suite *suite_restart(void);
Suite *suite_liveupdate(void);

#endif
