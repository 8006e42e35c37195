/* xsscript: runs .xst wire-level request scripts (check mode, or ours vs the reference in diff mode). */
/*
 * Script format (full description with examples in tests/script/README.md).
 *
 * One step per line; '#' at the start of a token starts a comment. Tokens are
 * separated by blanks and are shell-like: bare text and "quoted text" may be
 * glued together (payload="/a\0b"); quoted parts take C escapes (\0 \n \t \\
 * \" \xHH with at most two hex digits, \NNN octal). A token N*TEXT (N decimal,
 * bare) stands for TEXT repeated N times: 4000*a, 3*"ab\0"; inside bare text
 * {N*TEXT} does the same (/{2000*a}/b), and {A..B*TEXT} repeats TEXT for
 * A..B; in TEXT '#' is the counter, escapes work and braces nest:
 * {1..3*n#\0} is "n1\0n2\0n3\0". $name and %name (bare, whole token) refer
 * to variables, always decimal numbers.
 *
 *   connect A | close A            open / close named connection A
 *   sleep MS                       pause
 *   repeat N LINE | repeat A..B LINE   LINE N times ({i} = 0..N-1) or for {i} = A..B
 *   check $x == $y | check $x != $y   compare two variables
 *   A TYPE [req=N] [tx=N|$v] [payload=BYTES] ARG... [-> EXP] [!differs [EXP] "why"]
 *        send a request; TYPE is a name (READ) or a number (20). Each ARG is
 *        sent with a NUL after it, except that WRITE's last ARG (the value,
 *        when there are two or more) goes without one. payload= sends BYTES
 *        verbatim instead. req defaults to the line number, tx to 0.
 *        With "-> EXP" the next message on A must be the reply (same type or
 *        ERROR, same req_id and tx_id) matching EXP; without it the request is
 *        only sent and queued for a later "A reply EXP" (pipelining).
 *   A reply EXP                    next message answers A's oldest queued request
 *   A expect [TYPE] [req=N] [tx=N] EXP   next message, fields given are checked
 *   A event PATH TOKEN             next message is WATCH_EVENT 0/0 "PATH\0TOKEN\0"
 *   A silent MS                    no message (and no close) within MS ms
 *   A raw [split=N] [gap=MS] ITEM...   bytes in one write (or chunks of N bytes
 *        gap ms apart); ITEM is BYTES, hdr(TYPE,REQ,TX,LEN) or msg(TYPE,REQ,TX,BYTES)
 *   A restrict DOMID               CONTROL "restrict\0DOMID\0" -> OK (our daemon
 *        only: the script becomes check-mode only and is skipped elsewhere)
 *
 * EXP: OK ("OK\0"), an error name (ERROR "ENOENT\0"), closed (peer closed),
 * any (any one message), a lone $v/%v (decimal id + NUL, captured or compared),
 * or a concatenation of BYTES and $v/%v pieces matched exactly ($v/%v match a
 * run of digits: bound on first use, compared afterwards). %v marks a value
 * that is implementation-defined (node generations): diff mode masks it.
 *
 * "!differs [EXP] "reason"" marks a known deliberate difference between our
 * HEAD semantics and the reference 4.17 daemon: diff mode tolerates (and
 * lists) a mismatch on that step only, and check mode against the reference
 * uses the alternative EXP (or accepts anything when none is given).
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "proto/wire.h"
#include "tests/lib/xst_daemon.h"
#include "tests/lib/xst_wire.h"

#define XSS_MAX_TOKENS 256
#define XSS_MAX_TOKEN_BYTES 65536
#define XSS_MAX_CONNS 16
#define XSS_MAX_VARS 64
#define XSS_MAX_PENDING 256
#define XSS_MAX_PIECES 32
#define XSS_ABORT_TIMEOUTS 3

struct xss_tok {
	char *s;      /* NUL-terminated for convenience; len excludes it */
	size_t len;
	size_t bare;  /* leading bytes that were outside quotes */
	int quoted;   /* any part was quoted */
};

struct xss_pending {
	uint32_t type, req, tx;
	int line;
};

struct xss_conn {
	char name[32];
	struct xst_wire *c;
	struct xss_pending q[XSS_MAX_PENDING];
	unsigned qh, qn;
};

struct xss_var {
	char name[32];
	char val[32];
};

enum xss_obs_kind { OBS_MSG, OBS_CLOSED, OBS_TIMEOUT, OBS_SENDFAIL, OBS_NOTE };

/* One thing seen while running a step: what diff mode compares. */
struct xss_obs {
	unsigned step;
	enum xss_obs_kind kind;
	struct xs_header hdr;
	char *data; /* payload (masked) or note text */
	size_t len;
};

struct xss_stepinfo {
	int line;
	char *reason; /* !differs reason, or NULL */
};

enum xss_mode { MODE_CHECK, MODE_DIFF };

struct xss_run {
	enum xst_kind kind;
	enum xss_mode mode;
	const char *file;
	struct xst_daemon d;
	struct xss_conn conns[XSS_MAX_CONNS];
	unsigned nconns;
	struct xss_var vars[XSS_MAX_VARS];
	unsigned nvars;
	struct xss_obs *obs;
	unsigned nobs, cap_obs;
	struct xss_stepinfo *steps;
	unsigned nsteps, cap_steps;
	int line;
	int timeouts;
	int checks; /* expectations evaluated: a script without any proves nothing */
	int aborted;
	int script_error; /* syntax or usage error in the script: fatal in every mode */
	char err[1024];
};

static int xss_verbose;
static int xss_timeout_ms = 3000;

/* ---------- small helpers ---------- */

static void *xss_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q) {
		perror("xsscript: realloc");
		exit(2);
	}
	return q;
}

static void xss_escape(const char *p, size_t len, char *out, size_t size)
{
	size_t o = 0, i;

	for (i = 0; i < len && o + 24 < size; i++) {
		unsigned char ch = (unsigned char)p[i];
		int next_digit = i + 1 < len && isxdigit((unsigned char)p[i + 1]);

		if (ch == 0 && !next_digit)
			o += (size_t)snprintf(out + o, size - o, "\\0");
		else if (ch == '\\' || ch == '"')
			o += (size_t)snprintf(out + o, size - o, "\\%c", ch);
		else if (ch == '\n')
			o += (size_t)snprintf(out + o, size - o, "\\n");
		else if (ch >= 0x20 && ch < 0x7f)
			out[o++] = (char)ch;
		else if (next_digit)
			o += (size_t)snprintf(out + o, size - o, "\\%03o", ch);
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", ch);
	}
	if (i < len)
		o += (size_t)snprintf(out + o, size - o, "...(%zu bytes)", len);
	out[o] = '\0';
}

static const char *xss_type_str(uint32_t type, char *buf, size_t size)
{
	const char *n = xs_type_name(type);

	if (type == XS_ERROR)
		n = "ERROR";
	else if (type == XS_WATCH_EVENT)
		n = "WATCH_EVENT";
	if (n)
		return n;
	snprintf(buf, size, "%u", type);
	return buf;
}

static void xss_fmt_msg(const struct xs_header *h, const char *p, size_t len, char *out,
			size_t size)
{
	char tb[16], esc[600];

	xss_escape(p, len, esc, sizeof(esc));
	snprintf(out, size, "%s req=%u tx=%u \"%s\"", xss_type_str(h->type, tb, sizeof(tb)),
		 h->req_id, h->tx_id, esc);
}

static void xss_fmt_obs(const struct xss_obs *o, char *out, size_t size)
{
	switch (o->kind) {
	case OBS_MSG:
		xss_fmt_msg(&o->hdr, o->data, o->len, out, size);
		return;
	case OBS_CLOSED:
		snprintf(out, size, "connection closed");
		return;
	case OBS_TIMEOUT:
		snprintf(out, size, "no message");
		return;
	case OBS_SENDFAIL:
		snprintf(out, size, "send failed");
		return;
	case OBS_NOTE:
		snprintf(out, size, "%.*s", (int)o->len, o->data);
		return;
	}
}

