/* The Xen hypervisor port without Xen: tests/refd/refshim.c fakes libxen* and /proc/xen, so our Xen code path runs. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/xst_conn.h"
#include "tests/lib/xst_daemon.h"

static const char *shim;

static void call(struct xst_conn *c, uint32_t type, const char *const *args, const char *want_type,
		 const char *want)
{
	struct xst_msg m;

	ck_assert_int_eq(xst_call(c, 0, type, type == XS_WRITE, args, &m), 0);
	ck_assert_msg(!strcmp(want_type, "ERROR") == (m.hdr.type == XS_ERROR),
		      "%s: got type %u payload '%s'", xs_type_name(type), m.hdr.type, m.payload);
	ck_assert_msg(strcmp(m.payload, want) == 0, "%s: got '%s', want '%s'", xs_type_name(type),
		      m.payload, want);
}

static int log_has(const struct xst_daemon *d, const char *text)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "grep -q '%s' %s/daemon.log", text, d->dir);
	return system(cmd) == 0;
}

START_TEST(xen_port_introduce_release)
{
	struct xst_daemon d;
	const char *args[] = {"--hypervisor=xen", "-V", NULL};
	char cmd[512];
	int status;

	/* Only the daemon gets the shim (and ASan tolerates a preload after it). */
	setenv("XSSHIM_DOMAINS", "all", 1);
	setenv("ASAN_OPTIONS", "verify_asan_link_order=0", 1);
	setenv("LD_PRELOAD", shim, 1);
	ck_assert_int_eq(xst_daemon_start(&d, XST_OURS, NULL, args), 0);
	unsetenv("LD_PRELOAD");
	ck_assert_msg(log_has(&d, "hypervisor port: xen"), "not on the xen port");
	ck_assert_msg(log_has(&d, "domain 0 introduced"), "dom0's own ring not served");

	struct xst_conn *c = xst_conn_socket(d.socket, 5000);

	ck_assert_ptr_nonnull(c);
	call(c, XS_WRITE, (const char *const[]){"/local/domain/7/data", "x", NULL}, "WRITE", "OK");
	call(c, XS_SET_PERMS, (const char *const[]){"/local/domain/7", "n7", NULL}, "SET_PERMS", "OK");
	call(c, XS_SET_PERMS, (const char *const[]){"/local/domain/7/data", "n7", NULL}, "SET_PERMS",
	     "OK");
	call(c, XS_WRITE, (const char *const[]){"/shared", "s", NULL}, "WRITE", "OK");
	call(c, XS_SET_PERMS, (const char *const[]){"/shared", "n0", "r7", NULL}, "SET_PERMS", "OK");
	call(c, XS_INTRODUCE, (const char *const[]){"7", "4711", "9", NULL}, "INTRODUCE", "OK");
	call(c, XS_IS_DOMAIN_INTRODUCED, (const char *const[]){"7", NULL}, "IS", "T");
	ck_assert(log_has(&d, "domain 7 introduced"));
	call(c, XS_RELEASE, (const char *const[]){"7", NULL}, "RELEASE", "OK");
	/* Held (T) until its clean-up, a few turns of the loop later, is over. */
	for (int i = 0;; i++) {
		struct xst_msg m;

		ck_assert_int_eq(xst_call(c, 0, XS_IS_DOMAIN_INTRODUCED, 0, (const char *const[]){"7", NULL}, &m),
				 0);
		if (!strcmp(m.payload, "F"))
			break;
		ck_assert_msg(!strcmp(m.payload, "T") && i < 5000, "IS_DOMAIN_INTRODUCED: '%s' after %d ms",
			      m.payload, i);
		usleep(1000);
	}
	/* What the domain owned is gone, and the entry naming it too. */
	call(c, XS_READ, (const char *const[]){"/local/domain/7/data", NULL}, "ERROR", "ENOENT");
	call(c, XS_GET_PERMS, (const char *const[]){"/shared", NULL}, "GET_PERMS", "n0");
	call(c, XS_RELEASE, (const char *const[]){"7", NULL}, "ERROR", "ENOENT");
	xst_conn_close(c);
	status = xst_daemon_stop(&d, 1);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(cmd, sizeof(cmd), "cat %s/daemon.log >&2", d.dir);
		ck_assert_int_ge(system(cmd), 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", d.dir);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "exit status %d", status);
}
END_TEST

int main(int argc, char **argv)
{
	Suite *s = suite_create("xen port");
	TCase *tc = tcase_create("shim");
	SRunner *sr;
	int failed, run;

	if (argc != 2) {
		fprintf(stderr, "usage: %s SHIM.so\n", argv[0]);
		return 2;
	}
	shim = argv[1];
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, xen_port_introduce_release);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	return failed || !run ? 1 : 0;
}
