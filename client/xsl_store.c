/* The typed calls: nodes, directories (in parts when large), permissions, domains, CONTROL. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "../proto/perms.h"
#include "xsl_handle.h"

/* A listing read in parts restarts when the directory changes; this many times at most. */
#define XSL_DIR_RESTARTS 16
/* The most bytes of names a listing may gather (a bound on memory, far above any real directory). */
#define XSL_DIR_MAX_BYTES (16u * 1024u * 1024u)

/* The common shape: check the path, call with it, maybe a reply. */
static int path_call(struct xsl *h, xsl_txn_t t, uint32_t type, const char *path, bool special,
		     struct xsl_reply *rep)
{
	struct xsl_arg a;
	int err;

	if (!h)
		return -EINVAL;
	if ((err = xsl_codec_check_path(path, special)) < 0)
		return err;
	a = XSL_STR(path);
	return xsl_call(h, t, type, &a, 1, rep);
}

/* A malloc'd copy of a reply (with its NUL). */
static int copy_out(const struct xsl_reply *rep, char **out, size_t *len)
{
	char *p = malloc(rep->len + 1);

	if (!p)
		return -ENOMEM;
	memcpy(p, rep->data, rep->len + 1);
	*out = p;
	if (len)
		*len = rep->len;
	return 0;
}

int xsl_read(struct xsl *h, xsl_txn_t t, const char *path, char **value, size_t *len)
{
	struct xsl_reply *rep = malloc(sizeof(*rep));
	int err;

	if (!rep)
		return -ENOMEM;
	if (!value)
		err = -EINVAL;
	else if (!(err = path_call(h, t, XS_READ, path, false, rep)))
		err = copy_out(rep, value, len);
	free(rep);
	return err;
}

int xsl_write(struct xsl *h, xsl_txn_t t, const char *path, const void *value, size_t len)
{
	struct xsl_arg args[2];
	int err;

	if (!h || (len && !value))
		return -EINVAL;
	if ((err = xsl_codec_check_path(path, false)) < 0)
		return err;
	args[0] = XSL_STR(path);
	args[1] = (struct xsl_arg){value, len, false};
	return xsl_call(h, t, XS_WRITE, args, 2, NULL);
}

int xsl_mkdir(struct xsl *h, xsl_txn_t t, const char *path)
{
	return path_call(h, t, XS_MKDIR, path, false, NULL);
}

int xsl_rm(struct xsl *h, xsl_txn_t t, const char *path)
{
	return path_call(h, t, XS_RM, path, false, NULL);
}

int xsl_exists(struct xsl *h, xsl_txn_t t, const char *path)
{
	/* GET_PERMS: the smallest reply that needs the same read permission as READ. */
	int err = path_call(h, t, XS_GET_PERMS, path, false, NULL);

	return err == 0 ? 1 : err == -ENOENT ? 0 : err;
}

/* Names (NUL-terminated, back to back) into one allocation: pointers, NULL, then the strings. */
static int build_names(const char *names, size_t len, char ***out, unsigned *count)
{
	unsigned n;
	char **v, *s;
	size_t i = 0;

	if (xsl_codec_names(names, len, &n) < 0)
		return -EPROTO;
	if (!(v = malloc(sizeof(char *) * (n + 1) + len + 1)))
		return -ENOMEM;
	s = (char *)(v + n + 1);
	if (len)
		memcpy(s, names, len);
	s[len] = '\0';
	for (unsigned k = 0; k < n; k++) {
		v[k] = s + i;
		i += strlen(s + i) + 1;
	}
	v[n] = NULL;
	*out = v;
	if (count)
		*count = n;
	return 0;
}

/* A listing over 4096 bytes, part by part: consistent because every part must carry the same generation. */
static int directory_parts(struct xsl *h, xsl_txn_t t, const char *path, struct xsl_reply *rep,
			   char ***out, unsigned *count)
{
	for (int restart = 0; restart < XSL_DIR_RESTARTS; restart++) {
		char gen[32] = "", off[24];
		char *acc = NULL;
		size_t have = 0;
		bool changed = false;
		int err = 0;

		for (;;) {
			struct xsl_arg args[2];
			struct xsl_dir_part part;
			char *grown;

			snprintf(off, sizeof(off), "%zu", have);
			args[0] = XSL_STR(path);
			args[1] = XSL_STR(off);
			if ((err = xsl_call(h, t, XS_DIRECTORY_PART, args, 2, rep)) < 0)
				break;
			if ((err = xsl_codec_dir_part(rep->data, rep->len, &part)) < 0 ||
			    strlen(part.gen) >= sizeof(gen))
				break;
			if (!gen[0])
				strcpy(gen, part.gen);
			else if (strcmp(gen, part.gen) != 0) {
				changed = true;
				break;
			}
			if (part.names_len > XSL_DIR_MAX_BYTES - have) {
				err = -E2BIG;
				break;
			}
			if (!(grown = realloc(acc, have + part.names_len + 1))) {
				err = -ENOMEM;
				break;
			}
			acc = grown;
			memcpy(acc + have, part.names, part.names_len);
			have += part.names_len;
			if (part.last)
				break;
		}
		if (!err && !changed)
			err = build_names(acc ? acc : "", have, out, count);
		free(acc);
		/* A store without DIRECTORY_PART cannot list it at all. */
		if (err == -ENOSYS)
			return -E2BIG;
		if (err || !changed)
			return err;
	}
	return -EAGAIN;
}

