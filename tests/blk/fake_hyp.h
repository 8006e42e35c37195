/* The one-process hypervisor of the data-path tests (tests/blk/fake_hyp.c): what a test can ask it beyond the xsl_ calls. */
#ifndef XS_TESTS_BLK_FAKE_HYP_H
#define XS_TESTS_BLK_FAKE_HYP_H

#include <stdint.h>

/* Mappings made by xsl_gnt_map and not yet unmapped. */
unsigned long fake_hyp_maps_outstanding(void);
/* Make a grant name another grantee, as a frontend rewriting its grant table would. */
int fake_hyp_corrupt_grant(uint32_t ref);

#endif
