/* The XenbusState helpers and the toolstack calls on one dom0 handle against the real daemon: reads, switch, waits, gather, errors. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bus.h"

#define OK(call)                                                                   \
	do {                                                                       \
		int err_ = (call);                                                 \
		ck_assert_msg(err_ >= 0, "%s: %s", #call, strerror(-err_));        \
	} while (0)

static struct xst_daemon D;
static struct xsl *H;

static void up(void)
{
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .timeout_ms = BT_WAIT_MS};

	ck_assert_int_eq(xst_daemon_start(&D, XST_OURS, NULL, NULL), 0);
	o.path = D.socket;
	OK(xsl_open(&H, &o));
}

static void down(void)
{
	int status;

	OK(xsl_close(H));
	status = xst_daemon_stop(&D, 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "daemon exit status %d", status);
}

static void put(const char *path, const char *v)
{
	OK(xsl_write(H, 0, path, v, strlen(v)));
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

START_TEST(test_names_parse)
{
	ck_assert_str_eq(xsl_xbs_name(XSL_XBS_UNKNOWN), "Unknown");
	ck_assert_str_eq(xsl_xbs_name(XSL_XBS_INITWAIT), "InitWait");
	ck_assert_str_eq(xsl_xbs_name(XSL_XBS_RECONFIGURED), "Reconfigured");
	ck_assert_str_eq(xsl_xbs_name(9), "Invalid");
	ck_assert_str_eq(xsl_xbs_name(-1), "Invalid");
	ck_assert_int_eq(xsl_xbs_parse("4", 1), 4);
	ck_assert_int_eq(xsl_xbs_parse("0", 1), 0);
	ck_assert_int_eq(xsl_xbs_parse("8", 1), 8);
	ck_assert_int_eq(xsl_xbs_parse("9", 1), -EINVAL);
	ck_assert_int_eq(xsl_xbs_parse("04", 2), -EINVAL);
	ck_assert_int_eq(xsl_xbs_parse("4\n", 2), -EINVAL);
	ck_assert_int_eq(xsl_xbs_parse("", 0), -EINVAL);
	ck_assert_int_eq(xsl_xbs_parse(NULL, 1), -EINVAL);
}
END_TEST

START_TEST(test_read)
{
	up();
	/* Gone: read says so, the bus's reading says Closed. */
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), -ENOENT);
	ck_assert_int_eq(xsl_xbs_read_bus(H, 0, "/d"), XSL_XBS_CLOSED);
	/* There without a state: not yet a state. */
	OK(xsl_mkdir(H, 0, "/d"));
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), -ENOENT);
	ck_assert_int_eq(xsl_xbs_read_bus(H, 0, "/d"), -EINVAL);
	put("/d/state", "0");
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), XSL_XBS_UNKNOWN);
	ck_assert_int_eq(xsl_xbs_read_bus(H, 0, "/d"), -EINVAL);
	put("/d/state", "junk");
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), -EINVAL);
	ck_assert_int_eq(xsl_xbs_read_bus(H, 0, "/d"), -EINVAL);
	put("/d/state", "7");
	ck_assert_int_eq(xsl_xbs_read_bus(H, 0, "/d"), XSL_XBS_RECONFIGURING);
	down();
}
END_TEST

static void count_event(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	(void)h;
	(void)w;
	(void)ev;
	(*(int *)arg)++;
}

/* Pump until nothing more comes for 200 ms. */
static void pump_quiet(void)
{
	while (xsl_pump(H, 200) > 0)
		;
}