int xsl_directory(struct xsl *h, xsl_txn_t t, const char *path, char ***names, unsigned *count)
{
	struct xsl_reply *rep;
	int err;

	if (!names)
		return -EINVAL;
	if (!(rep = malloc(sizeof(*rep))))
		return -ENOMEM;
	err = path_call(h, t, XS_DIRECTORY, path, false, rep);
	if (!err)
		err = build_names(rep->data, rep->len, names, count);
	else if (err == -E2BIG)
		err = directory_parts(h, t, path, rep, names, count);
	free(rep);
	return err;
}

int xsl_get_perms(struct xsl *h, xsl_txn_t t, const char *path, struct xsl_perm **perms,
		  unsigned *count)
{
	struct xsl_reply *rep = malloc(sizeof(*rep));
	struct xsl_perm *v = NULL;
	unsigned n;
	int err;

	if (!rep)
		return -ENOMEM;
	if (!perms || !count)
		err = -EINVAL;
	else if (!(err = path_call(h, t, XS_GET_PERMS, path, true, rep)) &&
		 !(v = malloc(sizeof(*v) * XS_PERMS_MAX)))
		err = -ENOMEM;
	if (!err && (err = xsl_codec_perms(rep->data, rep->len, v, XS_PERMS_MAX, &n)) == 0) {
		struct xsl_perm *fit = realloc(v, sizeof(*v) * n);

		*perms = fit ? fit : v;
		*count = n;
		v = NULL;
	}
	free(v);
	free(rep);
	return err;
}

int xsl_set_perms(struct xsl *h, xsl_txn_t t, const char *path, const struct xsl_perm *perms,
		  unsigned count)
{
	char buf[XS_PAYLOAD_MAX];
	struct xsl_arg args[2];
	int n, err;

	if (!h || !perms)
		return -EINVAL;
	if ((err = xsl_codec_check_path(path, true)) < 0)
		return err;
	if ((n = xsl_codec_format_perms(perms, count, buf, sizeof(buf))) < 0)
		return n;
	args[0] = XSL_STR(path);
	args[1] = (struct xsl_arg){buf, (size_t)n, false};
	return xsl_call(h, t, XS_SET_PERMS, args, 2, NULL);
}

/* A request whose only argument is a domid. */
static int domid_call(struct xsl *h, uint32_t type, unsigned domid, struct xsl_reply *rep)
{
	char id[16];
	struct xsl_arg a;

	if (!h || domid > XS_DOMID_MAX)
		return -EINVAL;
	snprintf(id, sizeof(id), "%u", domid);
	a = XSL_STR(id);
	return xsl_call(h, 0, type, &a, 1, rep);
}

int xsl_get_domain_path(struct xsl *h, unsigned domid, char **path)
{
	struct xsl_reply *rep = malloc(sizeof(*rep));
	int err;

	if (!rep)
		return -ENOMEM;
	if (!path)
		err = -EINVAL;
	else if (!(err = domid_call(h, XS_GET_DOMAIN_PATH, domid, rep)))
		err = rep->len && rep->data[rep->len - 1] == '\0' ? copy_out(rep, path, NULL) : -EPROTO;
	free(rep);
	return err;
}

int xsl_introduce(struct xsl *h, unsigned domid, unsigned long gfn, unsigned port)
{
	char id[16], frame[24], evtchn[16];
	struct xsl_arg args[3];

	if (!h || domid > XS_DOMID_MAX)
		return -EINVAL;
	snprintf(id, sizeof(id), "%u", domid);
	snprintf(frame, sizeof(frame), "%lu", gfn);
	snprintf(evtchn, sizeof(evtchn), "%u", port);
	args[0] = XSL_STR(id);
	args[1] = XSL_STR(frame);
	args[2] = XSL_STR(evtchn);
	return xsl_call(h, 0, XS_INTRODUCE, args, 3, NULL);
}

int xsl_release(struct xsl *h, unsigned domid)
{
	return domid_call(h, XS_RELEASE, domid, NULL);
}

int xsl_is_introduced(struct xsl *h, unsigned domid)
{
	struct xsl_reply *rep = malloc(sizeof(*rep));
	int err;

	if (!rep)
		return -ENOMEM;
	err = domid_call(h, XS_IS_DOMAIN_INTRODUCED, domid, rep);
	if (!err)
		err = xsl_codec_bool(rep->data, rep->len);
	free(rep);
	return err;
}

int xsl_control(struct xsl *h, const char *const *args, char **reply, size_t *len)
{
	struct xsl_arg a[64];
	struct xsl_reply *rep;
	unsigned n = 0;
	int err;

	if (!h || !args || !args[0])
		return -EINVAL;
	for (; args[n]; n++) {
		if (n == sizeof(a) / sizeof(a[0]))
			return -E2BIG;
		a[n] = XSL_STR(args[n]);
	}
	if (!(rep = malloc(sizeof(*rep))))
		return -ENOMEM;
	err = xsl_call(h, 0, XS_CONTROL, a, n, rep);
	if (!err && reply)
		err = copy_out(rep, reply, len);
	free(rep);
	return err;
}
