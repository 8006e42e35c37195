/* The handle against a scripted server: many blocking callers at once, reordered and missing replies, loss, timeouts, parts. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

static struct xsl *open_fd(int fd)
{
	struct xsl_open_opts o = {.transport = XSL_TR_FD, .fd = fd};
	struct xsl *h;

	ck_assert_int_eq(xsl_open(&h, &o), 0);
	return h;
}

struct reader {
	pthread_t t;
	struct xsl *h;
	char path[32];
	int err;
	char *value;
};

static void *read_thread(void *arg)
{
	struct reader *r = arg;
	size_t len;

	r->err = xsl_read(r->h, XSL_TXN_NONE, r->path, &r->value, &len);
	return NULL;
}

static void start_readers(struct reader *r, unsigned n, struct xsl *h)
{
	for (unsigned i = 0; i < n; i++) {
		r[i].h = h;
		r[i].value = NULL;
		snprintf(r[i].path, sizeof(r[i].path), "/k%u", i);
		ck_assert_int_eq(pthread_create(&r[i].t, NULL, read_thread, &r[i]), 0);
	}
}

/* Answer request i with the value its path names ("/k7" -> "v7"). */
static void answer_by_path(struct fsrv *s, unsigned i)
{
	char v[32];

	snprintf(v, sizeof(v), "v%s", fsrv_req(s, i)->payload + 2);
	fsrv_reply(s, i, v, (int)strlen(v));
}

START_TEST(many_waiters_capped_reversed)
{
	enum { N = 30 };
	struct reader r[N];
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct xsl *h = open_fd(fd);
	struct xsl_stats st;

	start_readers(r, N, h);
	ck_assert(fsrv_wait(s, XSL_INFLIGHT_DEFAULT, CT_WAIT_MS));
	ct_sleep_ms(300);
	/* Nobody answered yet: the cap holds the rest back. */
	ck_assert_uint_eq(fsrv_count(s), XSL_INFLIGHT_DEFAULT);
	for (int i = (int)XSL_INFLIGHT_DEFAULT - 1; i >= 0; i--)
		answer_by_path(s, (unsigned)i);
	ck_assert(fsrv_wait(s, N, CT_WAIT_MS));
	for (int i = N - 1; i >= (int)XSL_INFLIGHT_DEFAULT; i--)
		answer_by_path(s, (unsigned)i);
	for (unsigned i = 0; i < N; i++) {
		char v[32];

		pthread_join(r[i].t, NULL);
		snprintf(v, sizeof(v), "v%u", i);
		ck_assert_int_eq(r[i].err, 0);
		ck_assert_str_eq(r[i].value, v);
		free(r[i].value);
	}
	xsl_stats(h, &st);
	ck_assert_uint_eq(st.requests, N);
	ck_assert_uint_eq(st.inflight, 0);
	ck_assert_uint_eq(st.unknown_replies, 0);
	xsl_close(h);
	fsrv_stop(s);
}
END_TEST

START_TEST(loss_releases_every_waiter)
{
	enum { N = 24 };
	struct reader r[N];
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct xsl *h = open_fd(fd);
	char *v, answered[32];

	start_readers(r, N, h);
	ck_assert(fsrv_wait(s, XSL_INFLIGHT_DEFAULT, CT_WAIT_MS));
	answer_by_path(s, 3);
	snprintf(answered, sizeof(answered), "%.31s", fsrv_req(s, 3)->payload);
	/* Half a reply, then the end. */
	fsrv_raw(s, "\x02\0\0\0", 4);
	fsrv_close(s);
	for (unsigned i = 0; i < N; i++) {
		pthread_join(r[i].t, NULL);
		if (strcmp(r[i].path, answered) == 0) {
			ck_assert_int_eq(r[i].err, 0);
			free(r[i].value);
		} else {
			/* Lost in flight, or arrived once the handle was dead: released either way. */
			ck_assert_msg(r[i].err == -ECONNRESET || r[i].err == -ENOTCONN, "%s", strerror(-r[i].err));
		}
	}
	ck_assert_int_eq(xsl_read(h, 0, "/x", &v, NULL), -ENOTCONN);
	ck_assert_int_eq(xsl_pump(h, 0), -ENOTCONN);
	ck_assert_int_eq(xsl_reconnect(h), -ENOTCONN);
	xsl_close(h);
	fsrv_stop(s);
}
END_TEST

