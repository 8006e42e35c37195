/* Fuzz harness for permission entries, parsed and printed (proto/perms.c). */
/* fuzz-sources: proto/perms.c */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "proto/perms.h"
#include "tests/fuzz/fuzz.h"

/*
 * Input: a SET_PERMS argument list, entries separated by NULs ("r0\0w5\0").
 * Each entry is parsed and checked against libc's strtol (what the C daemon
 * calls), printed back, and the print parsed again. The first 5 bytes also
 * make an arbitrary entry (access byte, 32-bit id) for the other direction.
 */

#define FORMAT_MAX 16 /* the daemon's GET_PERMS buffer */

static unsigned access_of(char letter)
{
	switch (letter) {
	case 'r':
		return XS_PERM_READ;
	case 'w':
		return XS_PERM_WRITE;
	case 'b':
		return XS_PERM_BOTH;
	default:
		return XS_PERM_NONE;
	}
}

/* Printed like the C daemon, fitting its buffer; parsing the print gives the entry back. */
static void check_format(const struct xs_perm *p)
{
	char buf[FORMAT_MAX], shortbuf[FORMAT_MAX];
	size_t n = xs_perm_format(p, buf, sizeof(buf));
	struct xs_perm back;

	FUZZ_CHECK(n >= 2 && n < sizeof(buf) && strlen(buf) == n);
	FUZZ_CHECK(buf[0] == xs_perm_letter(p->access));
	FUZZ_CHECK(xs_perm_parse(buf, &back) == XSE_OK);
	FUZZ_CHECK(back.id == p->id && back.access == (p->access & XS_PERM_BOTH));
	/* snprintf's contract: the full length whatever the room, always terminated. */
	FUZZ_CHECK(xs_perm_format(p, shortbuf, n) == n && strlen(shortbuf) == n - 1);
	FUZZ_CHECK(memcmp(shortbuf, buf, n - 1) == 0);
	FUZZ_CHECK(xs_perm_format(p, NULL, 0) == n);
}

static void check_entry(const char *s)
{
	struct xs_perm p = {.id = 0x12345678, .access = 0x55, .ignored = 7};
	enum xs_err rc = xs_perm_parse(s, &p);
	bool letter = s[0] != '\0' && strchr("nrwb", s[0]);
	const char *num = s + 1;

	FUZZ_CHECK(rc == XSE_OK || rc == XSE_EINVAL);
	if (!letter) {
		FUZZ_CHECK(rc == XSE_EINVAL);
		return;
	}
	/* glibc 2.38 reads "0b1" as binary; the C daemon's 4.17 libc and perms.c do not. */
	if (!strpbrk(num, "bB")) {
		char *end;
		long v;

		errno = 0;
		v = strtol(num, &end, 0);
		FUZZ_CHECK((rc == XSE_OK) == (end != num && *end == '\0'));
		FUZZ_CHECK(rc != XSE_OK || p.id == (uint32_t)(unsigned long)v);
		/* A plain decimal int prints back unchanged. */
		if (rc == XSE_OK && errno == 0 && v >= INT_MIN && v <= INT_MAX &&
		    strspn(num, "-0123456789") == strlen(num) && (num[0] != '-' || num[1] != '0') &&
		    (num[0] != '0' || num[1] == '\0')) {
			char buf[FORMAT_MAX];

			xs_perm_format(&p, buf, sizeof(buf));
			FUZZ_CHECK(strcmp(buf, s) == 0);
		}
	}
	if (rc != XSE_OK)
		return;
	FUZZ_CHECK(p.access == access_of(s[0]) && p.ignored == 0);
	FUZZ_CHECK(xs_perm_letter(p.access) == s[0]);
	check_format(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* NUL-terminated copy: bytes after the last NUL make one more entry. */
	char *buf = malloc(size + 1);

	memcpy(buf, data, size);
	buf[size] = '\0';
	for (const char *s = buf; s <= buf + size; s += strlen(s) + 1)
		check_entry(s);
	if (size >= 5) {
		struct xs_perm p = {.access = data[0]};

		memcpy(&p.id, data + 1, sizeof(p.id));
		check_format(&p);
	}
	free(buf);
	return 0;
}
