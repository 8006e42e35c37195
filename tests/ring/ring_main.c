/* The ring and domain tests' runner: guests over simulated shared rings against the real daemon. */
#include <stdio.h>

#include "ring.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_guests());
	int failed, run;

	srunner_add_suite(sr, suite_domains());
	srunner_add_suite(sr, suite_edges());
	srunner_add_suite(sr, suite_robust());
	srunner_add_suite(sr, suite_starve());
	srunner_add_suite(sr, suite_quota());
	srunner_add_suite(sr, suite_attacks());
	srunner_add_suite(sr, suite_restart());
	srunner_add_suite(sr, suite_liveupdate());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (run == 0) {
		fprintf(stderr, "no ring test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