START_TEST(timeout_then_late_reply)
{
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct xsl *h = open_fd(fd);
	struct xsl_stats st;
	char *v;

	xsl_set_timeout(h, 300);
	ck_assert_int_eq(xsl_read(h, 0, "/slow", &v, NULL), -ETIMEDOUT);
	ck_assert(fsrv_wait(s, 1, CT_WAIT_MS));
	fsrv_reply(s, 0, "late", 4);
	xsl_set_timeout(h, CT_WAIT_MS);
	{
		struct reader r = {.h = h, .path = "/next"};

		ck_assert_int_eq(pthread_create(&r.t, NULL, read_thread, &r), 0);
		ck_assert(fsrv_wait(s, 2, CT_WAIT_MS));
		fsrv_reply(s, 1, "fresh", 5);
		pthread_join(r.t, NULL);
		ck_assert_int_eq(r.err, 0);
		ck_assert_str_eq(r.value, "fresh");
		free(r.value);
	}
	xsl_stats(h, &st);
	/* The late reply was expected (its waiter gave up), not a stranger. */
	ck_assert_uint_eq(st.unknown_replies, 0);
	xsl_close(h);
	fsrv_stop(s);
}
END_TEST

START_TEST(checked_before_sending)
{
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct xsl *h = open_fd(fd);
	char *big = malloc(XSL_PAYLOAD_MAX + 1), *longpath = malloc(XSL_ABS_PATH_MAX + 2), *v;
	struct xsl_perm p = {0, 7};

	memset(big, 'x', XSL_PAYLOAD_MAX);
	longpath[0] = '/';
	memset(longpath + 1, 'a', XSL_ABS_PATH_MAX);
	longpath[XSL_ABS_PATH_MAX + 1] = '\0';
	ck_assert_int_eq(xsl_write(h, 0, "/a", big, XSL_PAYLOAD_MAX - 2), -E2BIG);
	ck_assert_int_eq(xsl_read(h, 0, longpath, &v, NULL), -ENAMETOOLONG);
	ck_assert_int_eq(xsl_read(h, 0, "/a b", &v, NULL), -EINVAL);
	ck_assert_int_eq(xsl_read(h, 0, "@releaseDomain", &v, NULL), -EINVAL);
	ck_assert_int_eq(xsl_mkdir(h, 0, ""), -EINVAL);
	ck_assert_int_eq(xsl_set_perms(h, 0, "/a", &p, 1), -EINVAL);
	ck_assert_int_eq(xsl_set_perms(h, 0, "/a", &p, 0), -EINVAL);
	ck_assert_int_eq(xsl_get_domain_path(h, 70000, &v), -EINVAL);
	ck_assert_int_eq(xsl_watch(h, "/a/", NULL, ct_record, NULL, (struct xsl_watch **)&v), -EINVAL);
	ct_sleep_ms(100);
	ck_assert_uint_eq(fsrv_count(s), 0);
	free(big);
	free(longpath);
	xsl_close(h);
	fsrv_stop(s);
}
END_TEST

struct dir_call {
	pthread_t t;
	struct xsl *h;
	int err;
	char **names;
	unsigned n;
};

static void *dir_thread(void *arg)
{
	struct dir_call *d = arg;

	d->err = xsl_directory(d->h, 0, "/big", &d->names, &d->n);
	return NULL;
}

/* E2BIG, then parts; the generation changes in the middle, so the listing starts again. */
START_TEST(directory_parts_restart_on_change)
{
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct dir_call d = {.h = open_fd(fd)};
	unsigned i = 0;

	ck_assert_int_eq(pthread_create(&d.t, NULL, dir_thread, &d), 0);
	ck_assert(fsrv_wait(s, ++i, CT_WAIT_MS));
	ck_assert_uint_eq(fsrv_req(s, 0)->hdr.type, XS_DIRECTORY);
	fsrv_error(s, 0, "E2BIG");
	ck_assert(fsrv_wait(s, ++i, CT_WAIT_MS));
	ck_assert_uint_eq(fsrv_req(s, 1)->hdr.type, XS_DIRECTORY_PART);
	ck_assert_str_eq(fsrv_req(s, 1)->payload + 5, "0");
	fsrv_reply(s, 1, "5\0aa\0bb\0", 8);
	ck_assert(fsrv_wait(s, ++i, CT_WAIT_MS));
	ck_assert_str_eq(fsrv_req(s, 2)->payload + 5, "6");
	fsrv_reply(s, 2, "6\0cc\0\0", 6); /* changed meanwhile */
	ck_assert(fsrv_wait(s, ++i, CT_WAIT_MS));
	ck_assert_str_eq(fsrv_req(s, 3)->payload + 5, "0");
	fsrv_reply(s, 3, "6\0aa\0bb\0", 8);
	ck_assert(fsrv_wait(s, ++i, CT_WAIT_MS));
	fsrv_reply(s, 4, "6\0cc\0dd\0\0", 9);
	pthread_join(d.t, NULL);
	ck_assert_int_eq(d.err, 0);
	ck_assert_uint_eq(d.n, 4);
	ck_assert_str_eq(d.names[0], "aa");
	ck_assert_str_eq(d.names[3], "dd");
	ck_assert_ptr_null(d.names[4]);
	free(d.names);
	xsl_close(d.h);
	fsrv_stop(s);
}
END_TEST

