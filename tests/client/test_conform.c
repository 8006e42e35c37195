/* Conformance over every transport against our daemon (placeholder). */
#include "client.h"

Suite *suite_conform(void)
{
	return suite_create("conform");
}
