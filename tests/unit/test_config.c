/* The option table: argv and configuration files through config_load, the settings they make, what is refused, --help. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "daemon/quota.h"
#include "unit.h"

#define RUNDIR "/tmp/xst-config-rundir"
#define SAMPLE_CONF "conf/xenstored.conf" /* make runs the tests from the top of the tree */

/* What config_load printed (stdout and stderr) in the last load(). */
static char out[16384];

/*
 * config_load on "xenstored" followed by args (NULL-terminated), with conf
 * (if not NULL) written to a file passed first as -c FILE.
 */
static int load(const char *conf, const char *const *args)
{
	char path[] = "/tmp/xst-config.XXXXXX";
	char capture[] = "/tmp/xst-config-out.XXXXXX";
	const char *argv[64] = {"xenstored"};
	int argc = 1, fd, saved_out, saved_err, rc;
	ssize_t n;

	if (conf) {
		fd = mkstemp(path);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, conf, strlen(conf)), (ssize_t)strlen(conf));
		close(fd);
		argv[argc++] = "-c";
		argv[argc++] = path;
	}
	for (; args && *args; args++)
		argv[argc++] = *args;
	argv[argc] = NULL;

	fd = mkstemp(capture);
	ck_assert_int_ge(fd, 0);
	fflush(stdout);
	fflush(stderr);
	saved_out = dup(STDOUT_FILENO);
	saved_err = dup(STDERR_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	rc = config_load(argc, (char **)argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	n = pread(fd, out, sizeof(out) - 1, 0);
	out[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(capture);
	if (conf)
		unlink(path);
	return rc;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void setup(void)
{
	setenv("XENSTORED_RUNDIR", RUNDIR, 1);
	unsetenv("XENSTORED_PATH");
}

START_TEST(defaults_and_environment)
{
	ck_assert_int_eq(load(NULL, NULL), 0);
	ck_assert(!cfg.no_fork && !cfg.output_pid && !cfg.verbose && !cfg.fresh_store && !cfg.keep_orphans);
	ck_assert_uint_eq(cfg.hash_size, 65521);
	ck_assert_uint_eq(cfg.watch_event_timeout, 20);
	ck_assert_uint_eq(cfg.conn_output_max, 1024 * 1024);
	ck_assert_uint_eq(cfg.conn_max, 4096);
	ck_assert_uint_eq(cfg.master_domid, 0);
	ck_assert_uint_eq(cfg.priv_domid, 0);
	ck_assert_int_eq(cfg.hypervisor, 0);
	ck_assert_str_eq(cfg.pid_file, "");
	ck_assert_str_eq(cfg.run_dir, RUNDIR);
	ck_assert_str_eq(cfg.socket_path, RUNDIR "/socket");
	ck_assert_str_eq(cfg.store_file, RUNDIR "/xenstore.tdb");

	setenv("XENSTORED_PATH", "/tmp/elsewhere", 1);
	unsetenv("XENSTORED_RUNDIR");
	ck_assert_int_eq(load(NULL, NULL), 0);
	ck_assert_str_eq(cfg.run_dir, "/var/run/xenstored");
	ck_assert_str_eq(cfg.socket_path, "/tmp/elsewhere");
}
END_TEST

START_TEST(every_option_sets_its_field)
{
	ck_assert_int_eq(load(NULL, ARGS("-N", "-P", "-V", "-K", "-F", "/p", "-T", "/t", "-w", "watch-event=7",
					  "--master-domid", "5", "--priv-domid=6", "--hash-size", "1031",
					  "--store-file", "/s.tdb", "--fresh-store", "--hypervisor=sim", "-U",
					  "--live-update-format")),
			 0);
	ck_assert(cfg.no_fork && cfg.output_pid && cfg.verbose && cfg.keep_orphans && cfg.fresh_store);
	ck_assert(cfg.live_update && cfg.live_update_format);
	ck_assert_str_eq(cfg.pid_file, "/p");
	ck_assert_str_eq(cfg.trace_file, "/t");
	ck_assert_uint_eq(cfg.watch_event_timeout, 7);
	ck_assert_uint_eq(cfg.master_domid, 5);
	ck_assert_uint_eq(cfg.priv_domid, 6);
	ck_assert_uint_eq(cfg.hash_size, 1031);
	ck_assert_str_eq(cfg.store_file, "/s.tdb");
	ck_assert_int_eq(cfg.hypervisor, 2);

	/* The long spellings, and the C daemon's options that do nothing here. */
	ck_assert_int_eq(load(NULL, ARGS("--no-fork", "--output-pid", "--verbose", "--keep-orphans", "--pid-file",
					  "/p2", "--trace-file=/t2", "--timeout", "watch-event=0", "--trace-control",
					  "x", "--event", "9", "-D", "-R", "-I", "--internal-db=y")),
			 0);
	ck_assert(cfg.no_fork && cfg.output_pid && cfg.verbose && cfg.keep_orphans && !cfg.fresh_store);
	ck_assert_str_eq(cfg.pid_file, "/p2");
	ck_assert_str_eq(cfg.trace_file, "/t2");
	ck_assert_uint_eq(cfg.watch_event_timeout, 0);
}
END_TEST

START_TEST(options_win_over_the_file)
{
	const char *conf = "# comment\n"
			   "  hash-size = 1031   # trailing\n"
			   "priv-domid=3\n"
			   "\n"
			   "conn-max = 10\n"
			   "conn-output-max = 8192\n"
			   "verbose = yes\n"
			   "hypervisor = none\n"
			   "watch-event-timeout = 86400\n"
			   "event = anything\n";

	/* An option before -c still wins: the file is read first. */
	ck_assert_int_eq(load(conf, ARGS("--hash-size", "2053", "--hypervisor", "xen")), 0);
	ck_assert_uint_eq(cfg.hash_size, 2053);
	ck_assert_int_eq(cfg.hypervisor, 1);
	ck_assert_uint_eq(cfg.priv_domid, 3);
	ck_assert_uint_eq(cfg.conn_max, 10);
	ck_assert_uint_eq(cfg.conn_output_max, 8192);
	ck_assert_uint_eq(cfg.watch_event_timeout, 86400);
	ck_assert(cfg.verbose);
	/* The last of an option given twice wins. */
	ck_assert_int_eq(load(NULL, ARGS("--hash-size", "2053", "--hash-size", "17")), 0);
	ck_assert_uint_eq(cfg.hash_size, 17);
}
END_TEST

START_TEST(quotas_go_to_quota_c)
{
	const char *conf = "quota-nodes = 77\nquota-node-permissions = 3\nquota-soft-memory = 1234\n";

	ck_assert_int_eq(load(conf, ARGS("-E", "55", "-Q", "watches=9", "--quota", "transaction-nodes=11", "-S",
					  "999", "-t", "4", "-A", "6", "-M", "100", "-W", "12", "-q", "memory=4321")),
			 0);
	ck_assert_uint_eq(quota_hard[QUOTA_NODES], 55);
	ck_assert_uint_eq(quota_hard[QUOTA_NODE_PERMISSIONS], 6);
	ck_assert_uint_eq(quota_hard[QUOTA_WATCHES], 12);
	ck_assert_uint_eq(quota_hard[QUOTA_TRANSACTION_NODES], 11);
	ck_assert_uint_eq(quota_hard[QUOTA_NODE_SIZE], 999);
	ck_assert_uint_eq(quota_hard[QUOTA_TRANSACTIONS], 4);
	ck_assert_uint_eq(quota_hard[QUOTA_PATH_MAX], 100);
	ck_assert_uint_eq(quota_soft_memory, 4321);
	ck_assert_int_eq(load(conf, NULL), 0);
	ck_assert_uint_eq(quota_hard[QUOTA_NODES], 77);
	ck_assert_uint_eq(quota_hard[QUOTA_NODE_PERMISSIONS], 3);
	ck_assert_uint_eq(quota_soft_memory, 1234);
}
END_TEST

START_TEST(bad_options_are_refused)
{
	static char long_path[1100];
	const struct {
		const char *const *args;
		const char *says;
	} cases[] = {
		{ARGS("--no-such-option"), "unrecognized option"},
		{ARGS("-Z"), "invalid option"},
		{ARGS("-F"), "requires an argument"},
		{ARGS("--conn-max", "5"), "unrecognized option"}, /* a file key, not an option */
		{ARGS("-Q", "nosuchquota=5"), "xenstored: bad value for -Q: nosuchquota=5\n"},
		{ARGS("-Q", "nodes"), "bad value for -Q: nodes\n"},
		{ARGS("-q", "nodes=5"), "bad value for -q: nodes=5\n"},
		{ARGS("--timeout", "bogus=1"), "xenstored: --timeout takes watch-event=N\n"},
		{ARGS("-w", "watch-event=86401"), "bad value for watch-event-timeout: 86401\n"},
		{ARGS("stray-argument"), "xenstored: unexpected argument stray-argument\n"},
		{ARGS("--hash-size", "0"), "bad value for hash-size: 0\n"},
		{ARGS("--priv-domid", "32752"), "bad value for priv-domid: 32752\n"},
		{ARGS("--master-domid", "-1"), "bad value for master-domid: -1\n"},
		{ARGS("--hypervisor=foo"), "xenstored: bad value for hypervisor: foo\n"},
		{ARGS("-E", "abc"), "bad value for quota-nodes: abc\n"},
		{ARGS("-F", long_path), "bad value for pid-file: "},
		{ARGS("-c", "/nonexistent/xst.conf"), "xenstored: /nonexistent/xst.conf: No such file or directory\n"},
	};

	memset(long_path, 'a', sizeof(long_path) - 1);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(load(NULL, cases[i].args) == -1, "%s accepted", cases[i].args[0]);
		ck_assert_msg(strstr(out, cases[i].says), "%s: said '%s'", cases[i].args[0], out);
	}
	/* A refused option comes before any use of --help that follows it. */
	ck_assert_int_eq(load(NULL, ARGS("--bogus", "--help")), -1);
	ck_assert_int_eq(load(NULL, ARGS("--help", "--bogus")), 1);
}
END_TEST

START_TEST(bad_file_lines_are_all_reported)
{
	const char *conf = "quota-nodes = 5\n"
			   "bogus = 1\n"
			   "noequals\n"
			   "hash-size = 0\n"
			   "conn-output-max = 8191\n"
			   "verbose = maybe\n"
			   "quota-soft-nodes = 5\n"
			   "no-fork = 1\n";

	ck_assert_int_eq(load(conf, NULL), -1);
	ck_assert_ptr_nonnull(strstr(out, ":2: bad setting bogus = 1\n"));
	ck_assert_ptr_nonnull(strstr(out, ":3: expected key = value\n"));
	ck_assert_ptr_nonnull(strstr(out, ":4: bad setting hash-size = 0\n"));
	ck_assert_ptr_nonnull(strstr(out, ":5: bad setting conn-output-max = 8191\n"));
	ck_assert_ptr_nonnull(strstr(out, ":6: bad setting verbose = maybe\n"));
	ck_assert_ptr_nonnull(strstr(out, ":7: bad setting quota-soft-nodes = 5\n"));
	ck_assert_ptr_nonnull(strstr(out, ":8: bad setting no-fork = 1\n")); /* command line only */
	ck_assert_ptr_null(strstr(out, ":1:"));
}
END_TEST

START_TEST(help_lists_every_entry_and_version)
{
	ck_assert_int_eq(load(NULL, ARGS("--help")), 1);
	ck_assert_ptr_nonnull(strstr(out, "Usage: xenstored [options]\n"));
	for (size_t i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		char want[96];

		ck_assert_msg(o->help && *o->help, "row %zu has no help", i);
		ck_assert_msg(o->name || o->key, "row %zu is neither option nor key", i);
		if (o->letter) {
			snprintf(want, sizeof(want), "  -%c, --", o->letter);
			ck_assert_msg(strstr(out, want), "--help lacks -%c", o->letter);
		}
		if (o->name) {
			snprintf(want, sizeof(want), "--%s", o->name);
			ck_assert_msg(strstr(out, want), "--help lacks %s", want);
		}
		if (o->key) {
			snprintf(want, sizeof(want), "\n  %s%s = ", o->key, o->family ? "NAME" : "");
			ck_assert_msg(strstr(out, want), "--help lacks the key %s", o->key);
		}
	}
	ck_assert_int_eq(load(NULL, ARGS("-H")), 1);
	ck_assert_int_eq(load(NULL, ARGS("--version")), 1);
	ck_assert_str_eq(out, "xenstored " VERSION "\n");
}
END_TEST

/* The clean-up's slice and the emergency reserve: their defaults, and each bound taken, one past it refused. */
START_TEST(cleanup_slice_and_emergency_reserve_at_their_edges)
{
	ck_assert_int_eq(load(NULL, NULL), 0);
	ck_assert_uint_eq(cfg.cleanup_slice_us, 2000);
	ck_assert_uint_eq(quota_emergency, 1u << 20);
	ck_assert_int_eq(load("cleanup-slice-us = 100\nmemory-emergency = 0\n", NULL), 0);
	ck_assert_uint_eq(cfg.cleanup_slice_us, 100);
	ck_assert_uint_eq(quota_emergency, 0);
	ck_assert_int_eq(load("cleanup-slice-us = 1000000\nmemory-emergency = 1073741824\n", NULL), 0);
	ck_assert_uint_eq(cfg.cleanup_slice_us, 1000000);
	ck_assert_uint_eq(quota_emergency, 1u << 30);
	ck_assert_int_eq(load("cleanup-slice-us = 99\n", NULL), -1);
	ck_assert_ptr_nonnull(strstr(out, ":1: bad setting cleanup-slice-us = 99\n"));
	ck_assert_int_eq(load("cleanup-slice-us = 1000001\n", NULL), -1);
	ck_assert_int_eq(load("memory-emergency = 1073741825\n", NULL), -1);
	ck_assert_ptr_nonnull(strstr(out, ":1: bad setting memory-emergency = 1073741825\n"));
	/* File keys only, as ring-turn-us. */
	ck_assert_int_eq(load(NULL, ARGS("--cleanup-slice-us", "100")), -1);
}
END_TEST

/* Compaction's settings: their defaults, and each bound taken, one past it refused. */
START_TEST(compaction_settings_at_their_edges)
{
	ck_assert_int_eq(load(NULL, NULL), 0);
	ck_assert(cfg.compact);
	ck_assert_uint_eq(cfg.compact_min_free, 16u << 20);
	ck_assert_uint_eq(cfg.compact_min_percent, 50);
	ck_assert_uint_eq(cfg.compact_slice_us, 2000);
	ck_assert_int_eq(load("compact = no\ncompact-min-free = 1048576\ncompact-min-percent = 1\n"
			      "compact-slice-us = 100\n", NULL), 0);
	ck_assert(!cfg.compact);
	ck_assert_uint_eq(cfg.compact_min_free, 1u << 20);
	ck_assert_uint_eq(cfg.compact_min_percent, 1);
	ck_assert_uint_eq(cfg.compact_slice_us, 100);
	ck_assert_int_eq(load("compact-min-free = 281474976710656\ncompact-min-percent = 99\n"
			      "compact-slice-us = 1000000\n", NULL), 0);
	ck_assert_uint_eq(cfg.compact_min_free, 1ull << 48);
	ck_assert_uint_eq(cfg.compact_min_percent, 99);
	ck_assert_uint_eq(cfg.compact_slice_us, 1000000);
	ck_assert_int_eq(load("compact-min-free = 1048575\n", NULL), -1);
	ck_assert_ptr_nonnull(strstr(out, ":1: bad setting compact-min-free = 1048575\n"));
	ck_assert_int_eq(load("compact-min-free = 281474976710657\n", NULL), -1);
	ck_assert_int_eq(load("compact-min-percent = 0\n", NULL), -1);
	ck_assert_int_eq(load("compact-min-percent = 100\n", NULL), -1);
	ck_assert_int_eq(load("compact-slice-us = 99\n", NULL), -1);
	ck_assert_int_eq(load("compact-slice-us = 1000001\n", NULL), -1);
	ck_assert_int_eq(load("compact = maybe\n", NULL), -1);
	/* File keys only. */
	ck_assert_int_eq(load(NULL, ARGS("--compact-min-free", "1048576")), -1);
}
END_TEST

/* Every "# key = value" of the sample file is a valid setting, and every setting that does something is there. */
START_TEST(sample_conf_matches_the_table)
{
	FILE *f = fopen(SAMPLE_CONF, "r");
	char line[512], keys[4096] = "", conf[4096] = "";

	ck_assert_msg(f != NULL, "%s: run from the top of the tree", SAMPLE_CONF);
	while (fgets(line, sizeof(line), f)) {
		char key[64], val[256];

		if (sscanf(line, "# %63[a-z-] = %255s", key, val) != 2)
			continue;
		snprintf(conf + strlen(conf), sizeof(conf) - strlen(conf), "%s = %s\n", key, val);
		snprintf(keys + strlen(keys), sizeof(keys) - strlen(keys), "\n%s%s", key, "=");
	}
	fclose(f);
	ck_assert_int_eq(load(conf, NULL), 0);
	for (size_t i = 0; i < config_noptions; i++) {
		const struct config_option *o = &config_options[i];
		char want[96];

		if (!o->key || strstr(o->help, "no effect"))
			continue;
		snprintf(want, sizeof(want), "\n%s%s", o->key, o->family ? "" : "=");
		ck_assert_msg(strstr(keys, want), "%s does not document %s", SAMPLE_CONF, o->key);
	}
}
END_TEST

Suite *xst_config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("table");

	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, defaults_and_environment);
	tcase_add_test(tc, every_option_sets_its_field);
	tcase_add_test(tc, options_win_over_the_file);
	tcase_add_test(tc, quotas_go_to_quota_c);
	tcase_add_test(tc, bad_options_are_refused);
	tcase_add_test(tc, bad_file_lines_are_all_reported);
	tcase_add_test(tc, help_lists_every_entry_and_version);
	tcase_add_test(tc, sample_conf_matches_the_table);
	tcase_add_test(tc, cleanup_slice_and_emergency_reserve_at_their_edges);
	tcase_add_test(tc, compaction_settings_at_their_edges);
	suite_add_tcase(s, tc);
	return s;
}