struct quota_call {
	pthread_t t;
	struct xsl *h;
	int werr, terr;
};

static int txn_body(struct xsl *h, xsl_txn_t t, void *arg)
{
	(void)arg;
	return xsl_write(h, t, "/q", "1", 1);
}

static void *quota_thread(void *arg)
{
	struct quota_call *q = arg;

	q->werr = xsl_write(q->h, 0, "/q", "1", 1);
	q->terr = xsl_txn_run(q->h, txn_body, NULL, 2);
	return NULL;
}

/* The store's quota answers reach the caller as errno values; EAGAIN is retried, boundedly. */
START_TEST(quota_errors)
{
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct quota_call q = {.h = open_fd(fd)};
	unsigned i = 0;

	ck_assert_int_eq(pthread_create(&q.t, NULL, quota_thread, &q), 0);
	ck_assert(fsrv_wait(s, ++i, CT_WAIT_MS));
	fsrv_error(s, 0, "ENOSPC");
	for (int attempt = 0; attempt < 2; attempt++) {
		ck_assert(fsrv_wait(s, i + 1, CT_WAIT_MS));
		ck_assert_uint_eq(fsrv_req(s, i)->hdr.type, XS_TRANSACTION_START);
		fsrv_reply(s, i++, "9", -1);
		ck_assert(fsrv_wait(s, i + 1, CT_WAIT_MS));
		ck_assert_uint_eq(fsrv_req(s, i)->hdr.tx_id, 9);
		fsrv_reply(s, i++, "OK", -1);
		ck_assert(fsrv_wait(s, i + 1, CT_WAIT_MS));
		ck_assert_uint_eq(fsrv_req(s, i)->hdr.type, XS_TRANSACTION_END);
		ck_assert_str_eq(fsrv_req(s, i)->payload, "T");
		fsrv_error(s, i++, "EAGAIN");
	}
	pthread_join(q.t, NULL);
	ck_assert_int_eq(q.werr, -ENOSPC);
	ck_assert_int_eq(q.terr, -EAGAIN);
	ct_sleep_ms(100);
	ck_assert_uint_eq(fsrv_count(s), i); /* two attempts, no third */
	xsl_close(q.h);
	fsrv_stop(s);
}
END_TEST

/* Events for watches the handle does not have, malformed ones: counted, dropped, harmless. */
START_TEST(spurious_events)
{
	int fd;
	struct fsrv *s = fsrv_start(&fd);
	struct xsl *h = open_fd(fd);
	struct xsl_stats st;

	fsrv_event(s, "/a", "xsl-00000000-1");
	fsrv_send(s, XS_WATCH_EVENT, 0, "/a", 3);
	fsrv_send(s, XS_READ, 12345, "who", 3);
	for (int k = 0; k < 20; k++) {
		xsl_stats(h, &st);
		if (st.stray_events == 1 && st.bad_events == 1 && st.unknown_replies == 1)
			break;
		ck_assert_int_eq(xsl_pump(h, 100), 0);
	}
	ck_assert_uint_eq(st.stray_events, 1);
	ck_assert_uint_eq(st.bad_events, 1);
	ck_assert_uint_eq(st.unknown_replies, 1);
	xsl_close(h);
	fsrv_stop(s);
}
END_TEST

/* The Xen ring transport is compiled in; without Xen it fails to open, cleanly. */
START_TEST(xen_ring_without_xen)
{
	static char page[4096] __attribute__((aligned(4096)));
	struct xsl_open_opts o = {.transport = XSL_TR_XENRING, .xen_page = page,
				  .xen_remote_domid = 0, .xen_remote_port = 1};
	struct xsl_open_opts bad = {.transport = XSL_TR_XENRING};
	struct xsl *h = NULL;

	ck_assert_int_lt(xsl_open(&h, &o), 0);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(xsl_open(&h, &bad), -EINVAL);
	bad.xen_page_path = "/nonexistent/xsd_kva";
	ck_assert_int_eq(xsl_open(&h, &bad), -ENOENT);
}
END_TEST

Suite *suite_handle(void)
{
	Suite *s = suite_create("handle");
	TCase *tc = tcase_create("scripted");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, many_waiters_capped_reversed);
	tcase_add_test(tc, loss_releases_every_waiter);
	tcase_add_test(tc, timeout_then_late_reply);
	tcase_add_test(tc, checked_before_sending);
	tcase_add_test(tc, directory_parts_restart_on_change);
	tcase_add_test(tc, quota_errors);
	tcase_add_test(tc, spurious_events);
	tcase_add_test(tc, xen_ring_without_xen);
	suite_add_tcase(s, tc);
	return s;
}