START_TEST(test_switch)
{
	struct xsl_watch *w;
	xsl_txn_t t;
	int events = 0;

	up();
	OK(xsl_mkdir(H, 0, "/d"));
	OK(xsl_watch(H, "/d/state", NULL, count_event, &events, &w));
	pump_quiet();
	events = 0;
	ck_assert_int_eq(xsl_xbs_switch(H, 0, "/d", XSL_XBS_INITWAIT), 1);
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), XSL_XBS_INITWAIT);
	/* Unchanged: nothing written, so no watch fires for nothing. */
	ck_assert_int_eq(xsl_xbs_switch(H, 0, "/d", XSL_XBS_INITWAIT), 0);
	pump_quiet();
	ck_assert_int_eq(events, 1);
	/* Junk is overwritten. */
	put("/d/state", "x");
	ck_assert_int_eq(xsl_xbs_switch(H, 0, "/d", XSL_XBS_CONNECTED), 1);
	/* In the caller's transaction: its outcome decides. */
	OK(xsl_txn_start(H, &t));
	ck_assert_int_eq(xsl_xbs_switch(H, t, "/d", XSL_XBS_CLOSING), 1);
	OK(xsl_txn_end(H, t, 0));
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), XSL_XBS_CONNECTED);
	OK(xsl_txn_start(H, &t));
	ck_assert_int_eq(xsl_xbs_switch(H, t, "/d", XSL_XBS_CLOSING), 1);
	OK(xsl_txn_end(H, t, 1));
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/d"), XSL_XBS_CLOSING);
	/* A removed device is not brought back by a lone state node. */
	OK(xsl_rm(H, 0, "/d"));
	ck_assert_int_eq(xsl_xbs_switch(H, 0, "/d", XSL_XBS_CLOSED), -ENOENT);
	ck_assert_int_eq(xsl_exists(H, 0, "/d"), 0);
	ck_assert_int_eq(xsl_xbs_switch(H, 0, "/d", (enum xsl_xbs)9), -EINVAL);
	OK(xsl_unwatch(H, w));
	down();
}
END_TEST

START_TEST(test_gather)
{
	unsigned ref = 0, port = 0;
	char *proto = NULL, *mode = (char *)"untouched";
	char big[XSL_PAYLOAD_MAX + 2];

	up();
	OK(xsl_xbs_printf(H, 0, "/f", "ring-ref", "%u", 8u));
	OK(xsl_xbs_printf(H, 0, "/f", "event-channel", "%d", 11));
	OK(xsl_xbs_printf(H, 0, NULL, "/f/protocol", "%s", "x86_64-abi"));
	ck_assert_int_eq(xsl_xbs_gather(H, 0, "/f", "ring-ref", "%u", &ref, "protocol", NULL, &proto,
					"event-channel", "%u", &port, NULL),
			 0);
	ck_assert_uint_eq(ref, 8);
	ck_assert_uint_eq(port, 11);
	ck_assert_str_eq(proto, "x86_64-abi");
	free(proto);
	proto = NULL;
	/* A missing key: its error, and the string read before it freed (ASan would see a leak). */
	ck_assert_int_eq(xsl_xbs_gather(H, 0, "/f", "protocol", NULL, &proto, "mode", NULL, &mode, NULL),
			 -ENOENT);
	ck_assert_ptr_null(proto);
	ck_assert_str_eq(mode, "untouched");
	ck_assert_int_eq(xsl_xbs_gather(H, 0, "/f", "protocol", "%u", &ref, NULL), -EINVAL);
	ck_assert_int_eq(xsl_xbs_scanf(H, 0, "/f", "ring-ref", "%u", &ref), 1);
	ck_assert_int_eq(xsl_xbs_scanf(H, 0, "/f", "protocol", "%u", &ref), -EINVAL);
	ck_assert_int_eq(xsl_xbs_scanf(H, 0, "/f", "nothing", "%u", &ref), -ENOENT);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(xsl_xbs_printf(H, 0, "/f", "big", "%s", big), -E2BIG);
	down();
}
END_TEST

struct later {
	const char *path, *value;
	int ms;
};

/* Another program (its own handle) writes after a while. */
static void *write_later(void *arg)
{
	struct later *l = arg;
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .path = D.socket, .timeout_ms = BT_WAIT_MS};
	struct timespec ts = {0, (long)l->ms * 1000000L};
	struct xsl *h;

	nanosleep(&ts, NULL);
	if (xsl_open(&h, &o) == 0) {
		xsl_write(h, 0, l->path, l->value, strlen(l->value));
		xsl_close(h);
	}
	return NULL;
}

static int wait_result;

static void wait_in_callback(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev,
			     void *arg)
{
	(void)w;
	(void)ev;
	(void)arg;
	wait_result = xsl_xbs_wait(h, "/d", XSL_XBS_BIT(XSL_XBS_CONNECTED), 1000);
}