static int xss_fail(struct xss_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xss_fail(struct xss_run *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof(r->err), "line %d: ", r->line);
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	return -1;
}

static int xss_syntax(struct xss_run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int xss_syntax(struct xss_run *r, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(r->err, sizeof(r->err), "line %d: script error: ", r->line);
	va_start(ap, fmt);
	vsnprintf(r->err + n, sizeof(r->err) - (size_t)n, fmt, ap);
	va_end(ap);
	r->script_error = 1;
	return -1;
}

static void xss_add_obs(struct xss_run *r, enum xss_obs_kind kind, const struct xs_header *h,
			const char *data, size_t len)
{
	struct xss_obs *o;

	if (r->nobs == r->cap_obs) {
		r->cap_obs = r->cap_obs ? r->cap_obs * 2 : 64;
		r->obs = xss_xrealloc(r->obs, r->cap_obs * sizeof(*r->obs));
	}
	o = &r->obs[r->nobs++];
	memset(o, 0, sizeof(*o));
	o->step = r->nsteps - 1;
	o->kind = kind;
	if (h)
		o->hdr = *h;
	o->data = xss_xrealloc(NULL, len + 1);
	if (len)
		memcpy(o->data, data, len);
	o->data[len] = '\0';
	o->len = len;
	if (xss_verbose) {
		char buf[800];

		xss_fmt_obs(o, buf, sizeof(buf));
		fprintf(stderr, "    line %d <- %s\n", r->line, buf);
	}
}

static void xss_note(struct xss_run *r, const char *text)
{
	xss_add_obs(r, OBS_NOTE, NULL, text, strlen(text));
}

/* ---------- tokenizer ---------- */

static int xss_unescape(struct xss_run *r, const char **pp, char *out, size_t *o)
{
	const char *p = *pp;
	int c = (unsigned char)*p++;

	switch (c) {
	case 'a': out[(*o)++] = '\a'; break;
	case 'b': out[(*o)++] = '\b'; break;
	case 'f': out[(*o)++] = '\f'; break;
	case 'n': out[(*o)++] = '\n'; break;
	case 'r': out[(*o)++] = '\r'; break;
	case 't': out[(*o)++] = '\t'; break;
	case 'v': out[(*o)++] = '\v'; break;
	case '\\': case '"': case '\'': case '?': out[(*o)++] = (char)c; break;
	case 'x': {
		int v = 0, n = 0;

		while (n < 2 && isxdigit((unsigned char)*p)) {
			char d = *p++;

			v = v * 16 + (isdigit((unsigned char)d) ? d - '0' : (tolower(d) - 'a' + 10));
			n++;
		}
		if (!n)
			return xss_syntax(r, "\\x without hex digits");
		out[(*o)++] = (char)v;
		break;
	}
	default:
		if (c >= '0' && c <= '7') {
			int v = c - '0', n = 1;

			while (n < 3 && *p >= '0' && *p <= '7') {
				v = v * 8 + (*p++ - '0');
				n++;
			}
			out[(*o)++] = (char)v;
			break;
		}
		return xss_syntax(r, "unknown escape \\%c", c ? c : '0');
	}
	*pp = p;
	return 0;
}

/*
 * Inline repetition inside bare text: {N*TEXT} (counter 0..N-1) or
 * {A..B*TEXT} (counter A..B). In TEXT, '#' is the counter, C escapes work
 * and braces nest. Returns 1 and advances *pp, 0 if *pp is not one.
 */
static int xss_inline_rep(struct xss_run *r, const char **pp, char *buf, size_t *o)
{
	const char *p = *pp + 1, *text, *end;
	unsigned long lo = 0, hi, n;
	int depth = 1;
	char *q;

	n = strtoul(p, &q, 10);
	if (q[0] == '.' && q[1] == '.') {
		lo = n;
		n = strtoul(q + 2, &q, 10);
		if (n < lo)
			return 0;
		hi = n;
	} else {
		if (n == 0)
			hi = 0, lo = 1; /* empty range */
		else
			hi = n - 1;
	}
	if (*q != '*')
		return 0;
	text = q + 1;
	for (end = text; *end && depth; end++) {
		if (*end == '\\' && end[1])
			end++;
		else if (*end == '{')
			depth++;
		else if (*end == '}')
			depth--;
	}
	if (depth)
		return 0;
	end--; /* at the closing brace */
	for (unsigned long i = lo; i <= hi && lo <= hi; i++) {
		for (const char *t = text; t < end;) {
			if (*o + 32 >= XSS_MAX_TOKEN_BYTES)
				return xss_syntax(r, "repetition too long"), 1;
			if (*t == '#') {
				*o += (size_t)sprintf(buf + *o, "%lu", i);
				t++;
			} else if (*t == '\\') {
				t++;
				if (xss_unescape(r, &t, buf, o) < 0)
					return 1;
			} else if (*t == '{' && isdigit((unsigned char)t[1]) &&
				   xss_inline_rep(r, &t, buf, o)) {
				if (r->script_error)
					return 1;
			} else {
				buf[(*o)++] = *t++;
			}
		}
	}
	*pp = end + 1;
	return 1;
}

/* Split a line into tokens; returns the count or -1. Token storage is malloc'd. */
static int xss_tokenize(struct xss_run *r, const char *line, struct xss_tok *toks, int max)
{
	int n = 0;
	const char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (!*p || *p == '#')
			return n;
		if (n == max)
			return xss_syntax(r, "too many tokens");
		char *buf = xss_xrealloc(NULL, XSS_MAX_TOKEN_BYTES);
		size_t o = 0, bare = 0;
		int quoted = 0, in_bare_prefix = 1;

		while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
			if (o + 8 >= XSS_MAX_TOKEN_BYTES) {
				free(buf);
				return xss_syntax(r, "token too long");
			}
			if (*p == '"') {
				quoted = 1;
				in_bare_prefix = 0;
				p++;
				while (*p && *p != '"') {
					if (o + 8 >= XSS_MAX_TOKEN_BYTES) {
						free(buf);
						return xss_syntax(r, "token too long");
					}
					if (*p == '\\') {
						p++;
						if (xss_unescape(r, &p, buf, &o) < 0) {
							free(buf);
							return -1;
						}
					} else {
						buf[o++] = *p++;
					}
				}
				if (*p != '"') {
					free(buf);
					return xss_syntax(r, "unterminated quote");
				}
				p++;
			} else if (*p == '{' && isdigit((unsigned char)p[1]) &&
				   xss_inline_rep(r, &p, buf, &o)) {
				if (r->script_error) {
					free(buf);
					return -1;
				}
				if (in_bare_prefix)
					bare = o;
			} else {
				buf[o++] = *p++;
				if (in_bare_prefix)
					bare = o;
			}
		}
		/* N*TEXT repetition. */
		size_t d = 0;

		while (d < bare && isdigit((unsigned char)buf[d]))
			d++;
		if (d > 0 && d < bare && buf[d] == '*' && (o > d + 1)) {
			unsigned long count = strtoul(buf, NULL, 10);
			size_t unit = o - d - 1;
			char *rep;

			if (count * unit + 1 > XSS_MAX_TOKEN_BYTES) {
				free(buf);
				return xss_syntax(r, "repetition too long");
			}
			rep = xss_xrealloc(NULL, count * unit + 1);
			for (unsigned long i = 0; i < count; i++)
				memcpy(rep + i * unit, buf + d + 1, unit);
			free(buf);
			buf = rep;
			o = count * unit;
			bare = 0;
			quoted = 1;
		}
		buf[o] = '\0';
		toks[n].s = buf;
		toks[n].len = o;
		toks[n].bare = bare;
		toks[n].quoted = quoted;
		n++;
	}
}

