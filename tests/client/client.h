/* Shared declarations of the client library's tests: suites, event recording, the scripted server, daemons. */
#ifndef XSL_CLIENT_TESTS_H
#define XSL_CLIENT_TESTS_H

#include <check.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "client/xenstore_client.h"
#include "proto/wire.h"
#include "tests/lib/xst_daemon.h"

/* Sanitizers slow everything down; the machine is shared: generous everywhere. */
#define CT_WAIT_MS 20000

Suite *suite_codec(void);
Suite *suite_mux(void);
Suite *suite_handle(void);
Suite *suite_conform(void);

/* Watch events as a callback saw them (callbacks run inside xsl_pump: no lock needed). */
#define CT_EVENTS_MAX 256
struct ct_events {
	unsigned n;
	char path[CT_EVENTS_MAX][128];
	unsigned flags[CT_EVENTS_MAX];
};
void ct_record(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg);
/* Pump until the recorder holds at least n events (fails after CT_WAIT_MS). */
void ct_pump_for(struct xsl *h, struct ct_events *e, unsigned n);
/* Pump for ms and return how many events came meanwhile. */
unsigned ct_pump_quiet(struct xsl *h, struct ct_events *e, int ms);
/* Whether path is among the recorded events. */
bool ct_seen(const struct ct_events *e, const char *path);
void ct_sleep_ms(int ms);
long long ct_now_ms(void);

/*
 * A scripted server on one end of a socketpair: a thread collects the
 * requests; the test answers them as it likes (any order, never, twice),
 * sends events, garbage, or closes.
 */
struct fsrv_req {
	struct xs_header hdr;
	char payload[XS_PAYLOAD_MAX + 1];
};
struct fsrv;
/* Returns the server; *client_fd is the other end, for XSL_TR_FD. */
struct fsrv *fsrv_start(int *client_fd);
/* Wait until n requests have come in total (false after ms). */
bool fsrv_wait(struct fsrv *s, unsigned n, int ms);
unsigned fsrv_count(struct fsrv *s);
/* Request i (0-based, arrival order). */
const struct fsrv_req *fsrv_req(struct fsrv *s, unsigned i);
/* Send a message (header fields given) with payload bytes. */
void fsrv_send(struct fsrv *s, uint32_t type, uint32_t req_id, const void *payload, size_t len);
/* Reply to request i with its type and payload (len -1: strlen + NUL). */
void fsrv_reply(struct fsrv *s, unsigned i, const char *payload, int len);
void fsrv_error(struct fsrv *s, unsigned i, const char *name);
void fsrv_event(struct fsrv *s, const char *path, const char *token);
void fsrv_raw(struct fsrv *s, const void *bytes, size_t len);
/* Close our end (the client sees EOF); then join and free. */
void fsrv_close(struct fsrv *s);
void fsrv_stop(struct fsrv *s);

/* The fake /dev/xen/xenbus (fake_xenbus.c). */
struct fake_xenbus;
int fake_xenbus_start(const char *socket_path, unsigned domid, bool old_kernel, int *user_fd,
		      struct fake_xenbus **out);
/* Stop it; returns the writes that broke Linux's rules (more than one message: Linux loses the rest). */
unsigned fake_xenbus_stop(struct fake_xenbus *fx);

#endif
