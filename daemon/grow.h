/* Growing arrays: the one doubling rule for arrays the daemon builds an element at a time. */
#ifndef XSD_GROW_H
#define XSD_GROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

/* The capacity that holds need, doubling from cap (or first): 0 if it would overflow. */
static inline size_t grow_cap(size_t cap, size_t need, size_t first)
{
	size_t c = cap ? cap : first;

	while (c < need) {
		if (c > SIZE_MAX / 2)
			return 0;
		c *= 2;
	}
	return c;
}

/*
 * Room for need elements of size bytes in the malloc'd array *arr of
 * capacity *cap, doubling from first. False, with *arr and *cap untouched,
 * if memory ran out or the size would overflow.
 */
static inline bool grow_array(void **arr, size_t *cap, size_t need, size_t size, size_t first)
{
	size_t c;
	void *na;

	if (need <= *cap)
		return true;
	c = grow_cap(*cap, need, first);
	if (!c || c > SIZE_MAX / size || !(na = realloc(*arr, c * size)))
		return false;
	*arr = na;
	*cap = c;
	return true;
}

/* grow_array for a typed array: GROW(list, cap, n + 1, 16). */
#define GROW(arr, cap, need, first) grow_array((void **)&(arr), &(cap), (need), sizeof(*(arr)), (first))

#endif
