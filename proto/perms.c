/* Permission entries: parsing and printing the wire form, and who gets what access. */
#include "perms.h"

#include <limits.h>
#include <stdio.h>

static int digit_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return 99;
}

/*
 * strtol(s, end, 0) as C89 defines it, written out so that a newer libc
 * (glibc 2.38 accepts "0b101" under _GNU_SOURCE) cannot change which
 * permission strings we accept. Saturates to LONG_MIN/LONG_MAX like strtol;
 * *end == s when no digits were found.
 */
static long c89_strtol(const char *s, const char **end)
{
	const char *p = s;
	unsigned long mag = 0, limit;
	unsigned base = 10;
	bool neg = false, any = false, over = false;

	while (*p == ' ' || (*p >= '\t' && *p <= '\r'))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X') && digit_value(p[2]) < 16) {
		base = 16;
		p += 2;
	} else if (p[0] == '0') {
		base = 8;
	}
	limit = neg ? (unsigned long)LONG_MAX + 1 : (unsigned long)LONG_MAX;
	for (; digit_value(*p) < (int)base; p++) {
		unsigned d = (unsigned)digit_value(*p);

		any = true;
		if (over || mag > (limit - d) / base)
			over = true;
		else
			mag = mag * base + d;
	}
	if (!any) {
		*end = s;
		return 0;
	}
	*end = p;
	if (over)
		return neg ? LONG_MIN : LONG_MAX;
	/* -(LONG_MAX + 1) without signed overflow. */
	return neg ? (long)(0 - mag) : (long)mag;
}

enum xs_err xs_perm_parse(const char *s, struct xs_perm *out)
{
	const char *num, *end;
	long v;

	switch (s[0]) {
	case 'n':
		out->access = XS_PERM_NONE;
		break;
	case 'r':
		out->access = XS_PERM_READ;
		break;
	case 'w':
		out->access = XS_PERM_WRITE;
		break;
	case 'b':
		out->access = XS_PERM_BOTH;
		break;
	default:
		return XSE_EINVAL;
	}
	num = s + 1;
	/*
	 * Base 0 on purpose: the C daemon accepts "r0x10", "r010" (octal),
	 * " 5", "+5" and "-1", and truncates the long to 32 bits without a
	 * range check.
	 */
	v = c89_strtol(num, &end);
	if (end == num || *end != '\0')
		return XSE_EINVAL;
	out->id = (uint32_t)(unsigned long)v;
	out->ignored = 0;
	return XSE_OK;
}

char xs_perm_letter(unsigned access)
{
	switch (access & XS_PERM_BOTH) {
	case XS_PERM_READ:
		return 'r';
	case XS_PERM_WRITE:
		return 'w';
	case XS_PERM_BOTH:
		return 'b';
	default:
		return 'n';
	}
}

size_t xs_perm_format(const struct xs_perm *p, char *buf, size_t size)
{
	/* "%i" of the id as an int, so an id parsed from "-1" prints back as "-1". */
	int n = snprintf(buf, size, "%c%i", xs_perm_letter(p->access), (int)p->id);

	return n < 0 ? 0 : (size_t)n;
}

static bool perm_matches(uint32_t id, uint32_t domid, uint32_t target)
{
	return id == domid || id == XS_DOMID_ANY || (target != XS_DOMID_INVALID && id == target);
}

unsigned xs_perm_access(const struct xs_perm *perms, unsigned n, bool priv, uint32_t domid,
			uint32_t target)
{
	if (priv)
		return XS_PERM_BOTH | XS_PERM_OWNER;
	if (n == 0)
		return XS_PERM_NONE;
	/* Like C, the owner entry's ignored flag is not consulted. */
	if (perm_matches(perms[0].id, domid, target))
		return XS_PERM_BOTH | XS_PERM_OWNER;
	for (unsigned i = 1; i < n; i++)
		if (!perms[i].ignored && perm_matches(perms[i].id, domid, target))
			return perms[i].access & XS_PERM_BOTH;
	return perms[0].access & XS_PERM_BOTH;
}
