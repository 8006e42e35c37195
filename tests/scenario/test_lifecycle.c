/* Scenario: the daemon's life: socket file and mode, pid file, SIGTERM, restart keeping the tree, options. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scenario.h"
#include "sc_util.h"

START_TEST(socket_mode_and_clean_exit)
{
	struct xst_daemon d;
	struct stat st;
	char pidfile[320];
	int status;

	sc_start(&d, NULL);
	ck_assert_int_eq(stat(d.socket, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	snprintf(pidfile, sizeof(pidfile), "%s/pid", d.dir);
	{
		FILE *f = fopen(pidfile, "r");
		long pid = 0;

		ck_assert_ptr_nonnull(f);
		ck_assert_int_eq(fscanf(f, "%ld", &pid), 1);
		fclose(f);
		ck_assert_int_eq(pid, d.pid);
	}
	status = xst_daemon_stop(&d, 1);
	ck_assert(WIFEXITED(status));
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	ck_assert_int_ne(access(d.socket, F_OK), 0);
	ck_assert_int_ne(access(pidfile, F_OK), 0);
	ck_assert_int_eq(xst_daemon_start(&d, XST_OURS, d.dir, NULL), 0);
	d.own_dir = 1;
	sc_stop(&d);
}
END_TEST

START_TEST(stale_socket_is_replaced)
{
	char dir[] = "/tmp/xst-stale.XXXXXX";
	char path[64];
	struct xst_daemon d;
	struct xst_msg m;
	FILE *f;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/socket", dir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	ck_assert_int_eq(xst_daemon_start(&d, XST_OURS, dir, NULL), 0);
	d.own_dir = 1;
	struct sc_conn *c = sc_connect(&d);

	sc_call(c, XS_READ, 0, 0, SC_ARGS("/tool/xenstored"), &m);
	SC_EXPECT_STR(&m, XS_READ, "");
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(xenstored_path_names_the_socket)
{
	char dir[] = "/tmp/xst-path.XXXXXX";
	char sock[200], run[100];
	struct xst_conn *c = NULL;
	pid_t p;
	int status;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/elsewhere.sock", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	p = fork();
	if (p == 0) {
		setenv("XENSTORED_PATH", sock, 1);
		setenv("XENSTORED_RUNDIR", run, 1);
		execl(getenv("XST_DAEMON") ? getenv("XST_DAEMON") : XST_DAEMON_BIN, "xenstored", "-N",
		      (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 300 && !c; i++) {
		c = xst_conn_socket(sock, 5000);
		if (!c)
			usleep(10000);
	}
	ck_assert_ptr_nonnull(c);
	xst_conn_close(c);
	/* The store went to the run directory. */
	snprintf(sock, sizeof(sock), "%s/xenstore.tdb", run);
	ck_assert_int_eq(access(sock, F_OK), 0);
	kill(p, SIGINT);
	ck_assert_int_eq(waitpid(p, &status, 0), p);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	snprintf(sock, sizeof(sock), "rm -rf %s", dir);
	ck_assert_int_eq(system(sock), 0);
}
END_TEST

static unsigned long long dir_generation(struct sc_conn *c, const char *path)
{
	struct xst_msg m;

	sc_call(c, XS_DIRECTORY_PART, 0, 0, SC_ARGS(path, "0"), &m);
	ck_assert_uint_eq(m.hdr.type, XS_DIRECTORY_PART);
	return strtoull(m.payload, NULL, 10);
}

