/* What the in-process daemon tests share: a store in a temporary directory, saved quotas, identities, nodes, and a log of watch events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/arena.h"
#include "daemon/quota.h"
#include "daemon/store.h"
#include "unit.h"

static char tmp_root[64], store_dir[96];

/*
 * The test case's directory, made and removed by the parent process: a test
 * that fails ends without its teardown, and its store goes with the directory.
 */
void xst_tmp_make(void)
{
	snprintf(tmp_root, sizeof(tmp_root), "/tmp/xst-unit.XXXXXX");
	if (!mkdtemp(tmp_root))
		tmp_root[0] = '\0';
}

static int remove_tree(const char *dir)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

void xst_tmp_remove(void)
{
	if (tmp_root[0] && remove_tree(tmp_root) != 0)
		fprintf(stderr, "cannot remove %s\n", tmp_root);
	tmp_root[0] = '\0';
}

void xst_store_open(void)
{
	char file[128];
	struct store_options o = {.file = file, .hash_size = 1021, .fresh = true};
	const char *why = NULL;

	snprintf(store_dir, sizeof(store_dir), "%s/xst-store.XXXXXX",
		 tmp_root[0] ? tmp_root : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(store_dir));
	snprintf(file, sizeof(file), "%s/store.tdb", store_dir);
	ck_assert_msg(store_open(&o, &why) == XSE_OK, "store_open: %s", why ? why : "?");
}

void xst_store_close(void)
{
	store_close();
	ck_assert_int_eq(remove_tree(store_dir), 0);
}

static unsigned saved_quota[QUOTA_COUNT];
static size_t saved_budget, saved_reserve;

void xst_quota_save(void)
{
	memcpy(saved_quota, quota_hard, sizeof(saved_quota));
	saved_budget = quota_budget;
	saved_reserve = quota_budget_reserve;
}

void xst_quota_restore(void)
{
	memcpy(quota_hard, saved_quota, sizeof(saved_quota));
	quota_budget = saved_budget;
	quota_budget_reserve = saved_reserve;
	quota_fini();
}

void xst_module_setup(void)
{
	xst_quota_save();
	xst_store_open();
	xst_events_reset();
}

void xst_module_teardown(void)
{
	xst_store_close();
	xst_quota_restore();
}

Suite *xst_fixture_suite(const char *name, SFun setup, SFun teardown, const TTest *const *tests,
			 size_t n)
{
	Suite *s = suite_create(name);
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, xst_tmp_make, xst_tmp_remove);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	for (size_t i = 0; i < n; i++)
		tcase_add_test(tc, tests[i]);
	suite_add_tcase(s, tc);
	return s;
}

void xst_ident(struct ident *id, uint32_t domid, bool priv)
{
	ident_set(id, domid, priv);
	id->target = XS_DOMID_INVALID;
}

unsigned xst_perms(const char *list, struct xs_perm *out, unsigned max)
{
	char buf[128], *save = NULL;
	unsigned n = 0;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *e = strtok_r(buf, " ", &save); e; e = strtok_r(NULL, " ", &save)) {
		ck_assert_uint_lt(n, max);
		ck_assert_int_eq(xs_perm_parse(e, &out[n]), XSE_OK);
		out[n++].ignored = false;
	}
	return n;
}

void xst_node(const char *path, const char *perms, const char *value)
{
	struct xs_perm p[8];
	unsigned n = xst_perms(perms, p, 8);
	struct arena a = {0};

	ck_assert_msg(store_create(&a, path, p, n, value, strlen(value)) == XSE_OK, "create %s",
		      path);
	arena_free(&a);
}

void xst_nodes(const char *list)
{
	char buf[512], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (char *e = strtok_r(buf, ";", &save); e; e = strtok_r(NULL, ";", &save)) {
		char path[128];
		int used = 0;

		ck_assert_int_eq(sscanf(e, " %127s %n", path, &used), 1);
		xst_node(path, e + used, "");
	}
}

void xst_expect_node(const char *path, const char *value)
{
	struct arena a = {0};
	struct store_node n;
	enum xs_err err = store_read(&a, path, true, &n);

	if (!value) {
		ck_assert_msg(err == XSE_ENOENT, "%s should be absent (read: %d)", path, (int)err);
	} else {
		ck_assert_msg(err == XSE_OK, "%s should exist (read: %d)", path, (int)err);
		ck_assert_msg(n.vlen == strlen(value) && memcmp(n.value, value, n.vlen) == 0,
			      "%s holds '%.*s', not '%s'", path, (int)n.vlen, n.value, value);
	}
	arena_free(&a);
}

void xst_expect_perms(const char *path, const char *perms)
{
	struct arena a = {0};
	struct store_node n;
	char got[128] = "";
	size_t len = 0;

	ck_assert_msg(store_read(&a, path, false, &n) == XSE_OK, "%s should exist", path);
	for (unsigned i = 0; i < n.nperms && len + 16 < sizeof(got); i++) {
		if (i)
			got[len++] = ' ';
		len += xs_perm_format(&n.perms[i], got + len, sizeof(got) - len);
	}
	arena_free(&a);
	ck_assert_msg(strcmp(got, perms) == 0, "%s has perms '%s', not '%s'", path, got, perms);
}

static char event_log[4096];

void xst_events_reset(void)
{
	event_log[0] = '\0';
}

void xst_events_deliver(void *owner, const char *path, const char *token)
{
	size_t len = strlen(event_log);

	snprintf(event_log + len, sizeof(event_log) - len, "%s%s:%s:%s", len ? " " : "",
		 (const char *)owner, path, token);
}

const char *xst_events_take(void)
{
	static char taken[sizeof(event_log)];

	memcpy(taken, event_log, sizeof(taken));
	xst_events_reset();
	return taken;
}
