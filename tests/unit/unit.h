/* Suites of the proto/ unit test binary; unit_main.c runs them all. */
#ifndef XST_UNIT_H
#define XST_UNIT_H

#include <check.h>

Suite *xst_wire_suite(void);
Suite *xst_path_suite(void);
Suite *xst_perms_suite(void);

#endif