static void xss_free_toks(struct xss_tok *toks, int n)
{
	for (int i = 0; i < n; i++)
		free(toks[i].s);
}

static int xss_is_word(const struct xss_tok *t, const char *w)
{
	return !t->quoted && strcmp(t->s, w) == 0;
}

/* A bare token starting with the option prefix "key=". */
static const char *xss_option(const struct xss_tok *t, const char *key)
{
	size_t k = strlen(key);

	if (t->bare < k + 1 || strncmp(t->s, key, k) != 0 || t->s[k] != '=')
		return NULL;
	return t->s + k + 1;
}

static int xss_is_varref(const struct xss_tok *t)
{
	return !t->quoted && t->len >= 2 && (t->s[0] == '$' || t->s[0] == '%') &&
	       (isalpha((unsigned char)t->s[1]) || t->s[1] == '_');
}

static int xss_err_index(const char *s)
{
	for (int i = XSE_OK + 1; i < XSE_COUNT; i++)
		if (strcmp(xs_err_name((enum xs_err)i), s) == 0)
			return i;
	return -1;
}

/* ---------- variables ---------- */

static struct xss_var *xss_var_find(struct xss_run *r, const char *name)
{
	for (unsigned i = 0; i < r->nvars; i++)
		if (strcmp(r->vars[i].name, name) == 0)
			return &r->vars[i];
	return NULL;
}

static int xss_var_set(struct xss_run *r, const char *name, const char *val, size_t len)
{
	struct xss_var *v = xss_var_find(r, name);

	if (!v) {
		if (r->nvars == XSS_MAX_VARS)
			return xss_syntax(r, "too many variables");
		v = &r->vars[r->nvars++];
		snprintf(v->name, sizeof(v->name), "%s", name);
	}
	if (len >= sizeof(v->val))
		len = sizeof(v->val) - 1;
	memcpy(v->val, val, len);
	v->val[len] = '\0';
	return 0;
}

/* Number from a literal or a variable reference. */
static int xss_number(struct xss_run *r, const char *s, uint32_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] == '$' || s[0] == '%') {
		struct xss_var *var = xss_var_find(r, s + 1);

		if (!var)
			return xss_fail(r, "variable %s is not set", s);
		s = var->val;
	}
	errno = 0;
	v = strtoull(s, &end, 0);
	if (!*s || *end || errno || v > 0xffffffffull)
		return xss_syntax(r, "bad number '%s'", s);
	*out = (uint32_t)v;
	return 0;
}

static int xss_type(struct xss_run *r, const char *s, uint32_t *out)
{
	int t = xs_type_from_name(s);

	if (t >= 0) {
		*out = (uint32_t)t;
		return 0;
	}
	if (strcmp(s, "DEBUG") == 0) {
		*out = XS_CONTROL;
		return 0;
	}
	if (strcmp(s, "WATCH_EVENT") == 0) {
		*out = XS_WATCH_EVENT;
		return 0;
	}
	if (strcmp(s, "ERROR") == 0) {
		*out = XS_ERROR;
		return 0;
	}
	if (isdigit((unsigned char)s[0]))
		return xss_number(r, s, out);
	return xss_syntax(r, "unknown message type '%s'", s);
}

static int xss_is_type_token(const struct xss_tok *t)
{
	if (t->quoted)
		return 0;
	if (isdigit((unsigned char)t->s[0]))
		return 1;
	return xs_type_from_name(t->s) >= 0 || !strcmp(t->s, "DEBUG") ||
	       !strcmp(t->s, "WATCH_EVENT") || !strcmp(t->s, "ERROR");
}

/* ---------- expectations ---------- */

enum xss_exp_kind { EXP_NONE, EXP_ANY, EXP_CLOSED, EXP_PIECES };

struct xss_piece {
	int var;         /* 0 literal, '$' strict variable, '%' masked variable */
	const char *s;   /* literal bytes or variable name */
	size_t len;
};

struct xss_exp {
	enum xss_exp_kind kind;
	int type_set;    /* check type */
	uint32_t type;
	int req_set, tx_set;
	uint32_t req, tx;
	struct xss_piece pieces[XSS_MAX_PIECES];
	unsigned npieces;
};

/* Parse tokens [from, to) into a payload expectation; default_type applies to OK and plain payloads. */
static int xss_parse_exp(struct xss_run *r, struct xss_tok *t, int from, int to, int type_known,
			 uint32_t default_type, struct xss_exp *e)
{
	static char okbuf[] = "OK";

	if (from >= to)
		return xss_syntax(r, "missing expectation");
	if (to - from == 1 && !t[from].quoted) {
		const char *w = t[from].s;
		int ei = xss_err_index(w);

		if (!strcmp(w, "any")) {
			e->kind = EXP_ANY;
			return 0;
		}
		if (!strcmp(w, "closed")) {
			e->kind = EXP_CLOSED;
			return 0;
		}
		e->kind = EXP_PIECES;
		if (!strcmp(w, "OK")) {
			e->type_set = type_known;
			e->type = default_type;
			e->pieces[0] = (struct xss_piece){0, okbuf, 3};
			e->npieces = 1;
			return 0;
		}
		if (ei >= 0) {
			e->type_set = 1;
			e->type = XS_ERROR;
			e->pieces[0] = (struct xss_piece){0, w, strlen(w) + 1};
			e->npieces = 1;
			return 0;
		}
		if (xss_is_varref(&t[from])) {
			static const char nul[1] = "";

			e->type_set = type_known;
			e->type = default_type;
			e->pieces[0] = (struct xss_piece){w[0], w + 1, strlen(w + 1)};
			e->pieces[1] = (struct xss_piece){0, nul, 1};
			e->npieces = 2;
			return 0;
		}
	}
	e->kind = EXP_PIECES;
	e->type_set = type_known;
	e->type = default_type;
	for (int i = from; i < to; i++) {
		if (e->npieces == XSS_MAX_PIECES)
			return xss_syntax(r, "expectation has too many pieces");
		if (xss_is_varref(&t[i]))
			e->pieces[e->npieces++] = (struct xss_piece){t[i].s[0], t[i].s + 1, t[i].len - 1};
		else
			e->pieces[e->npieces++] = (struct xss_piece){0, t[i].s, t[i].len};
	}
	return 0;
}

static void xss_fmt_exp(const struct xss_exp *e, char *out, size_t size)
{
	char tb[16], esc[600];
	size_t o = 0;

	if (e->kind == EXP_CLOSED) {
		snprintf(out, size, "connection closed");
		return;
	}
	if (e->kind == EXP_ANY) {
		snprintf(out, size, "any message");
		return;
	}
	o += (size_t)snprintf(out + o, size - o, "%s",
			      e->type_set ? xss_type_str(e->type, tb, sizeof(tb)) : "*");
	if (e->req_set)
		o += (size_t)snprintf(out + o, size - o, " req=%u", e->req);
	if (e->tx_set)
		o += (size_t)snprintf(out + o, size - o, " tx=%u", e->tx);
	o += (size_t)snprintf(out + o, size - o, " \"");
	for (unsigned i = 0; i < e->npieces && o < size; i++) {
		if (e->pieces[i].var) {
			o += (size_t)snprintf(out + o, size - o, "\"%c%.*s\"", e->pieces[i].var,
					      (int)e->pieces[i].len, e->pieces[i].s);
		} else {
			xss_escape(e->pieces[i].s, e->pieces[i].len, esc, sizeof(esc));
			o += (size_t)snprintf(out + o, size - o, "%s", esc);
		}
	}
	if (o < size)
		snprintf(out + o, size - o, "\"");
}

