/* Shared helpers of the scenario tests: a daemon per test, clients through the library or raw, assertions on replies. */
#ifndef XS_SCENARIO_H
#define XS_SCENARIO_H

#include <check.h>

#include "tests/lib/xst_conn.h"
#include "tests/lib/xst_daemon.h"
#include "tests/lib/xst_wire.h"

/* Start our daemon in a fresh directory (fails the test if it cannot). */
void sc_start(struct xst_daemon *d, const char *const *extra_args);
/* Stop it and assert a clean exit (status 0: no sanitizer report, no leak). */
void sc_stop(struct xst_daemon *d);
/* The same, keeping its run directory for a restart. */
void sc_stop_keep(struct xst_daemon *d);
/* Kill it (SIGKILL, no clean shutdown) and reap it, keeping its run directory. */
void sc_crash(struct xst_daemon *d);
/* Start it again on the same run directory (after sc_stop_keep or sc_crash). */
void sc_restart(struct xst_daemon *d, const char *const *extra_args);

/*
 * A test's connection: a client through the library (sc_connect), or raw
 * (sc_connect_raw) where the test is about the wire itself: chosen ids and
 * bytes, headers as they come back, several requests in flight, a client
 * that does not read. The helpers take either; a transaction is the
 * library's xsl_txn_t on the first, the wire's id on the second.
 */
struct sc_conn {
	struct xst_conn *lib;
	struct xst_wire *raw;
};
struct sc_conn *sc_connect(const struct xst_daemon *d);
struct sc_conn *sc_connect_raw(const struct xst_daemon *d);
void sc_close(struct sc_conn *c);
/* The raw connection (the test fails if c is not one). */
struct xst_wire *sc_wire(struct sc_conn *c);
/*
 * Send one request built from strings (raw_last: WRITE's value without NUL)
 * and wait for its reply. Raw: req_id 0, and the next message must be the
 * reply (a watch event there fails the test). Library: see xst_request.
 */
void sc_call(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last, const char *const *args,
	     struct xst_msg *reply);
/* Assert a reply's type and exact payload bytes. */
void sc_expect(const struct xst_msg *m, uint32_t type, const void *payload, size_t len);
#define SC_EXPECT_STR(m, type, s) sc_expect((m), (type), (s), sizeof(s) - 1)
#define SC_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

Suite *suite_framing(void);
Suite *suite_lifecycle(void);
Suite *suite_tree(void);
Suite *suite_watch(void);
Suite *suite_txn(void);
Suite *suite_fuzz(void);
Suite *suite_crash(void);
Suite *suite_compact(void);

#endif
