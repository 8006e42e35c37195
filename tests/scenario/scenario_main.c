/* Scenario tests: each starts the real daemon on a private socket and talks to it through the client library, or over the raw wire. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "scenario.h"

void sc_start(struct xst_daemon *d, const char *const *extra_args)
{
	ck_assert_msg(xst_daemon_start(d, XST_OURS, NULL, extra_args) == 0, "daemon did not start");
}

static void stop_checked(struct xst_daemon *d, int keep_dir)
{
	char cmd[700];
	int status = xst_daemon_stop(d, 1);
	int clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;

	if (!clean) {
		snprintf(cmd, sizeof(cmd), "cat %s/daemon.log >&2", d->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "no daemon.log\n");
	}
	if (d->own_dir && !keep_dir) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", d->dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", d->dir);
	}
	ck_assert_msg(clean, "daemon exit status %d", status);
}

void sc_stop(struct xst_daemon *d)
{
	stop_checked(d, 0);
}

void sc_stop_keep(struct xst_daemon *d)
{
	stop_checked(d, 1);
}

void sc_crash(struct xst_daemon *d)
{
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = -1;
}

void sc_restart(struct xst_daemon *d, const char *const *extra_args)
{
	char dir[sizeof(d->dir)];

	strcpy(dir, d->dir);
	ck_assert_msg(xst_daemon_start(d, XST_OURS, dir, extra_args) == 0, "daemon did not restart");
	d->own_dir = 1; /* still ours to remove */
}

/* How long a reply may take before the test gives up. */
#define SC_CALL_MS 5000

struct sc_conn *sc_connect(const struct xst_daemon *d)
{
	struct sc_conn *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->lib = xst_conn_socket(d->socket, SC_CALL_MS);
	ck_assert_msg(c->lib != NULL, "cannot connect to %s", d->socket);
	return c;
}

struct sc_conn *sc_connect_raw(const struct xst_daemon *d)
{
	struct sc_conn *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->raw = xst_wire_socket(d->socket);
	ck_assert_msg(c->raw != NULL, "cannot connect to %s", d->socket);
	return c;
}

void sc_close(struct sc_conn *c)
{
	if (!c)
		return;
	xst_conn_close(c->lib);
	xst_wire_close(c->raw);
	free(c);
}

struct xst_wire *sc_wire(struct sc_conn *c)
{
	ck_assert_msg(c->raw != NULL, "a raw connection was needed");
	return c->raw;
}

void sc_call(struct sc_conn *c, uint32_t type, xsl_txn_t tx, int raw_last, const char *const *args,
	     struct xst_msg *reply)
{
	char buf[XS_PAYLOAD_MAX];
	int len = xst_payload(buf, sizeof(buf), raw_last, args), err;

	ck_assert_int_ge(len, 0);
	if (c->lib) {
		err = xst_request(c->lib, tx, type, buf, (size_t)len, reply);
		ck_assert_msg(err == 0, "no reply to %s: %s", xs_type_name(type), strerror(-err));
		return;
	}
	ck_assert_msg(xst_wire_send_msg(c->raw, type, 0, (uint32_t)tx, buf, (size_t)len) == 0,
		      "sending %s: %s", xs_type_name(type), strerror(errno));
	ck_assert_msg(xst_wire_recv(c->raw, reply, SC_CALL_MS) == 0, "no reply to %s: %s",
		      xs_type_name(type), strerror(errno));
	ck_assert_msg(reply->hdr.type != XS_WATCH_EVENT, "event '%s' where the reply to %s was due",
		      reply->payload, xs_type_name(type));
}

void sc_expect(const struct xst_msg *m, uint32_t type, const void *payload, size_t len)
{
	ck_assert_msg(m->hdr.type == type, "reply type %u (%s), expected %u; payload '%s'",
		      m->hdr.type, xs_type_name(m->hdr.type), type, m->payload);
	ck_assert_msg(m->hdr.len == len && memcmp(m->payload, payload, len) == 0,
		      "payload '%.*s' (%u bytes), expected '%.*s' (%zu bytes)", (int)m->hdr.len,
		      m->payload, m->hdr.len, (int)len, (const char *)payload, len);
}

int main(void)
{
	SRunner *sr;
	int failed, run;
	const char *tmp = getenv("TMPDIR");
	char top[256], cmd[300];

	/*
	 * Every daemon's directory goes under one directory of this run, removed
	 * at the end: a test that fails an assertion exits before its sc_stop.
	 */
	snprintf(top, sizeof(top), "%s/xst-scenario.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(top)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("TMPDIR", top, 1);
	sr = srunner_create(suite_framing());

	srunner_add_suite(sr, suite_lifecycle());
	srunner_add_suite(sr, suite_tree());
	srunner_add_suite(sr, suite_watch());
	srunner_add_suite(sr, suite_txn());
	srunner_add_suite(sr, suite_fuzz());
	srunner_add_suite(sr, suite_crash());
	srunner_add_suite(sr, suite_compact());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", top);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", top);
	if (run == 0) {
		fprintf(stderr, "no scenario test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