START_TEST(restart_keeps_the_tree)
{
	struct xst_daemon d;
	struct xst_msg m;
	struct sc_conn *c;
	unsigned long long gen_before;

	sc_start(&d, NULL);
	c = sc_connect(&d);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/keep/b", "bee"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/keep/a", "ay"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/keep/c", "sea"), &m);
	sc_call(c, XS_RM, 0, 0, SC_ARGS("/keep/a"), &m);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/keep/a", "again"), &m);
	sc_call(c, XS_SET_PERMS, 0, 0, SC_ARGS("/keep/b", "n0", "r5", "b7"), &m);
	SC_EXPECT_STR(&m, XS_SET_PERMS, "OK\0");
	gen_before = dir_generation(c, "/keep");
	sc_close(c);
	sc_stop_keep(&d);
	sc_restart(&d, NULL);
	c = sc_connect(&d);
	sc_call(c, XS_DIRECTORY, 0, 0, SC_ARGS("/keep"), &m);
	SC_EXPECT_STR(&m, XS_DIRECTORY, "b\0c\0a\0");
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/keep/a"), &m);
	SC_EXPECT_STR(&m, XS_READ, "again");
	sc_call(c, XS_GET_PERMS, 0, 0, SC_ARGS("/keep/b"), &m);
	SC_EXPECT_STR(&m, XS_GET_PERMS, "n0\0r5\0b7\0");
	/* Generations keep increasing across the restart. */
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/keep/d", "dee"), &m);
	ck_assert_uint_gt(dir_generation(c, "/keep"), gen_before);
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(fresh_store_option_starts_empty)
{
	struct xst_daemon d;
	struct xst_msg m;
	struct sc_conn *c;

	sc_start(&d, NULL);
	c = sc_connect(&d);
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/gone", "x"), &m);
	sc_close(c);
	sc_stop_keep(&d);
	sc_restart(&d, SC_ARGS("--fresh-store"));
	c = sc_connect(&d);
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/gone"), &m);
	SC_EXPECT_STR(&m, XS_ERROR, "ENOENT\0");
	sc_call(c, XS_DIRECTORY, 0, 0, SC_ARGS("/"), &m);
	SC_EXPECT_STR(&m, XS_DIRECTORY, "tool\0");
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(killed_daemon_restarts_with_its_tree)
{
	struct xst_daemon d;
	struct xst_msg m;
	struct sc_conn *c;
	unsigned long long gen_before;

	sc_start(&d, NULL);
	c = sc_connect(&d);
	for (int i = 0; i < 100; i++) {
		char p[32];

		snprintf(p, sizeof(p), "/k/n%d", i);
		sc_call(c, XS_WRITE, 0, 1, SC_ARGS(p, "v"), &m);
	}
	gen_before = dir_generation(c, "/k");
	sc_close(c);
	sc_crash(&d);
	sc_restart(&d, NULL);
	c = sc_connect(&d);
	sc_call(c, XS_READ, 0, 0, SC_ARGS("/k/n99"), &m);
	SC_EXPECT_STR(&m, XS_READ, "v");
	sc_call(c, XS_WRITE, 0, 1, SC_ARGS("/k/more", "v"), &m);
	ck_assert_uint_gt(dir_generation(c, "/k"), gen_before);
	sc_close(c);
	sc_stop(&d);
}
END_TEST

START_TEST(bad_options_are_refused)
{
	const char *bin = getenv("XST_DAEMON") ? getenv("XST_DAEMON") : XST_DAEMON_BIN;
	const char *cases[][3] = {
		{"--no-such-option", NULL, NULL},
		{"-Q", "nosuchquota=5", NULL},
		{"-q", "nodes=5", NULL},
		{"--timeout", "bogus=1", NULL},
		{"stray-argument", NULL, NULL},
		{"-U", NULL, NULL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		pid_t p = fork();
		int status;

		if (p == 0) {
			freopen("/dev/null", "w", stderr);
			execl(bin, "xenstored", "-N", cases[i][0], cases[i][1], (char *)NULL);
			_exit(127);
		}
		ck_assert_int_eq(waitpid(p, &status, 0), p);
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 1, "option %s accepted",
			      cases[i][0]);
	}
	{
		pid_t p = fork();
		int status;

		if (p == 0) {
			freopen("/dev/null", "w", stdout);
			execl(bin, "xenstored", "--help", (char *)NULL);
			_exit(127);
		}
		waitpid(p, &status, 0);
		ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
}
END_TEST

START_TEST(config_file_and_options)
{
	struct xst_daemon d;
	struct xst_msg m;
	char conf[] = "/tmp/xst-conf.XXXXXX";
	int fd = mkstemp(conf);
	const char text[] = "# test\nquota-node-permissions = 3\nquota-nodes=77\nhash-size = 1031\n";

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, sizeof(text) - 1), (ssize_t)sizeof(text) - 1);
	close(fd);
	/* The option wins over the file for nodes; the file sets node-permissions. */
	sc_start(&d, SC_ARGS("-c", conf, "-E", "55"));
	struct sc_conn *c = sc_connect(&d);

	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("quota"), &m);
	ck_assert_uint_eq(m.hdr.type, XS_CONTROL);
	ck_assert_ptr_nonnull(strstr(m.payload, "nodes            :       55"));
	ck_assert_ptr_nonnull(strstr(m.payload, "node-permissions :        3"));
	sc_close(c);
	sc_stop(&d);
	unlink(conf);
}
END_TEST

