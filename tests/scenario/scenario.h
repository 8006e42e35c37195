/* Shared helpers of the scenario tests: a daemon per test, raw wire requests, assertions on replies. */
#ifndef XS_SCENARIO_H
#define XS_SCENARIO_H

#include <check.h>

#include "client/xsc.h"
#include "tests/lib/xst_daemon.h"

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
struct xsc *sc_connect(const struct xst_daemon *d);
/* Send one request built from strings (raw_last: WRITE's value without NUL) and wait for the reply. */
void sc_call(struct xsc *c, uint32_t type, uint32_t tx, int raw_last, const char *const *args,
	     struct xsc_msg *reply);
/* Assert a reply's type and exact payload bytes. */
void sc_expect(const struct xsc_msg *m, uint32_t type, const void *payload, size_t len);
#define SC_EXPECT_STR(m, type, s) sc_expect((m), (type), (s), sizeof(s) - 1)
#define SC_ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

Suite *suite_framing(void);
Suite *suite_lifecycle(void);
Suite *suite_tree(void);
Suite *suite_watch(void);
Suite *suite_txn(void);
Suite *suite_fuzz(void);
Suite *suite_crash(void);

#endif
