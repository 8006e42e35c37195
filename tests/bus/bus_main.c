/* The bus tests' runner: the XenbusState helpers, then the bus scenarios, each against a daemon of its own. */
#include <stdio.h>

#include "bus.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_xbs());
	int failed, run;

	srunner_add_suite(sr, suite_bus());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (run == 0) {
		fprintf(stderr, "no bus test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