/* Start with "reply-reserve = reserve" and the heap failing the allocations of replies nomem ("N:K"). */
static void start_short_of_memory(struct xst_daemon *d, unsigned reserve, const char *nomem)
{
	char conf[] = "/tmp/xst-conf.XXXXXX", text[64];
	int fd = mkstemp(conf), n = snprintf(text, sizeof(text), "reply-reserve = %u\n", reserve);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, (size_t)n), n);
	close(fd);
	setenv("XENSTORED_TEST_REPLY_NOMEM", nomem, 1);
	sc_start(d, SC_ARGS("-c", conf));
	unsetenv("XENSTORED_TEST_REPLY_NOMEM");
	unlink(conf);
}

/* The value of one line of CONTROL stats. */
static long long stat_of(struct sc_conn *c, const char *name)
{
	struct xst_msg m;
	char key[64];
	const char *at;

	sc_call(c, XS_CONTROL, 0, 0, SC_ARGS("stats"), &m);
	snprintf(key, sizeof(key), "\n%s: ", name);
	at = strstr(m.payload, key);
	ck_assert_msg(at != NULL, "no %s in stats", name);
	return atoll(at + strlen(key));
}

/*
 * A reply the heap has no memory for goes into a buffer of the reply
 * reserve: every pipelined request is answered, in order, and the
 * connection lives on. With no reserve, that one connection is dropped and
 * the others are served.
 */
START_TEST(replies_without_memory_use_the_reserve)
{
	struct xst_daemon d;
	struct xst_msg m;
	char path[32];

	/* Replies 2 to 4 since the start (the first is the WRITE below's). */
	start_short_of_memory(&d, 1, "2:3");
	struct sc_conn *c = sc_connect_raw(&d);

	SC_OK(c, XS_WRITE, 0, 1, "/nomem", "x");
	for (uint32_t i = 1; i <= 8; i++) {
		snprintf(path, sizeof(path), "/nomem/n%u", i);
		ck_assert_int_eq(xst_wire_send_msg(sc_wire(c), XS_MKDIR, i, 0, path, strlen(path) + 1), 0);
	}
	for (uint32_t i = 1; i <= 8; i++) {
		ck_assert_int_eq(xst_wire_recv(sc_wire(c), &m, 5000), 0);
		ck_assert_uint_eq(m.hdr.req_id, i);
		SC_EXPECT_STR(&m, XS_MKDIR, "OK\0");
	}
	ck_assert_int_eq(stat_of(c, "reply-reserve-used"), 3);
	ck_assert_int_eq(stat_of(c, "reply-reserve-free"), 1);
	ck_assert_int_eq(stat_of(c, "replies-without-memory"), 0);
	sc_close(c);
	sc_stop(&d);

	start_short_of_memory(&d, 0, "3:1");
	struct sc_conn *a = sc_connect_raw(&d), *b = sc_connect_raw(&d);

	SC_OK(a, XS_WRITE, 0, 1, "/a", "1");
	SC_OK(b, XS_WRITE, 0, 1, "/b", "1");
	/* The third reply has no memory and no reserve: a is dropped, b is not. */
	ck_assert_int_eq(xst_wire_send_msg(sc_wire(a), XS_READ, 7, 0, "/a", 3), 0);
	ck_assert_int_ne(xst_wire_recv(sc_wire(a), &m, 5000), 0);
	SC_OK(b, XS_WRITE, 0, 1, "/b", "2");
	ck_assert_int_eq(stat_of(b, "replies-without-memory"), 1);
	sc_close(a);
	sc_close(b);
	sc_stop(&d);
}
END_TEST

Suite *suite_lifecycle(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("daemon");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, socket_mode_and_clean_exit);
	tcase_add_test(tc, stale_socket_is_replaced);
	tcase_add_test(tc, xenstored_path_names_the_socket);
	tcase_add_test(tc, restart_keeps_the_tree);
	tcase_add_test(tc, fresh_store_option_starts_empty);
	tcase_add_test(tc, killed_daemon_restarts_with_its_tree);
	tcase_add_test(tc, bad_options_are_refused);
	tcase_add_test(tc, config_file_and_options);
	tcase_add_test(tc, replies_without_memory_use_the_reserve);
	suite_add_tcase(s, tc);
	return s;
}
