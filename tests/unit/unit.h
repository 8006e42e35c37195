/* Suites of the unit test binary (proto/, and the daemon's modules in process); unit_main.c runs them all. */
#ifndef XST_UNIT_H
#define XST_UNIT_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "daemon/ident.h"
#include "proto/perms.h"

Suite *xst_wire_suite(void);
Suite *xst_path_suite(void);
Suite *xst_perms_suite(void);
Suite *xst_hmap_suite(void);
Suite *xst_dirindex_suite(void);
Suite *xst_store_suite(void);
Suite *xst_store_format_suite(void);
Suite *xst_store_wal_suite(void);
Suite *xst_config_suite(void);
Suite *xst_txn_suite(void);
Suite *xst_watch_suite(void);
Suite *xst_access_suite(void);
Suite *xst_dispatch_suite(void);

/* unit_fixture.c: what the in-process daemon tests share. */
/*
 * A fresh store on a tdb file in a temporary directory, removed on close;
 * under the test case's directory if it has one (xst_tmp_make and
 * xst_tmp_remove as its unchecked fixture), else in /tmp.
 */
void xst_tmp_make(void);
void xst_tmp_remove(void);
void xst_store_open(void);
void xst_store_close(void);
/* Keep the quota values a test changes, put them back and forget all accounting. */
void xst_quota_save(void);
void xst_quota_restore(void);
/* Checked fixture of module tests: quotas saved, a store, an empty event log. */
void xst_module_setup(void);
void xst_module_teardown(void);
/* A suite of one test case with its directory: the tests in order, between setup and teardown. */
Suite *xst_fixture_suite(const char *name, SFun setup, SFun teardown, const TTest *const *tests,
			 size_t n);
#define XST_SUITE(name, setup, teardown, ...)                                          \
	xst_fixture_suite(name, setup, teardown, (const TTest *const[]){__VA_ARGS__},       \
			  sizeof((const TTest *const[]){__VA_ARGS__}) / sizeof(const TTest *))
void xst_ident(struct ident *id, uint32_t domid, bool priv);
/* Permission entries from their text, space separated ("n0 r5"); returns how many. */
unsigned xst_perms(const char *list, struct xs_perm *out, unsigned max);
/* Create a node in the store (its parent must exist). */
void xst_node(const char *path, const char *perms, const char *value);
/* Empty nodes, "path perms..." each, separated by ';' (parents first). */
void xst_nodes(const char *list);
/* The store holds path with value (NULL: path is absent); path has these perms. */
void xst_expect_node(const char *path, const char *value);
void xst_expect_perms(const char *path, const char *perms);
/*
 * The event log: a watch_deliver_fn whose owner is a label (const char *)
 * appends "label:path:token", space separated; xst_events_take returns the
 * whole log and empties it.
 */
void xst_events_reset(void);
void xst_events_deliver(void *owner, const char *path, const char *token);
const char *xst_events_take(void);
#define xst_expect_events(expected) ck_assert_str_eq(xst_events_take(), expected)

#endif