START_TEST(test_wait)
{
	struct later l = {"/d/state", "4", 150};
	struct xsl_watch *w;
	pthread_t th;
	long long t0;

	up();
	put("/d/state", "2");
	ck_assert_int_eq(xsl_xbs_wait(H, "/d", XSL_XBS_BIT(XSL_XBS_INITWAIT), 0), XSL_XBS_INITWAIT);
	t0 = now_ms();
	ck_assert_int_eq(xsl_xbs_wait(H, "/d", XSL_XBS_BIT(XSL_XBS_CONNECTED), 200), -ETIMEDOUT);
	ck_assert_int_ge(now_ms() - t0, 190);
	ck_assert_int_eq(pthread_create(&th, NULL, write_later, &l), 0);
	ck_assert_int_eq(xsl_xbs_wait(H, "/d",
				      XSL_XBS_BIT(XSL_XBS_CONNECTED) | XSL_XBS_BIT(XSL_XBS_CLOSED),
				      BT_WAIT_MS),
			 XSL_XBS_CONNECTED);
	pthread_join(th, NULL);
	/* Gone counts as Closed. */
	l.path = "/d";
	OK(xsl_rm(H, 0, "/d"));
	ck_assert_int_eq(xsl_xbs_wait(H, "/d", XSL_XBS_BIT(XSL_XBS_CLOSED), 1000), XSL_XBS_CLOSED);
	/* From a callback of the handle it cannot wait (the callbacks wait for it): it says so at once. */
	wait_result = 1;
	OK(xsl_watch(H, "/e", NULL, wait_in_callback, NULL, &w));
	t0 = now_ms();
	while (wait_result == 1 && now_ms() - t0 < BT_WAIT_MS)
		xsl_pump(H, 100);
	ck_assert_int_eq(wait_result, -EDEADLK);
	ck_assert_int_lt(now_ms() - t0, 900);
	OK(xsl_unwatch(H, w));
	down();
}
END_TEST

START_TEST(test_toolstack)
{
	struct xsl_bus_attach a = {.type = "vif", .devid = "0", .frontend_id = 0, .backend_id = 0};
	struct xsl_bus_attach bad = a;
	long long t0;

	up();
	/* Both ends in dom0 (a loopback device): one permission entry each. */
	OK(xsl_bus_toolstack_attach(H, &a));
	ck_assert_int_eq(xsl_bus_toolstack_attach(H, &a), -EEXIST);
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/local/domain/0/device/vif/0"), XSL_XBS_INITIALISING);
	ck_assert_int_eq(xsl_xbs_read(H, 0, "/local/domain/0/backend/vif/0/0"), XSL_XBS_INITIALISING);
	/* Nobody runs the backend: the detach waits its time, then removes all the same. */
	t0 = now_ms();
	ck_assert_int_eq(xsl_bus_toolstack_detach(H, &a, 300), -ETIMEDOUT);
	ck_assert_int_ge(now_ms() - t0, 290);
	ck_assert_int_eq(xsl_exists(H, 0, "/local/domain/0/device/vif/0"), 0);
	ck_assert_int_eq(xsl_exists(H, 0, "/local/domain/0/backend/vif/0"), 0);
	ck_assert_int_eq(xsl_bus_toolstack_close(H, &a), -ENOENT);
	OK(xsl_bus_toolstack_remove(H, &a));
	ck_assert_int_eq(xsl_exists(H, 0, "/local/domain/0/backend/vif/0/0"), 0);
	bad.type = "a/b";
	ck_assert_int_eq(xsl_bus_toolstack_attach(H, &bad), -EINVAL);
	bad = a;
	bad.frontend_id = 0x7FF0;
	ck_assert_int_eq(xsl_bus_toolstack_attach(H, &bad), -EINVAL);
	down();
}
END_TEST

static char last_line[256];

static void keep_line(void *arg, int level, const char *line)
{
	(void)arg;
	(void)level;
	snprintf(last_line, sizeof(last_line), "%s", line);
}

