/* The client library's tests: codec, multiplexer, handle against a scripted server, conformance against the daemon. */
#include <stdio.h>

#include "client.h"

int main(void)
{
	SRunner *sr = srunner_create(suite_codec());
	int failed, run;

	srunner_add_suite(sr, suite_mux());
	srunner_add_suite(sr, suite_handle());
	srunner_add_suite(sr, suite_conform());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	run = srunner_ntests_run(sr);
	srunner_free(sr);
	if (run == 0) {
		fprintf(stderr, "no client test ran\n");
		return 1;
	}
	return failed ? 1 : 0;
}