/*
 * Match a payload against pieces, binding variables. On success *masked is a
 * malloc'd copy with %-variables replaced by their names (for diff mode).
 */
static int xss_match_pieces(struct xss_run *r, const struct xss_exp *e, const char *p, size_t len,
			    char **masked, size_t *mlen)
{
	size_t pos = 0, mo = 0;
	char *m = xss_xrealloc(NULL, len + 64 * XSS_MAX_PIECES + 1);
	struct {
		const char *name;
		size_t nlen;
		const char *val;
		size_t vlen;
	} binds[XSS_MAX_PIECES];
	unsigned nb = 0;

	for (unsigned i = 0; i < e->npieces; i++) {
		const struct xss_piece *pc = &e->pieces[i];

		if (!pc->var) {
			if (len - pos < pc->len || memcmp(p + pos, pc->s, pc->len) != 0)
				goto nomatch;
			memcpy(m + mo, p + pos, pc->len);
			mo += pc->len;
			pos += pc->len;
			continue;
		}
		size_t d = pos;

		while (d < len && isdigit((unsigned char)p[d]))
			d++;
		if (d == pos || d - pos >= 31)
			goto nomatch;
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)pc->len, pc->s);
		struct xss_var *v = xss_var_find(r, name);

		if (v && (strlen(v->val) != d - pos || memcmp(v->val, p + pos, d - pos) != 0))
			goto nomatch;
		if (!v)
			binds[nb++] = (typeof(binds[0])){pc->s, pc->len, p + pos, d - pos};
		if (pc->var == '%')
			mo += (size_t)sprintf(m + mo, "<%%%s>", name);
		else {
			memcpy(m + mo, p + pos, d - pos);
			mo += d - pos;
		}
		pos = d;
	}
	if (pos != len)
		goto nomatch;
	for (unsigned i = 0; i < nb; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%.*s", (int)binds[i].nlen, binds[i].name);
		if (xss_var_set(r, name, binds[i].val, binds[i].vlen) < 0) {
			free(m);
			return -1;
		}
	}
	*masked = m;
	*mlen = mo;
	return 1;
nomatch:
	free(m);
	return 0;
}

/* Receive one message on c and check it; records what was seen. */
static int xss_receive(struct xss_run *r, struct xss_conn *c, const struct xss_exp *e)
{
	struct xst_msg *msg;
	char want[800], got[800];

	if (!c->c) {
		xss_note(r, "connection not open");
		return xss_fail(r, "connection %s is not open", c->name);
	}
	r->checks++;
	msg = xss_xrealloc(NULL, sizeof(*msg));
	if (xst_wire_recv(c->c, msg, xss_timeout_ms) < 0) {
		int e2 = errno;

		free(msg);
		if (e2 == ECONNRESET) {
			xss_add_obs(r, OBS_CLOSED, NULL, NULL, 0);
			xst_wire_close(c->c);
			c->c = NULL;
			if (e->kind == EXP_CLOSED)
				return 0;
			xss_fmt_exp(e, want, sizeof(want));
			return xss_fail(r, "on %s: expected %s, got connection closed", c->name, want);
		}
		if (e2 == ETIMEDOUT) {
			xss_add_obs(r, OBS_TIMEOUT, NULL, NULL, 0);
			if (++r->timeouts >= XSS_ABORT_TIMEOUTS)
				r->aborted = 1;
			xss_fmt_exp(e, want, sizeof(want));
			return xss_fail(r, "on %s: expected %s, got nothing within %d ms", c->name,
					want, xss_timeout_ms);
		}
		xss_note(r, "receive error");
		return xss_fail(r, "on %s: receive failed: %s", c->name, strerror(e2));
	}
	r->timeouts = 0;
	const struct xs_header *h = &msg->hdr;
	char *masked = NULL;
	size_t mlen = 0;
	int ok = 1;

	if (e->kind == EXP_CLOSED || (e->type_set && h->type != e->type) ||
	    (e->req_set && h->req_id != e->req) || (e->tx_set && h->tx_id != e->tx))
		ok = 0;
	if (ok && e->kind == EXP_PIECES) {
		int m = xss_match_pieces(r, e, msg->payload, h->len, &masked, &mlen);

		if (m < 0) {
			free(msg);
			return -1;
		}
		ok = m;
	}
	if (masked) {
		xss_add_obs(r, OBS_MSG, h, masked, mlen);
		free(masked);
	} else {
		xss_add_obs(r, OBS_MSG, h, msg->payload, h->len);
	}
	if (!ok) {
		xss_fmt_exp(e, want, sizeof(want));
		xss_fmt_msg(h, msg->payload, h->len, got, sizeof(got));
		free(msg);
		return xss_fail(r, "on %s: expected %s, got %s", c->name, want, got);
	}
	free(msg);
	return 0;
}

/* ---------- steps ---------- */

static struct xss_conn *xss_conn_find(struct xss_run *r, const char *name)
{
	for (unsigned i = 0; i < r->nconns; i++)
		if (strcmp(r->conns[i].name, name) == 0)
			return &r->conns[i];
	return NULL;
}

