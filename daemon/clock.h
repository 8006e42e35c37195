/* The monotonic clock every timing decision of the daemon reads (turns, slices, budgets, timeouts). */
#ifndef XSD_CLOCK_H
#define XSD_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline uint64_t clock_ms(void)
{
	return clock_us() / 1000u;
}

/*
 * The same clock to a few milliseconds, for what is checked per request
 * against a period of tens of milliseconds: a read of the kernel's last
 * tick, cheaper than the exact clock.
 */
static inline uint64_t clock_coarse_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
