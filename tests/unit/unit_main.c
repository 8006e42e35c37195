/* Entry point of the unit test binary: runs every suite under one srunner. */
#include <stdio.h>
#include <stdlib.h>

#include "unit.h"

int main(void)
{
	SRunner *sr = srunner_create(xst_wire_suite());
	int run, failed;

	srunner_add_suite(sr, xst_path_suite());
	srunner_add_suite(sr, xst_perms_suite());
	srunner_add_suite(sr, xst_hmap_suite());
	srunner_add_suite(sr, xst_dirindex_suite());
	srunner_add_suite(sr, xst_store_suite());
	srunner_add_suite(sr, xst_store_format_suite());
	srunner_add_suite(sr, xst_store_wal_suite());
	srunner_add_suite(sr, xst_config_suite());
	srunner_add_suite(sr, xst_txn_suite());
	srunner_add_suite(sr, xst_watch_suite());
	srunner_add_suite(sr, xst_access_suite());
	srunner_add_suite(sr, xst_dispatch_suite());
	srunner_run_all(sr, CK_NORMAL);
	run = srunner_ntests_run(sr);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	/* A binary that silently lost its suites must not look like a pass. */
	if (run == 0) {
		fprintf(stderr, "unit_tests: no tests ran\n");
		return EXIT_FAILURE;
	}
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
