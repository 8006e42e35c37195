/* What every fuzz harness shares: the libFuzzer entry point and the property check. */
#ifndef XST_FUZZ_HARNESS_H
#define XST_FUZZ_HARNESS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * A harness defines this and nothing else global: libFuzzer (make fuzz) or
 * tests/fuzz/driver.c (make check) calls it once per input. It returns 0;
 * a violated property aborts, which both runners report with the input.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* abort(), not assert(): it must hold in every build, NDEBUG or not. */
#define FUZZ_CHECK(cond)                                                                  \
	do {                                                                              \
		if (!(cond)) {                                                            \
			fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, \
				#cond);                                                   \
			abort();                                                          \
		}                                                                         \
	} while (0)

#endif