static int xss_send(struct xss_run *r, struct xss_conn *c, const void *buf, size_t len,
		    size_t split, int gap_ms)
{
	const char *p = buf;

	if (!c->c) {
		xss_note(r, "connection not open");
		return xss_fail(r, "connection %s is not open", c->name);
	}
	if (!split)
		split = len ? len : 1;
	while (len > 0) {
		size_t n = len < split ? len : split;

		if (xst_wire_send(c->c, p, n) < 0) {
			xss_add_obs(r, OBS_SENDFAIL, NULL, NULL, 0);
			return xss_fail(r, "send on %s failed: %s", c->name, strerror(errno));
		}
		p += n;
		len -= n;
		if (len > 0 && gap_ms > 0) {
			struct timespec ts = {gap_ms / 1000, (long)(gap_ms % 1000) * 1000000L};

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

/* Bytes of an argument token, with variables substituted. */
static int xss_arg_bytes(struct xss_run *r, const struct xss_tok *t, const char **p, size_t *len)
{
	if (xss_is_varref(t)) {
		struct xss_var *v = xss_var_find(r, t->s + 1);

		if (!v)
			return xss_fail(r, "variable %s is not set", t->s);
		*p = v->val;
		*len = strlen(v->val);
		return 0;
	}
	*p = t->s;
	*len = t->len;
	return 0;
}

static int xss_append(struct xss_run *r, char *buf, size_t *o, size_t cap, const void *p, size_t n)
{
	if (*o + n > cap)
		return xss_syntax(r, "message longer than %zu bytes", cap);
	memcpy(buf + *o, p, n);
	*o += n;
	return 0;
}

/* Locate the "-> EXP" and "!differs ..." parts of a request-like line. */
static void xss_find_parts(struct xss_tok *t, int n, int *arrow, int *differs)
{
	*arrow = -1;
	*differs = n;
	for (int i = 0; i < n; i++) {
		if (*arrow < 0 && xss_is_word(&t[i], "->"))
			*arrow = i;
		if (xss_is_word(&t[i], "!differs")) {
			*differs = i;
			break;
		}
	}
}

/*
 * The expectation that applies: the main one, or on the reference in check
 * mode the !differs alternative (any message if none was given).
 */
static int xss_pick_exp(struct xss_run *r, struct xss_tok *t, int n, int from, int to, int differs,
			int type_known, uint32_t type, struct xss_exp *e)
{
	memset(e, 0, sizeof(*e));
	if (differs < n && r->mode == MODE_CHECK && r->kind != XST_OURS) {
		if (differs + 2 >= n) {
			e->kind = EXP_ANY;
			return 0;
		}
		return xss_parse_exp(r, t, differs + 1, n - 1, type_known, type, e);
	}
	return xss_parse_exp(r, t, from, to, type_known, type, e);
}

static int xss_parse_msg_item(struct xss_run *r, const struct xss_tok *t, char *buf, size_t *o,
			      size_t cap)
{
	/* hdr(TYPE,REQ,TX,LEN) or msg(TYPE,REQ,TX,BYTES) */
	int is_msg = strncmp(t->s, "msg(", 4) == 0;
	const char *p = t->s + 4, *end = t->s + t->len;
	char field[3][48];
	uint32_t type, req, tx, len;
	unsigned char hb[XS_HEADER_SIZE];

	if (end[-1] != ')')
		return xss_syntax(r, "missing ')' in %.4s...", t->s);
	end--;
	for (int f = 0; f < 3; f++) {
		const char *comma = memchr(p, ',', (size_t)(end - p));

		if (!comma || comma - p >= (long)sizeof(field[f]))
			return xss_syntax(r, "bad %.3s(...) item", t->s);
		snprintf(field[f], sizeof(field[f]), "%.*s", (int)(comma - p), p);
		p = comma + 1;
	}
	if (xss_type(r, field[0], &type) < 0 || xss_number(r, field[1], &req) < 0 ||
	    xss_number(r, field[2], &tx) < 0)
		return -1;
	if (is_msg) {
		len = (uint32_t)(end - p);
	} else {
		char lf[48];

		snprintf(lf, sizeof(lf), "%.*s", (int)(end - p), p);
		if (xss_number(r, lf, &len) < 0)
			return -1;
	}
	struct xs_header h = {type, req, tx, len};

	xs_header_encode(&h, hb);
	if (xss_append(r, buf, o, cap, hb, sizeof(hb)) < 0)
		return -1;
	return is_msg ? xss_append(r, buf, o, cap, p, (size_t)(end - p)) : 0;
}

static int xss_step_raw(struct xss_run *r, struct xss_conn *c, struct xss_tok *t, int n)
{
	size_t cap = 4 * XS_MSG_MAX + XSS_MAX_TOKEN_BYTES, o = 0, split = 0;
	char *buf = xss_xrealloc(NULL, cap);
	int gap = 20, differs, arrow, rc = 0;
	uint32_t v;

	xss_find_parts(t, n, &arrow, &differs);
	if (arrow >= 0) {
		free(buf);
		return xss_syntax(r, "raw takes no '->': use expect lines");
	}
	for (int i = 2; i < differs && rc == 0; i++) {
		const char *opt;

		if ((opt = xss_option(&t[i], "split"))) {
			rc = xss_number(r, opt, &v);
			split = v;
		} else if ((opt = xss_option(&t[i], "gap"))) {
			rc = xss_number(r, opt, &v);
			gap = (int)v;
		} else if (t[i].bare >= 4 &&
			   (!strncmp(t[i].s, "hdr(", 4) || !strncmp(t[i].s, "msg(", 4))) {
			rc = xss_parse_msg_item(r, &t[i], buf, &o, cap);
		} else {
			const char *p;
			size_t len;

			rc = xss_arg_bytes(r, &t[i], &p, &len);
			if (rc == 0)
				rc = xss_append(r, buf, &o, cap, p, len);
		}
	}
	if (rc == 0)
		rc = xss_send(r, c, buf, o, split, gap);
	free(buf);
	return rc;
}

static int xss_step_request(struct xss_run *r, struct xss_conn *c, struct xss_tok *t, int n)
{
	uint32_t type, req = (uint32_t)r->line, tx = 0;
	char payload[XS_PAYLOAD_MAX + 64];
	size_t plen = 0;
	int arrow, differs, i, raw_payload = 0, nargs = 0, first_arg;
	unsigned char hb[XS_HEADER_SIZE];
	char *msg;
	int rc;

	if (xss_type(r, t[1].s, &type) < 0)
		return -1;
	xss_find_parts(t, n, &arrow, &differs);
	int args_end = arrow >= 0 ? arrow : differs;

	for (i = 2; i < args_end; i++) {
		const char *opt;

		if ((opt = xss_option(&t[i], "req"))) {
			if (xss_number(r, opt, &req) < 0)
				return -1;
		} else if ((opt = xss_option(&t[i], "tx"))) {
			if (xss_number(r, opt, &tx) < 0)
				return -1;
		} else if ((opt = xss_option(&t[i], "payload"))) {
			size_t len = t[i].len - (size_t)(opt - t[i].s);

			if (xss_append(r, payload, &plen, sizeof(payload), opt, len) < 0)
				return -1;
			raw_payload = 1;
		} else {
			break;
		}
	}
	first_arg = i;
	nargs = args_end - first_arg;
	if (raw_payload && nargs)
		return xss_syntax(r, "payload= and arguments together");
	for (i = first_arg; i < args_end; i++) {
		const char *p;
		size_t len;
		int last_value = type == XS_WRITE && nargs >= 2 && i == args_end - 1;

		if (xss_arg_bytes(r, &t[i], &p, &len) < 0)
			return -1;
		if (xss_append(r, payload, &plen, sizeof(payload), p, len) < 0)
			return -1;
		if (!last_value && xss_append(r, payload, &plen, sizeof(payload), "", 1) < 0)
			return -1;
	}
	struct xs_header h = {type, req, tx, (uint32_t)plen};

	if (plen > XS_PAYLOAD_MAX)
		return xss_syntax(r, "payload of %zu bytes: use raw for oversize messages", plen);
	xs_header_encode(&h, hb);
	msg = xss_xrealloc(NULL, XS_HEADER_SIZE + plen);
	memcpy(msg, hb, XS_HEADER_SIZE);
	memcpy(msg + XS_HEADER_SIZE, payload, plen);
	if (xss_verbose) {
		char buf[800];

		xss_fmt_msg(&h, payload, plen, buf, sizeof(buf));
		fprintf(stderr, "    line %d %s -> %s\n", r->line, c->name, buf);
	}
	rc = xss_send(r, c, msg, XS_HEADER_SIZE + plen, 0, 0);
	free(msg);
	if (rc < 0)
		return -1;
	if (arrow < 0) {
		if (differs < n)
			return xss_syntax(r, "!differs needs '->' on a request line");
		if (c->qn == XSS_MAX_PENDING)
			return xss_syntax(r, "too many queued requests on %s", c->name);
		c->q[(c->qh + c->qn++) % XSS_MAX_PENDING] = (struct xss_pending){type, req, tx, r->line};
		return 0;
	}
	if (c->qn)
		return xss_syntax(r, "'->' while %s has %u queued requests: use reply", c->name,
				  c->qn);
	struct xss_exp e;

	if (xss_pick_exp(r, t, n, arrow + 1, differs, differs, 1, type, &e) < 0)
		return -1;
	e.req_set = e.tx_set = 1;
	e.req = req;
	e.tx = tx;
	return xss_receive(r, c, &e);
}

static int xss_step_reply(struct xss_run *r, struct xss_conn *c, struct xss_tok *t, int n)
{
	int arrow, differs;
	struct xss_pending pq;
	struct xss_exp e;

	xss_find_parts(t, n, &arrow, &differs);
	if (!c->qn)
		return xss_syntax(r, "reply on %s without a queued request", c->name);
	pq = c->q[c->qh];
	c->qh = (c->qh + 1) % XSS_MAX_PENDING;
	c->qn--;
	if (xss_pick_exp(r, t, n, 2, differs, differs, 1, pq.type, &e) < 0)
		return -1;
	e.req_set = e.tx_set = 1;
	e.req = pq.req;
	e.tx = pq.tx;
	return xss_receive(r, c, &e);
}

static int xss_step_expect(struct xss_run *r, struct xss_conn *c, struct xss_tok *t, int n)
{
	int arrow, differs, i = 2, type_known = 0;
	uint32_t type = 0, req = 0, tx = 0;
	int req_set = 0, tx_set = 0;
	struct xss_exp e;
	const char *opt;

	xss_find_parts(t, n, &arrow, &differs);
	if (i < differs && xss_is_type_token(&t[i]) && i + 1 < differs) {
		if (xss_type(r, t[i].s, &type) < 0)
			return -1;
		type_known = 1;
		i++;
	}
	for (; i < differs; i++) {
		if ((opt = xss_option(&t[i], "req"))) {
			if (xss_number(r, opt, &req) < 0)
				return -1;
			req_set = 1;
		} else if ((opt = xss_option(&t[i], "tx"))) {
			if (xss_number(r, opt, &tx) < 0)
				return -1;
			tx_set = 1;
		} else {
			break;
		}
	}
	if (xss_pick_exp(r, t, n, i, differs, differs, type_known, type, &e) < 0)
		return -1;
	if (e.kind == EXP_PIECES && !e.type_set)
		return xss_syntax(r, "expect needs a message type for this payload");
	e.req_set = req_set;
	e.tx_set = tx_set;
	e.req = req;
	e.tx = tx;
	return xss_receive(r, c, &e);
}

static int xss_step_event(struct xss_run *r, struct xss_conn *c, struct xss_tok *t, int n)
{
	int arrow, differs;
	struct xss_exp e;
	static const char nul[1] = "";

	xss_find_parts(t, n, &arrow, &differs);
	if (differs != 4)
		return xss_syntax(r, "event takes PATH TOKEN");
	memset(&e, 0, sizeof(e));
	if (differs < n && r->mode == MODE_CHECK && r->kind != XST_OURS) {
		if (xss_pick_exp(r, t, n, 0, 0, differs, 0, 0, &e) < 0)
			return -1;
		if (e.kind == EXP_PIECES && !e.type_set) {
			e.type_set = 1;
			e.type = XS_WATCH_EVENT;
		}
		return xss_receive(r, c, &e);
	}
	e.kind = EXP_PIECES;
	e.type_set = e.req_set = e.tx_set = 1;
	e.type = XS_WATCH_EVENT;
	e.pieces[0] = (struct xss_piece){0, t[2].s, t[2].len};
	e.pieces[1] = (struct xss_piece){0, nul, 1};
	e.pieces[2] = (struct xss_piece){0, t[3].s, t[3].len};
	e.pieces[3] = (struct xss_piece){0, nul, 1};
	e.npieces = 4;
	return xss_receive(r, c, &e);
}

static int xss_step_silent(struct xss_run *r, struct xss_conn *c, struct xss_tok *t, int n)
{
	uint32_t ms;
	struct xst_msg *msg;
	int rc = 0;

	if (n < 3 || xss_number(r, t[2].s, &ms) < 0)
		return xss_syntax(r, "silent takes a time in ms");
	if (!c->c) {
		xss_note(r, "connection not open");
		return xss_fail(r, "connection %s is not open", c->name);
	}
	r->checks++;
	msg = xss_xrealloc(NULL, sizeof(*msg));
	if (xst_wire_recv(c->c, msg, (int)ms) == 0) {
		char got[800];

		xss_add_obs(r, OBS_MSG, &msg->hdr, msg->payload, msg->hdr.len);
		xss_fmt_msg(&msg->hdr, msg->payload, msg->hdr.len, got, sizeof(got));
		rc = xss_fail(r, "on %s: expected no message, got %s", c->name, got);
	} else if (errno == ETIMEDOUT) {
		xss_add_obs(r, OBS_TIMEOUT, NULL, NULL, 0);
	} else {
		xss_add_obs(r, OBS_CLOSED, NULL, NULL, 0);
		xst_wire_close(c->c);
		c->c = NULL;
		rc = xss_fail(r, "on %s: expected no message, got connection closed", c->name);
	}
	free(msg);
	return rc;
}

static int xss_step_check(struct xss_run *r, struct xss_tok *t, int n)
{
	struct xss_var *a, *b;
	int eq;

	if (n != 4 || !xss_is_varref(&t[1]) || !xss_is_varref(&t[3]) ||
	    (!xss_is_word(&t[2], "==") && !xss_is_word(&t[2], "!=")))
		return xss_syntax(r, "check takes $a == $b or $a != $b");
	a = xss_var_find(r, t[1].s + 1);
	b = xss_var_find(r, t[3].s + 1);
	if (!a || !b) {
		xss_note(r, "check on unset variable");
		return xss_fail(r, "check: variable %s is not set", !a ? t[1].s : t[3].s);
	}
	eq = strcmp(a->val, b->val) == 0;
	if (eq != (t[2].s[0] == '=')) {
		xss_note(r, "check failed");
		return xss_fail(r, "check failed: %s=%s %s %s=%s", t[1].s, a->val, t[2].s, t[3].s,
				b->val);
	}
	return 0;
}

static void xss_new_step(struct xss_run *r, struct xss_tok *t, int n)
{
	struct xss_stepinfo *s;

	if (r->nsteps == r->cap_steps) {
		r->cap_steps = r->cap_steps ? r->cap_steps * 2 : 64;
		r->steps = xss_xrealloc(r->steps, r->cap_steps * sizeof(*r->steps));
	}
	s = &r->steps[r->nsteps++];
	s->line = r->line;
	s->reason = NULL;
	for (int i = 0; i < n; i++)
		if (xss_is_word(&t[i], "!differs") && i + 1 < n && t[n - 1].quoted)
			s->reason = strdup(t[n - 1].s);
}

static int xss_exec_line(struct xss_run *r, const char *line);

static int xss_exec_tokens(struct xss_run *r, struct xss_tok *t, int n)
{
	struct xss_conn *c;

	xss_new_step(r, t, n);
	for (int i = 0; i < n; i++)
		if (xss_is_word(&t[i], "!differs") &&
		    (i + 1 >= n || !t[n - 1].quoted || n - 1 == i))
			return xss_syntax(r, "!differs needs a quoted reason at the end of the line");
	if (xss_is_word(&t[0], "connect")) {
		if (n != 2)
			return xss_syntax(r, "connect NAME");
		c = xss_conn_find(r, t[1].s);
		if (!c) {
			if (r->nconns == XSS_MAX_CONNS)
				return xss_syntax(r, "too many connections");
			c = &r->conns[r->nconns++];
			memset(c, 0, sizeof(*c));
			snprintf(c->name, sizeof(c->name), "%s", t[1].s);
		}
		if (c->c)
			return xss_syntax(r, "connection %s is already open", c->name);
		c->qh = c->qn = 0;
		c->c = xst_wire_socket(r->d.socket);
		if (!c->c) {
			xss_note(r, "connect failed");
			return xss_fail(r, "connect %s: %s", t[1].s, strerror(errno));
		}
		return 0;
	}
	if (xss_is_word(&t[0], "close")) {
		if (n != 2 || !(c = xss_conn_find(r, t[1].s)))
			return xss_syntax(r, "close NAME (a connected name)");
		xst_wire_close(c->c);
		c->c = NULL;
		c->qn = 0;
		return 0;
	}
	if (xss_is_word(&t[0], "sleep")) {
		uint32_t ms;

		if (n != 2 || xss_number(r, t[1].s, &ms) < 0)
			return xss_syntax(r, "sleep MS");
		struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		return 0;
	}
	if (xss_is_word(&t[0], "check"))
		return xss_step_check(r, t, n);
	if (n < 2)
		return xss_syntax(r, "expected 'CONN COMMAND ...'");
	c = xss_conn_find(r, t[0].s);
	if (!c)
		return xss_syntax(r, "unknown connection or command '%s'", t[0].s);
	if (xss_is_word(&t[1], "reply"))
		return xss_step_reply(r, c, t, n);
	if (xss_is_word(&t[1], "expect"))
		return xss_step_expect(r, c, t, n);
	if (xss_is_word(&t[1], "event"))
		return xss_step_event(r, c, t, n);
	if (xss_is_word(&t[1], "silent"))
		return xss_step_silent(r, c, t, n);
	if (xss_is_word(&t[1], "raw"))
		return xss_step_raw(r, c, t, n);
	if (xss_is_word(&t[1], "restrict")) {
		char line[128];

		if (n != 3)
			return xss_syntax(r, "restrict DOMID");
		r->nsteps--; /* the expanded line is the step */
		snprintf(line, sizeof(line), "%s CONTROL restrict %s -> OK", c->name, t[2].s);
		return xss_exec_line(r, line);
	}
	return xss_step_request(r, c, t, n);
}

static int xss_exec_line(struct xss_run *r, const char *line)
{
	struct xss_tok *t = xss_xrealloc(NULL, XSS_MAX_TOKENS * sizeof(*t));
	int n = xss_tokenize(r, line, t, XSS_MAX_TOKENS), rc = 0;

	if (n > 0) {
		if (xss_verbose)
			fprintf(stderr, "  %d: %s", r->line, line);
		rc = xss_exec_tokens(r, t, n);
	}
	if (n > 0)
		xss_free_toks(t, n);
	free(t);
	return n < 0 ? -1 : rc;
}

/* "repeat N LINE": LINE N times with {i} replaced by the iteration number. */
static int xss_exec_repeat(struct xss_run *r, const char *line, int *first_failure)
{
	const char *p = line;
	char *end;
	unsigned long count;

	while (*p == ' ' || *p == '\t')
		p++;
	p += strlen("repeat");
	unsigned long first = 0;

	count = strtoul(p, &end, 10);
	if (end != p && end[0] == '.' && end[1] == '.') {
		const char *b = end + 2;

		first = count;
		count = strtoul(b, &end, 10);
		if (end == b || count < first)
			return xss_syntax(r, "repeat A..B LINE");
		count = count - first + 1;
	}
	if (end == p || count > 100000)
		return xss_syntax(r, "repeat N LINE");
	p = end;
	for (unsigned long i = first; i < first + count; i++) {
		char buf[8192], num[24];
		size_t o = 0;
		int nl = snprintf(num, sizeof(num), "%lu", i);

		for (const char *q = p; *q && o + 32 < sizeof(buf); q++) {
			if (!strncmp(q, "{i}", 3)) {
				memcpy(buf + o, num, (size_t)nl);
				o += (size_t)nl;
				q += 2;
			} else {
				buf[o++] = *q;
			}
		}
		buf[o] = '\0';
		if (xss_exec_line(r, buf) < 0) {
			if (r->script_error || r->aborted || r->mode == MODE_CHECK)
				return -1;
			if (!*first_failure)
				*first_failure = 1;
		}
	}
	return 0;
}

static int xss_is_repeat(const char *line)
{
	while (*line == ' ' || *line == '\t')
		line++;
	return !strncmp(line, "repeat", 6) && (line[6] == ' ' || line[6] == '\t');
}

/* Run a script on r's daemon. Check mode stops at the first failure. */
static int xss_run_script(struct xss_run *r, FILE *f)
{
	char line[16384];
	int failed = 0;
	char first_err[1024] = "";

	r->line = 0;
	while (fgets(line, sizeof(line), f)) {
		int rc;

		r->line++;
		if (xss_is_repeat(line))
			rc = xss_exec_repeat(r, line, &failed);
		else
			rc = xss_exec_line(r, line);
		if (rc < 0) {
			if (!first_err[0])
				snprintf(first_err, sizeof(first_err), "%s", r->err);
			failed = 1;
			if (r->script_error || r->mode == MODE_CHECK)
				break;
			if (r->aborted) {
				xss_note(r, "aborted after repeated timeouts");
				break;
			}
		}
	}
	if (first_err[0])
		snprintf(r->err, sizeof(r->err), "%s", first_err);
	if (!failed && r->checks == 0) {
		snprintf(r->err, sizeof(r->err), "script error: no expectation in the script");
		r->script_error = 1;
		return -1;
	}
	return failed ? -1 : 0;
}

/* ---------- driving daemons ---------- */

static void xss_run_free(struct xss_run *r)
{
	for (unsigned i = 0; i < r->nconns; i++)
		xst_wire_close(r->conns[i].c);
	r->nconns = 0;
	for (unsigned i = 0; i < r->nobs; i++)
		free(r->obs[i].data);
	free(r->obs);
	for (unsigned i = 0; i < r->nsteps; i++)
		free(r->steps[i].reason);
	free(r->steps);
	r->obs = NULL;
	r->steps = NULL;
	r->nobs = r->nsteps = r->cap_obs = r->cap_steps = 0;
}

static void xss_print_log(const char *dir)
{
	char path[400], buf[512];
	FILE *f;
	int lines = 0;

	snprintf(path, sizeof(path), "%s/daemon.log", dir);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(buf, sizeof(buf), f) && lines++ < 40)
		printf("    | %s", buf);
	fclose(f);
}

/*
 * Start a fresh daemon, run the script, stop the daemon. Returns 0 if every
 * step passed (check mode) or the run completed (diff mode), -1 otherwise;
 * a daemon that died or exited badly is always a failure.
 */
static int xss_run_on(struct xss_run *r, enum xst_kind kind, enum xss_mode mode, const char *file)
{
	FILE *f;
	int rc, st;

	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->mode = mode;
	r->file = file;
	f = fopen(file, "r");
	if (!f) {
		snprintf(r->err, sizeof(r->err), "cannot open: %s", strerror(errno));
		r->script_error = 1;
		return -1;
	}
	if (xst_daemon_start(&r->d, kind, NULL, NULL) < 0) {
		fclose(f);
		snprintf(r->err, sizeof(r->err), "could not start %s", xst_kind_name(kind));
		return -1;
	}
	rc = xss_run_script(r, f);
	fclose(f);
	for (unsigned i = 0; i < r->nconns; i++) {
		xst_wire_close(r->conns[i].c);
		r->conns[i].c = NULL;
	}
	int misbehaved = 0;

	if (!xst_daemon_alive(&r->d)) {
		misbehaved = 1;
		if (rc == 0 || mode == MODE_DIFF)
			snprintf(r->err, sizeof(r->err), "%s died during the script",
				 xst_kind_name(kind));
		else
			snprintf(r->err + strlen(r->err), sizeof(r->err) - strlen(r->err),
				 " (%s died)", xst_kind_name(kind));
		rc = -1;
		r->script_error = 1;
	}
	/* The reference takes over a second to honour SIGTERM and keeps nothing we need. */
	if (kind != XST_OURS && r->d.pid > 0)
		kill(r->d.pid, SIGKILL);
	st = xst_daemon_stop(&r->d, 1);
	if (kind == XST_OURS && st != -1 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0) &&
	    !(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)) {
		snprintf(r->err, sizeof(r->err), "%s exited badly (status 0x%x) at stop",
			 xst_kind_name(kind), st);
		misbehaved = 1;
		rc = -1;
		r->script_error = 1;
	}
	if (misbehaved && kind == XST_OURS)
		xss_print_log(r->d.dir);
	if (r->d.own_dir) {
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", r->d.dir);
		if (system(cmd) != 0)
			fprintf(stderr, "xsscript: could not remove %s\n", r->d.dir);
	}
	return rc;
}

static int xss_uses_restrict(const char *file)
{
	FILE *f = fopen(file, "r");
	char line[16384];
	int uses = 0;

	if (!f)
		return 0;
	while (!uses && fgets(line, sizeof(line), f)) {
		char a[64], b[64];

		if (line[strspn(line, " \t")] == '#')
			continue;
		if (sscanf(line, "%63s %63s", a, b) == 2 && strcmp(b, "restrict") == 0)
			uses = 1;
		else if (strstr(line, " CONTROL restrict") || strstr(line, " 0 restrict"))
			uses = 1;
	}
	fclose(f);
	return uses;
}

static int xss_obs_equal(const struct xss_obs *a, const struct xss_obs *b)
{
	if (a->kind != b->kind)
		return 0;
	/* len is not compared: a masked value may differ in width; the data says the rest. */
	if (a->kind == OBS_MSG && (a->hdr.type != b->hdr.type || a->hdr.req_id != b->hdr.req_id ||
				   a->hdr.tx_id != b->hdr.tx_id))
		return 0;
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Compare the two transcripts step by step; prints details, returns mismatches. */
static int xss_compare(const struct xss_run *a, const struct xss_run *b, int *tolerated, FILE *out)
{
	unsigned ia = 0, ib = 0, steps = a->nsteps > b->nsteps ? a->nsteps : b->nsteps;
	int mismatches = 0;

	*tolerated = 0;
	for (unsigned s = 0; s < steps; s++) {
		unsigned ea = ia, eb = ib;
		int same = 1;

		while (ea < a->nobs && a->obs[ea].step == s)
			ea++;
		while (eb < b->nobs && b->obs[eb].step == s)
			eb++;
		if (ea - ia != eb - ib || s >= a->nsteps || s >= b->nsteps)
			same = 0;
		for (unsigned k = 0; same && k < ea - ia; k++)
			same = xss_obs_equal(&a->obs[ia + k], &b->obs[ib + k]);
		if (!same) {
			const struct xss_stepinfo *si = s < a->nsteps ? &a->steps[s] : &b->steps[s];
			char ta[800] = "(nothing)", tb[800] = "(nothing)";

			if (ea > ia)
				xss_fmt_obs(&a->obs[ia], ta, sizeof(ta));
			if (eb > ib)
				xss_fmt_obs(&b->obs[ib], tb, sizeof(tb));
			if (si->reason) {
				(*tolerated)++;
				fprintf(out, "  tolerated line %d: %s\n      ours: %s\n      ref:  %s\n",
				       si->line, si->reason, ta, tb);
			} else {
				if (mismatches < 8)
					fprintf(out, "  mismatch line %d:\n      ours: %s\n      ref:  %s\n",
					       si->line, ta, tb);
				mismatches++;
			}
		} else if (s < a->nsteps && a->steps[s].reason && xss_verbose) {
			fprintf(out, "  note line %d: annotated difference not observed\n",
			       a->steps[s].line);
		}
		ia = ea;
		ib = eb;
	}
	return mismatches;
}

static void xss_usage(void)
{
	fprintf(stderr,
		"usage: xsscript [--diff [--ours c|ox]] [--daemon ours|c|ox] [--timeout MS] [-v] SCRIPT.xst...\n"
		"  check mode (default): run each script on a fresh daemon, check every expectation\n"
		"  --diff: run each script on ours and on the reference C xenstored, compare replies\n"
		"  --daemon c: check mode against the reference (uses !differs alternatives)\n"
		"  env XS_SKIP_REFERENCE=1: --diff without a reference installed skips instead of failing\n");
}

int main(int argc, char **argv)
{
	enum xss_mode mode = MODE_CHECK;
	enum xst_kind kind = XST_OURS, ours = XST_OURS;
	int passed = 0, failed = 0, skipped = 0, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--diff")) {
			mode = MODE_DIFF;
		} else if (!strcmp(argv[i], "--daemon") && i + 1 < argc) {
			const char *k = argv[++i];

			if (!strcmp(k, "ours"))
				kind = XST_OURS;
			else if (!strcmp(k, "c"))
				kind = XST_REF_C;
			else if (!strcmp(k, "ox"))
				kind = XST_REF_OX;
			else {
				xss_usage();
				return 2;
			}
		} else if (!strcmp(argv[i], "--ours") && i + 1 < argc) {
			/* Which daemon plays "ours" in --diff (to diff two references, or to test the runner). */
			const char *k = argv[++i];

			ours = !strcmp(k, "c") ? XST_REF_C : !strcmp(k, "ox") ? XST_REF_OX : XST_OURS;
		} else if (!strcmp(argv[i], "--timeout") && i + 1 < argc) {
			xss_timeout_ms = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "-v")) {
			xss_verbose = 1;
		} else {
			xss_usage();
			return 2;
		}
	}
	if (i == argc) {
		xss_usage();
		fprintf(stderr, "xsscript: no scripts given\n");
		printf("0 passed, 0 failed\n");
		return 1;
	}
	/* The reference must believe every domid exists, as ours does without a hypervisor. */
	setenv("XSSHIM_DOMAINS", "all", 1);
	setvbuf(stdout, NULL, _IOLBF, 0);

	enum xst_kind needed = mode == MODE_DIFF ? XST_REF_C : kind;

	if (!xst_kind_available(needed) || (mode == MODE_DIFF && !xst_kind_available(ours))) {
		const char *skip = getenv("XS_SKIP_REFERENCE");
		enum xst_kind missing = !xst_kind_available(needed) ? needed : ours;

		if (missing != XST_OURS && skip && !strcmp(skip, "1")) {
			printf("xsscript: %s is not installed; skipped (XS_SKIP_REFERENCE=1)\n",
			       xst_kind_name(missing));
			return 0;
		}
		printf("xsscript: %s is not available%s\n", xst_kind_name(missing),
		       missing != XST_OURS ? " (set XS_SKIP_REFERENCE=1 to skip)" : "");
		printf("0 passed, %d failed\n", argc - i);
		return 1;
	}

	for (; i < argc; i++) {
		const char *file = argv[i];
		int restricted = xss_uses_restrict(file);

		if (restricted && (mode == MODE_DIFF || kind != XST_OURS)) {
			printf("SKIP %s: uses restrict (check mode on our daemon only)\n", file);
			skipped++;
			continue;
		}
		if (mode == MODE_CHECK) {
			struct xss_run *r = calloc(1, sizeof(*r));
			int rc = xss_run_on(r, kind, MODE_CHECK, file);

			if (rc == 0) {
				printf("PASS %s (%u steps)\n", file, r->nsteps);
				passed++;
			} else {
				printf("FAIL %s: %s\n", file, r->err);
				failed++;
			}
			xss_run_free(r);
			free(r);
			continue;
		}
		struct xss_run *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
		int ra = xss_run_on(a, ours, MODE_DIFF, file);
		int rb = xss_run_on(b, XST_REF_C, MODE_DIFF, file);

		if ((ra < 0 && a->script_error) || (rb < 0 && b->script_error)) {
			printf("FAIL %s: %s%s\n", file, ra < 0 && a->script_error ? "ours: " : "ref: ",
			       ra < 0 && a->script_error ? a->err : b->err);
			failed++;
		} else {
			char *details = NULL;
			size_t dlen = 0;
			FILE *out = open_memstream(&details, &dlen);
			int tolerated, mism = xss_compare(a, b, &tolerated, out);

			fclose(out);
			if (mism) {
				printf("FAIL %s: %d mismatching steps\n", file, mism);
				failed++;
			} else {
				printf("PASS %s (%u steps, %d tolerated differences)\n", file,
				       a->nsteps, tolerated);
				passed++;
			}
			fputs(details, stdout);
			free(details);
		}
		xss_run_free(a);
		xss_run_free(b);
		free(a);
		free(b);
	}
	if (skipped)
		printf("%d scripts skipped\n", skipped);
	printf("%d passed, %d failed\n", passed, failed);
	return failed || passed == 0 ? 1 : 0;
}
