/* The XenStore wire format: message types, header, size limits, error names, and framing. */
#ifndef XS_PROTO_WIRE_H
#define XS_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* Message types; numbers are ABI (xs_wire.h). 20 was XS_RESTRICT and is invalid now. */
enum xs_type {
	XS_CONTROL = 0,
	XS_DIRECTORY = 1,
	XS_READ = 2,
	XS_GET_PERMS = 3,
	XS_WATCH = 4,
	XS_UNWATCH = 5,
	XS_TRANSACTION_START = 6,
	XS_TRANSACTION_END = 7,
	XS_INTRODUCE = 8,
	XS_RELEASE = 9,
	XS_GET_DOMAIN_PATH = 10,
	XS_WRITE = 11,
	XS_MKDIR = 12,
	XS_RM = 13,
	XS_SET_PERMS = 14,
	XS_WATCH_EVENT = 15,
	XS_ERROR = 16,
	XS_IS_DOMAIN_INTRODUCED = 17,
	XS_RESUME = 18,
	XS_SET_TARGET = 19,
	XS_RESET_WATCHES = 21,
	XS_DIRECTORY_PART = 22,
	XS_GET_FEATURE = 23,
	XS_SET_FEATURE = 24,
	XS_GET_QUOTA = 25,
	XS_SET_QUOTA = 26,
	XS_TYPE_COUNT = 27,
	XS_INVALID = 0xffff,
};

/* The 16-byte header, native byte order on both sides. */
struct xs_header {
	uint32_t type;
	uint32_t req_id;
	uint32_t tx_id;
	uint32_t len;
};

#define XS_HEADER_SIZE 16u
#define XS_PAYLOAD_MAX 4096u
#define XS_ABS_PATH_MAX 3072u
#define XS_REL_PATH_MAX 2048u
#define XS_MSG_MAX (XS_HEADER_SIZE + XS_PAYLOAD_MAX)

/* Well-known domain ids (xen.h). */
#define XS_DOMID_SELF 0x7FF0u
#define XS_DOMID_INVALID 0x7FF4u
#define XS_DOMID_ANY 0x7FF5u
#define XS_DOMID_MAX 0xFFFFu

/*
 * The one error convention of the project: a fallible operation returns an
 * enum xs_err, XSE_OK (0) on success, so `if (err)` means failure. The value
 * is ours; the name is the wire form. Order follows the public header; names
 * are only appended.
 */
enum xs_err {
	XSE_OK = 0,
	XSE_EINVAL,
	XSE_EACCES,
	XSE_EEXIST,
	XSE_EISDIR,
	XSE_ENOENT,
	XSE_ENOMEM,
	XSE_ENOSPC,
	XSE_EIO,
	XSE_ENOTEMPTY,
	XSE_ENOSYS,
	XSE_EROFS,
	XSE_EBUSY,
	XSE_EAGAIN,
	XSE_EISCONN,
	XSE_E2BIG,
	XSE_EPERM,
	XSE_COUNT,
};

/* Wire name of an error ("ENOENT"); NULL for XSE_OK or out of range. */
const char *xs_err_name(enum xs_err err);
/* Error for a wire name; XSE_EINVAL for an unknown name, as clients do. */
enum xs_err xs_err_from_name(const char *name, size_t len);
/* Host errno for an error, and back (unknown errnos become XSE_EINVAL). */
int xs_err_to_errno(enum xs_err err);
enum xs_err xs_err_from_errno(int e);

/* Name of a message type ("READ"), or NULL if not a known type. */
const char *xs_type_name(uint32_t type);
/* Type for a name; -1 if unknown. */
int xs_type_from_name(const char *name);

/* Header encoding in native order; buf must hold XS_HEADER_SIZE bytes. */
void xs_header_encode(const struct xs_header *h, unsigned char *buf);
void xs_header_decode(const unsigned char *buf, struct xs_header *h);

/*
 * Incremental decoder of a byte stream into messages. Feed any number of
 * bytes at any split; it never allocates: the caller owns a buffer of
 * XS_MSG_MAX bytes. A header declaring len > XS_PAYLOAD_MAX is a protocol
 * violation reported before any payload is read.
 */
enum xs_framer_state {
	XS_FRAMER_NEED_MORE = 0, /* consumed everything given, no message yet */
	XS_FRAMER_MESSAGE,       /* a message is complete: see hdr and payload */
	XS_FRAMER_OVERSIZE,      /* declared length too large: drop the peer */
};

struct xs_framer {
	unsigned char buf[XS_MSG_MAX];
	size_t have; /* bytes of the current message collected so far */
	struct xs_header hdr;
};

void xs_framer_init(struct xs_framer *f);
/*
 * Consume up to len bytes from data; *used receives how many were taken.
 * Returns XS_FRAMER_MESSAGE as soon as one message completes (the rest of the
 * input is left for the next call); the message stays valid in f->hdr and
 * f->buf + XS_HEADER_SIZE until the next call.
 */
enum xs_framer_state xs_framer_feed(struct xs_framer *f, const void *data, size_t len,
				    size_t *used);
/*
 * As xs_framer_feed, without the copy when it is not needed: a message that
 * lies whole at the start of data while the framer is between messages is
 * handed out where it is (*payload points into data, valid as long as data
 * is); otherwise as xs_framer_feed, *payload the framer's copy. On
 * XS_FRAMER_MESSAGE, *h is its header.
 */
enum xs_framer_state xs_framer_next(struct xs_framer *f, const void *data, size_t len, size_t *used,
				    struct xs_header *h, const char **payload);
static inline const char *xs_framer_payload(const struct xs_framer *f)
{
	return (const char *)f->buf + XS_HEADER_SIZE;
}
/* Bytes the framer wants next (header remainder or payload remainder). */
size_t xs_framer_wanted(const struct xs_framer *f);
/* Between messages: nothing of the next one taken yet. */
static inline int xs_framer_idle(const struct xs_framer *f)
{
	return f->have == 0 || (f->have >= XS_HEADER_SIZE && f->have == XS_HEADER_SIZE + f->hdr.len);
}

/*
 * Payload argument helpers. A payload is a run of NUL-terminated strings;
 * bytes after the last NUL are not a string (the C daemon ignores them).
 */
/* Number of NUL-terminated strings in the payload. */
unsigned xs_count_strings(const char *payload, size_t len);
/*
 * Split the payload into at most max NUL-terminated strings; returns the
 * count found (which may exceed max: only max are stored).
 */
unsigned xs_split_strings(const char *payload, size_t len, const char **out, unsigned max);
/* True if the payload is exactly one string with its NUL as last byte. */
int xs_is_one_arg(const char *payload, size_t len);

/* v in decimal into buf (room for 11 bytes): buf. Replies name ids this way, without snprintf's cost. */
char *xs_utoa(char *buf, uint32_t v);
/* Parse a domid strictly: decimal digits only, no sign, <= XS_DOMID_MAX. */
int xs_parse_domid(const char *s, unsigned *domid);

#endif
