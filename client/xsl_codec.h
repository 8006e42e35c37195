/* The client's codec: requests built and checked before sending, replies and events parsed without trusting a length. */
#ifndef XSL_CODEC_H
#define XSL_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "../proto/wire.h"
#include "xenstore_client.h"

/* One argument of a request: its bytes, and whether a NUL follows (WRITE's value has none). */
struct xsl_arg {
	const void *data;
	size_t len;
	bool nul;
};
#define XSL_STR(s) ((struct xsl_arg){(s), strlen(s), true})

/* A path argument as the store will take it: 0, -EINVAL (syntax, '@' where not allowed) or -ENAMETOOLONG. */
int xsl_codec_check_path(const char *path, bool allow_special);

/*
 * Encode a request into buf (XS_MSG_MAX bytes): header, then each argument
 * and its NUL. Returns the message length, or -E2BIG past XS_PAYLOAD_MAX.
 */
int xsl_codec_encode(unsigned char *buf, uint32_t type, uint32_t req_id, uint32_t tx_id,
		     const struct xsl_arg *args, unsigned nargs);
/* Rewrite the req_id of an encoded message. */
void xsl_codec_set_req_id(unsigned char *msg, uint32_t req_id);

/* A decoded message, valid until the decoder is fed again. */
struct xsl_msgview {
	struct xs_header hdr;
	const char *payload;
};

/* The stream decoder: proto's framer with this library's error convention. */
struct xsl_decoder {
	struct xs_framer framer;
};
void xsl_decoder_init(struct xsl_decoder *d);
/*
 * Take bytes at any split. Returns 1 with a message in *m (the rest of the
 * input is left: *used says how much was taken), 0 once everything was
 * taken without completing one, -EPROTO for a declared length over 4096.
 */
int xsl_decode(struct xsl_decoder *d, const void *buf, size_t len, size_t *used,
	       struct xsl_msgview *m);

/* Replies. Each checks its payload's shape and answers -EPROTO when it is wrong. */
/* The -errno of an ERROR payload (an unknown name is -EINVAL, as libxenstore does). */
int xsl_codec_error(const char *p, size_t len);
/* A watch event: exactly "path\0token\0" with a non-empty path. */
int xsl_codec_event(const char *p, size_t len, const char **path, const char **token);
/* "<decimal>\0" no larger than max. */
int xsl_codec_uint(const char *p, size_t len, unsigned long long max, unsigned long long *out);
/* "T\0" -> 1, "F\0" -> 0. */
int xsl_codec_bool(const char *p, size_t len);
/* A DIRECTORY listing: empty or NUL-terminated names; *count gets their number. */
int xsl_codec_names(const char *p, size_t len, unsigned *count);
/* A GET_PERMS reply: at least one entry; out has room for max (XS_PERMS_MAX is enough). */
int xsl_codec_perms(const char *p, size_t len, struct xsl_perm *out, unsigned max, unsigned *count);
/* A SET_PERMS payload's entries ("b5\0r0\0...") into buf: length, or -E2BIG / -EINVAL. */
int xsl_codec_format_perms(const struct xsl_perm *perms, unsigned count, char *buf, size_t size);

/* One DIRECTORY_PART reply: "<gen>\0" then whole names, then "\0" if the list ends here. */
struct xsl_dir_part {
	const char *gen;   /* the generation, NUL-terminated in the payload */
	const char *names; /* whole NUL-terminated names */
	size_t names_len;
	bool last;
};
int xsl_codec_dir_part(const char *p, size_t len, struct xsl_dir_part *out);

#endif
