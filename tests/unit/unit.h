/* Suites of the unit test binary (proto/ and the daemon's pure parts); unit_main.c runs them all. */
#ifndef XST_UNIT_H
#define XST_UNIT_H

#include <check.h>

Suite *xst_wire_suite(void);
Suite *xst_path_suite(void);
Suite *xst_perms_suite(void);
Suite *xst_hmap_suite(void);
Suite *xst_dirindex_suite(void);
Suite *xst_store_suite(void);
Suite *xst_config_suite(void);

#endif