START_TEST(test_open_register)
{
	struct xsl_bus_opts o = {.name = "xenbus3", .log = keep_line};
	struct xsl_bus_driver d = {.type = "vbd", .side = XSL_BUS_BACKEND};
	struct xsl_bus *bus;

	up();
	/* A socket speaks for the store's own domain: 0 without ~/domid. */
	OK(xsl_bus_open(H, &o, &bus));
	ck_assert_uint_eq(xsl_bus_domid(bus), 0);
	ck_assert_str_eq(last_line, "xenbus3: using the store's socket (no event channel)");
	OK(xsl_bus_register(bus, &d, NULL));
	ck_assert_int_eq(xsl_bus_register(bus, &d, NULL), -EEXIST);
	d.side = XSL_BUS_FRONTEND;
	OK(xsl_bus_register(bus, &d, NULL));
	d.type = "a/b";
	ck_assert_int_eq(xsl_bus_register(bus, &d, NULL), -EINVAL);
	d.type = "";
	ck_assert_int_eq(xsl_bus_register(bus, &d, NULL), -EINVAL);
	ck_assert_int_eq(xsl_bus_resume(bus), -EINVAL);
	OK(xsl_bus_suspend(bus));
	OK(xsl_bus_resume(bus));
	OK(xsl_bus_close(bus));
	/* ~/domid says otherwise; an explicit domid wins over both. */
	put("domid", "3");
	OK(xsl_bus_open(H, &o, &bus));
	ck_assert_uint_eq(xsl_bus_domid(bus), 3);
	OK(xsl_bus_close(bus));
	put("domid", "junk");
	ck_assert_int_eq(xsl_bus_open(H, &o, &bus), -EINVAL);
	o.flags = XSL_BUS_DOMID;
	o.domid = 9;
	OK(xsl_bus_open(H, &o, &bus));
	ck_assert_uint_eq(xsl_bus_domid(bus), 9);
	OK(xsl_bus_close(bus));
	o.domid = 0x7FF0;
	ck_assert_int_eq(xsl_bus_open(H, &o, &bus), -EINVAL);
	down();
}
END_TEST

static int probed, removed;

static int count_probe(struct xsl_bus_dev *dev)
{
	(void)dev;
	probed++;
	return 0;
}

static void count_remove(struct xsl_bus_dev *dev)
{
	(void)dev;
	removed++;
}

/* Pump until n probes (or removes) were counted. */
static void pump_until(int *count, int n)
{
	long long end = now_ms() + BT_WAIT_MS;

	while (*count < n) {
		ck_assert_msg(now_ms() < end, "only %d of %d devices", *count, n);
		ck_assert_int_ge(xsl_pump(H, 100), 0);
	}
}

/* Many devices at once: the type's bounded watch overflows into one listing that finds them all. */
START_TEST(test_many_devices)
{
	struct xsl_bus_driver d = {.type = "vif", .side = XSL_BUS_BACKEND, .probe = count_probe,
				   .remove = count_remove};
	struct xsl_bus_attach a = {.type = "vif", .frontend_id = 0, .backend_id = 0};
	struct xsl_open_opts o = {.transport = XSL_TR_SOCKET, .timeout_ms = BT_WAIT_MS};
	struct xsl_bus_opts bo = {.log = keep_line};
	struct xsl_stats st;
	struct xsl_bus *bus;
	struct xsl *tool;
	char id[16];

	up();
	o.path = D.socket;
	OK(xsl_open(&tool, &o));
	probed = removed = 0;
	OK(xsl_bus_open(H, &bo, &bus));
	OK(xsl_bus_register(bus, &d, NULL));
	pump_quiet();
	/* The bus's handle is not pumped meanwhile: its events pile up. */
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "%d", i);
		a.devid = id;
		OK(xsl_bus_toolstack_attach(tool, &a));
	}
	pump_until(&probed, 100);
	xsl_stats(H, &st);
	ck_assert_uint_ge(st.overflows, 1);
	for (int i = 0; i < 100; i++) {
		snprintf(id, sizeof(id), "%d", i);
		a.devid = id;
		OK(xsl_bus_toolstack_remove(tool, &a));
	}
	pump_until(&removed, 100);
	pump_quiet();
	ck_assert_int_eq(probed, 100);
	ck_assert_int_eq(removed, 100);
	OK(xsl_bus_close(bus));
	OK(xsl_close(tool));
	down();
}
END_TEST

Suite *suite_xbs(void)
{
	Suite *s = suite_create("xbs");
	TCase *tc = tcase_create("helpers");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_names_parse);
	tcase_add_test(tc, test_read);
	tcase_add_test(tc, test_switch);
	tcase_add_test(tc, test_gather);
	tcase_add_test(tc, test_wait);
	tcase_add_test(tc, test_toolstack);
	tcase_add_test(tc, test_open_register);
	tcase_add_test(tc, test_many_devices);
	suite_add_tcase(s, tc);
	return s;
}
