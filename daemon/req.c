/* One request being handled: the reply builders. */
#include "req.h"

#include <string.h>

void reply_bytes(struct req *r, const void *p, size_t n)
{
	if (r->reply_overflow || n > sizeof(r->reply) - r->reply_len) {
		r->reply_overflow = true;
		return;
	}
	memcpy(r->reply + r->reply_len, p, n);
	r->reply_len += n;
}

void reply_string(struct req *r, const char *s)
{
	reply_bytes(r, s, strlen(s) + 1);
}

enum xs_err reply_ok(struct req *r)
{
	reply_string(r, "OK");
	return XSE_OK;
}
