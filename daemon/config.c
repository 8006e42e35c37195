/* Daemon settings: one table of options, from which argv parsing, the configuration file keys and --help all come. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "quota.h"

#define DEFAULT_RUN_DIR "/var/run/xenstored"

struct config cfg;

/* The file named by -c/--config-file (an argv string). */
static const char *conf_file;

static bool parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = v;
	return true;
}

static bool copy_string(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	strcpy(dst, v);
	return true;
}

static enum config_set_result set_string(const struct config_option *o, const char *name, const char *v)
{
	(void)name;
	return copy_string(o->target, o->size, v) ? SET_OK : SET_BAD;
}

/* The argument itself is kept: argv outlives the settings. */
static enum config_set_result set_arg(const struct config_option *o, const char *name, const char *v)
{
	(void)name;
	*(const char **)o->target = v;
	return SET_OK;
}

/* An option without argument stands for "1". */
static enum config_set_result set_bool(const struct config_option *o, const char *name, const char *v)
{
	bool *dst = o->target;

	(void)name;
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
		*dst = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
		*dst = false;
	else
		return SET_BAD;
	return SET_OK;
}

/* A decimal in [min, max], into a field of 32 or 64 bits. */
static enum config_set_result set_uint(const struct config_option *o, const char *name, const char *v)
{
	unsigned long n;

	(void)name;
	if (!parse_uint(v, o->max, &n) || n < o->min)
		return SET_BAD;
	if (o->size == sizeof(uint32_t)) {
		uint32_t n32 = (uint32_t)n;

		memcpy(o->target, &n32, sizeof(n32));
	} else {
		uint64_t n64 = n;

		memcpy(o->target, &n64, sizeof(n64));
	}
	return SET_OK;
}

static enum config_set_result set_choice(const struct config_option *o, const char *name, const char *v)
{
	(void)name;
	for (int i = 0; o->choices[i]; i++)
		if (!strcmp(v, o->choices[i])) {
			*(int *)o->target = i;
			return SET_OK;
		}
	return SET_BAD;
}

/* quota.c owns the quotas; -E and the like name theirs in their key (quota-nodes). */
static enum config_set_result set_quota_as(const struct config_option *o, const char *name, const char *v,
					   bool soft)
{
	if (!name)
		name = o->key + strlen("quota-");
	return quota_set(name, v, soft) ? SET_OK : SET_BAD;
}

static enum config_set_result set_quota(const struct config_option *o, const char *name, const char *v)
{
	return set_quota_as(o, name, v, false);
}

static enum config_set_result set_quota_soft(const struct config_option *o, const char *name, const char *v)
{
	return set_quota_as(o, name, v, true);
}

/* Options of the C daemon that mean nothing here: accepted so that its command lines work. */
static enum config_set_result ignore(const struct config_option *o, const char *name, const char *v)
{
	(void)o;
	(void)name;
	(void)v;
	return SET_OK;
}

static enum config_set_result show_help(const struct config_option *o, const char *name, const char *v)
{
	(void)o;
	(void)name;
	(void)v;
	config_usage(stdout);
	return SET_DONE;
}

static enum config_set_result show_version(const struct config_option *o, const char *name, const char *v)
{
	(void)o;
	(void)name;
	(void)v;
	printf("xenstored %s\n", VERSION);
	return SET_DONE;
}

/* In the order of enum domain_hyp_choice. */
static const char *const hypervisor_names[] = {"auto", "xen", "sim", "none", NULL};

#define FIELD(f) .target = &cfg.f, .size = sizeof(cfg.f)
#define ARG(p) .has_arg = required_argument, .param = p
#define QUOTA(k) .key = k, ARG("N"), .set = set_quota
#define COMPAT .set = ignore, .help = "accepted for compatibility with the C xenstored, no effect"

/* Every setting, once; --help lists them in this order. */
const struct config_option config_options[] = {
	{.name = "no-fork", .letter = 'N', .set = set_bool, FIELD(no_fork), .help = "stay in the foreground"},
	{.name = "pid-file", .letter = 'F', .key = "pid-file", ARG("FILE"), .set = set_string, FIELD(pid_file),
	 .help = "write the pid to FILE once serving (locked; if a live daemon holds it, exit 0)"},
	{.name = "output-pid", .letter = 'P', .set = set_bool, FIELD(output_pid), .help = "print the pid on stdout"},
	{.name = "trace-file", .letter = 'T', .key = "trace-file", ARG("FILE"), .set = set_string,
	 FIELD(trace_file), .help = "trace requests to FILE (SIGHUP reopens it)"},
	{.name = "verbose", .letter = 'V', .key = "verbose", .set = set_bool, FIELD(verbose), .def = "no",
	 .help = "log more"},
	{.name = "config-file", .letter = 'c', .at_once = true, ARG("FILE"), .set = set_arg, .target = &conf_file,
	 .help = "read settings from FILE (options win)"},
	{.name = "entry-nb", .letter = 'E', QUOTA("quota-nodes"), .help = "quota: nodes per domain"},
	{.name = "entry-size", .letter = 'S', QUOTA("quota-node-size"), .help = "quota: bytes per node"},
	{.name = "watch-nb", .letter = 'W', QUOTA("quota-watches"), .help = "quota: watches per domain"},
	{.name = "transaction", .letter = 't', QUOTA("quota-transactions"), .help = "quota: transactions per domain"},
	{.name = "perm-nb", .letter = 'A', QUOTA("quota-node-permissions"),
	 .help = "quota: permission entries per node"},
	{.name = "path-max", .letter = 'M', QUOTA("quota-path-max"),
	 .help = "quota: path length below a domain home (<= 2048)"},
	{.name = "quota", .letter = 'Q', QUOTA("quota-"), .family = true, .help = "any hard quota by name"},
	{.name = "quota-soft", .letter = 'q', .key = "quota-soft-", .family = true, ARG("N"), .set = set_quota_soft,
	 .help = "soft quota (memory only)"},
	{.name = "timeout", .letter = 'w', .key = "watch-event-timeout", .prefix = "watch-event=", ARG("N"),
	 .set = set_uint, FIELD(watch_event_timeout), .max = 86400, .def = "20",
	 .help = "drop a watch event an unprivileged client has not begun to read after N s (0 = never)"},
	{.name = "keep-orphans", .letter = 'K', .key = "keep-orphans", .set = set_bool, FIELD(keep_orphans),
	 .def = "no", .help = "give a dead domain's nodes to the privileged domain"},
	{.name = "master-domid", .key = "master-domid", ARG("N"), .set = set_uint, FIELD(master_domid),
	 .max = 0x7fef, .def = "0", .help = "domain this daemon runs in"},
	{.name = "priv-domid", .key = "priv-domid", ARG("N"), .set = set_uint, FIELD(priv_domid), .max = 0x7fef,
	 .def = "0", .help = "privileged domain"},
	/*
	 * 256 KiB of table. A larger one shortens the chains of a big store but
	 * costs its size whether or not the store is big.
	 */
	{.name = "hash-size", .key = "hash-size", ARG("N"), .set = set_uint, FIELD(hash_size), .min = 1,
	 .max = 1u << 26, .def = "65521", .help = "tdb hash buckets for a new store"},
	{.name = "store-file", .key = "store-file", ARG("FILE"), .set = set_string, FIELD(store_file),
	 .help = "store location (default <rundir>/xenstore.tdb)"},
	{.name = "fresh-store", .key = "fresh-store", .set = set_bool, FIELD(fresh_store), .def = "no",
	 .help = "discard the tree kept from a previous run"},
	{.name = "hypervisor", .key = "hypervisor", ARG("KIND"), .set = set_choice, FIELD(hypervisor),
	 .choices = hypervisor_names, .def = "auto",
	 .help = "auto (Xen if present, else simulated), xen, sim, none"},
	{.name = "simhyp", .key = "simhyp", ARG("PATH"), .set = set_string, FIELD(simhyp_path),
	 .help = "the simulated hypervisor's socket (xs-simhyp; default <rundir>/simhyp)"},
	{.key = "conn-output-max", .param = "N", .set = set_uint, FIELD(conn_output_max), .min = 8192,
	 .max = 1ul << 30, .def = "1048576",
	 .help = "reply bytes queued for a connection before its requests wait"},
	{.key = "reply-reserve", .param = "N", .set = set_uint, FIELD(conn_reply_reserve),
	 .max = 65536, .def = "64",
	 .help = "replies of 4 KiB kept for when memory runs out (0 = none: the connection is dropped)"},
	{.key = "conn-max", .param = "N", .set = set_uint, FIELD(conn_max), .min = 1, .max = 1u << 20,
	 .def = "4096", .help = "socket connections served at once"},
	{.key = "fd-reserve", .param = "N", .set = set_uint, FIELD(fd_reserve), .max = 1024, .def = "8",
	 .help = "descriptors socket clients cannot take: kept for introducing domains"},
	{.key = "memory-budget", .param = "BYTES", .set = set_uint, .target = &quota_budget, .size = sizeof(quota_budget),
	 .max = 1ul << 48, .def = "536870912",
	 .help = "heap and store file together; past it changes fail with ENOMEM (0 = none)"},
	{.key = "memory-reserve", .param = "BYTES", .set = set_uint, .target = &quota_budget_reserve, .size = sizeof(quota_budget_reserve),
	 .max = 1ul << 40, .def = "33554432", .help = "of the budget, kept for the privileged domain"},
	{.key = "memory-emergency", .param = "BYTES", .set = set_uint, .target = &quota_emergency,
	 .size = sizeof(quota_emergency), .max = 1ul << 30, .def = "1048576",
	 .help = "heap held back, released when an allocation fails: new connections and clean-ups go on, unprivileged growth gets ENOMEM until memory is back (0 = none)"},
	{.key = "cleanup-slice-us", .param = "US", .set = set_uint, FIELD(cleanup_slice_us), .min = 100,
	 .max = 1000000, .def = "2000", .help = "work a gone domain's clean-up does per turn of the loop, other clients served in between"},
	{.key = "compact", .set = set_bool, FIELD(compact), .def = "yes",
	 .help = "give the room of deleted nodes back: rebuild the store file in slices once enough of it is free"},
	{.key = "compact-min-free", .param = "BYTES", .set = set_uint, FIELD(compact_min_free), .min = 1u << 20,
	 .max = 1ul << 48, .def = "16777216", .help = "free bytes in the store file before it is compacted"},
	{.key = "compact-min-percent", .param = "N", .set = set_uint, FIELD(compact_min_percent), .min = 1,
	 .max = 99, .def = "50", .help = "and the percentage of the file they must be (its recovery area aside)"},
	{.key = "compact-slice-us", .param = "US", .set = set_uint, FIELD(compact_slice_us), .min = 100,
	 .max = 1000000, .def = "2000", .help = "work a compaction does per turn of the loop, clients served in between"},
	{.key = "walk-slice-nodes", .param = "N", .set = set_uint, FIELD(walk_slice_nodes), .min = 1,
	 .max = 1000000, .def = "4096",
	 .help = "nodes the start-up walk tells the quota and regions indexes per turn of the loop; changes wait for its end, reads do not"},
	{.key = "ring-turn-us", .param = "US", .set = set_uint, FIELD(ring_turn_us), .min = 10,
	 .max = 1000000, .def = "500", .help = "work one guest's ring gets before the others their turn"},
	{.key = "txn-protect-after", .param = "N", .set = set_uint, FIELD(txn_protect_after), .max = 1000,
	 .def = "2", .help = "conflicts in a row before a privileged client's transactions are protected (0 = never)"},
	{.key = "txn-protect-ms", .param = "MS", .set = set_uint, FIELD(txn_protect_ms), .min = 1,
	 .max = 60000, .def = "500", .help = "longest an unprivileged write waits for a protected transaction"},
	{.name = "trace-control", .key = "trace-control", ARG("ARG"), COMPAT},
	{.name = "event", .key = "event", ARG("PORT"), COMPAT},
	{.name = "no-domain-init", .letter = 'D', .key = "no-domain-init", COMPAT},
	{.name = "no-recovery", .letter = 'R', .key = "no-recovery", COMPAT},
	{.name = "internal-db", .letter = 'I', .key = "internal-db", .has_arg = optional_argument, .param = "ARG",
	 COMPAT},
	{.name = "live-update", .letter = 'U', .set = set_bool, FIELD(live_update),
	 .help = "taking over by a live update (the old daemon passes it)"},
	{.name = "live-update-format", .set = set_bool, FIELD(live_update_format),
	 .help = "print the live-update hand-over format this binary reads, and exit"},
	{.name = "help", .letter = 'H', .at_once = true, .set = show_help, .help = "this text"},
	{.name = "version", .at_once = true, .set = show_version, .help = "print the version and exit"},
};

#define NOPTIONS (sizeof(config_options) / sizeof(config_options[0]))
const size_t config_noptions = NOPTIONS;

/* getopt's value for an option without a letter: past every char. */
#define LONG_ONLY 256

/* "-Q" for the -Q family, else the file key, else the option: what "bad value for" names. */
static void option_label(const struct config_option *o, char *buf, size_t size)
{
	if (o->key && !o->family)
		snprintf(buf, size, "%s", o->key);
	else if (o->letter)
		snprintf(buf, size, "-%c", o->letter);
	else
		snprintf(buf, size, "--%s", o->name);
}

/* An option's argument to its setter: "NAME=V" splits for a family, a no-argument option is "1". */
static enum config_set_result apply_option(const struct config_option *o, const char *arg)
{
	char name[64];
	const char *eq;

	if (o->has_arg == no_argument)
		return o->set(o, NULL, "1");
	if (!arg || !o->family)
		return o->set(o, NULL, arg);
	eq = strchr(arg, '=');
	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return SET_BAD;
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	return o->set(o, name, eq + 1);
}

/* The row of a file key: an exact key, else the longest family prefix (quota-soft- before quota-). */
static const struct config_option *find_key(const char *key, const char **name)
{
	const struct config_option *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];
		size_t len;

		if (!o->key)
			continue;
		len = strlen(o->key);
		if (!o->family && !strcmp(key, o->key)) {
			*name = NULL;
			return o;
		}
		if (o->family && !strncmp(key, o->key, len) && len > best_len) {
			best = o;
			best_len = len;
		}
	}
	*name = key + best_len;
	return best;
}

static int load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		log_warn("%s", path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *key, *val, *end;
		const struct config_option *o;
		const char *name;

		lineno++;
		p[strcspn(p, "#\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		key = p;
		val = strchr(p, '=');
		if (!val) {
			log_warnx("%s:%u: expected key = value", path, lineno);
			rc = -1;
			continue;
		}
		for (end = val; end > key && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		val++;
		while (*val == ' ' || *val == '\t')
			val++;
		for (end = val + strlen(val); end > val && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		o = find_key(key, &name);
		if (!o || o->set(o, name, val) != SET_OK) {
			log_warnx("%s:%u: bad setting %s = %s", path, lineno, key, val);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

/* "  -F, --pid-file FILE", and the file's "  pid-file = FILE": the left column of --help. */
static void option_spelling(const struct config_option *o, char *buf, size_t size)
{
	const char *param = o->param ? o->param : "";

	if (o->has_arg == optional_argument)
		snprintf(buf, size, "  %s%c%s--%s[=%s]", o->letter ? "-" : " ", o->letter ? o->letter : ' ',
			 o->letter ? ", " : "  ", o->name, param);
	else
		snprintf(buf, size, "  %s%c%s--%s%s%s%s%s", o->letter ? "-" : " ", o->letter ? o->letter : ' ',
			 o->letter ? ", " : "  ", o->name, o->has_arg == no_argument ? "" : " ",
			 o->family ? "NAME=" : "", o->prefix ? o->prefix : "",
			 o->has_arg == no_argument ? "" : param);
}

static void key_spelling(const struct config_option *o, char *buf, size_t size)
{
	char words[64] = "";

	if (o->set == set_bool)
		snprintf(words, sizeof(words), "yes|no");
	else if (o->choices)
		for (int i = 0; o->choices[i]; i++)
			snprintf(words + strlen(words), sizeof(words) - strlen(words), "%s%s", i ? "|" : "",
				 o->choices[i]);
	else
		snprintf(words, sizeof(words), "%s", o->param ? o->param : "ANY");
	snprintf(buf, size, "  %s%s = %s", o->key, o->family ? "NAME" : "", words);
}

/* One line of --help: the spelling, then the text at column 29 (or two spaces on). */
static void usage_line(FILE *out, const char *left, const char *text, const char *def)
{
	int len = (int)strlen(left);

	fprintf(out, "%-*s%s", len < 27 ? 29 : len + 2, left, text);
	if (def)
		fprintf(out, " (default %s)", def);
	fputc('\n', out);
}

void config_usage(FILE *out)
{
	char left[128], as[64];

	fprintf(out, "Usage: xenstored [options]\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];

		if (!o->name)
			continue;
		option_spelling(o, left, sizeof(left));
		usage_line(out, left, o->help, o->has_arg == no_argument ? NULL : o->def);
	}
	fprintf(out, "Configuration file (-c FILE): \"key = value\" lines, '#' comments; options win.\n");
	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];

		if (!o->key)
			continue;
		key_spelling(o, left, sizeof(left));
		if (o->letter)
			snprintf(as, sizeof(as), "as -%c", o->letter);
		else if (o->name)
			snprintf(as, sizeof(as), "as --%s", o->name);
		usage_line(out, left, o->name ? as : o->help, o->def);
	}
	fprintf(out, "Environment: XENSTORED_RUNDIR (default " DEFAULT_RUN_DIR "), XENSTORED_PATH (socket),\n"
		     "NOTIFY_SOCKET (READY=1 is sent there once the socket listens).\n");
}

/* Back to the defaults (config_load may run more than once, in tests). */
static void config_reset(void)
{
	memset(&cfg, 0, sizeof(cfg));
	conf_file = NULL;
	for (size_t i = 0; i < NOPTIONS; i++)
		if (config_options[i].def &&
		    config_options[i].set(&config_options[i], NULL, config_options[i].def) != SET_OK)
			fatalx("bad default for %s: %s", config_options[i].key, config_options[i].def);
}

/* The row getopt_long answered c for. */
static const struct config_option *option_of(int c)
{
	if (c >= LONG_ONLY)
		return &config_options[c - LONG_ONLY];
	for (size_t i = 0; i < NOPTIONS; i++)
		if (config_options[i].letter == c)
			return &config_options[i];
	return NULL;
}

/*
 * One pass over argv. The first (late = false) checks every option, runs
 * those that act at once (-c, --help) and finds stray arguments; the second,
 * after the file, applies the others in order, so that options win.
 */
static int parse_argv(int argc, char **argv, bool late)
{
	struct option longopts[NOPTIONS + 1];
	char shortopts[3 * NOPTIONS + 1], *s = shortopts;
	size_t nlong = 0;
	int c;

	for (size_t i = 0; i < NOPTIONS; i++) {
		const struct config_option *o = &config_options[i];

		if (o->name)
			longopts[nlong++] = (struct option){o->name, o->has_arg, NULL,
							    o->letter ? o->letter : LONG_ONLY + (int)i};
		if (!o->letter)
			continue;
		*s++ = o->letter;
		if (o->has_arg != no_argument)
			*s++ = ':';
		if (o->has_arg == optional_argument)
			*s++ = ':';
	}
	*s = '\0';
	longopts[nlong] = (struct option){NULL, 0, NULL, 0};
	optind = 0; /* glibc: start afresh */
	opterr = !late;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		const struct config_option *o = option_of(c);
		const char *arg = optarg;
		enum config_set_result r;
		char label[64];

		if (!o) {
			config_usage(stderr);
			return -1;
		}
		if (o->prefix) {
			if (strncmp(arg, o->prefix, strlen(o->prefix)) != 0) {
				log_warnx("--%s takes %s%s", o->name, o->prefix, o->param);
				return -1;
			}
			arg += strlen(o->prefix);
		}
		if (o->at_once == late)
			continue;
		r = apply_option(o, arg);
		if (r == SET_BAD) {
			option_label(o, label, sizeof(label));
			log_warnx("bad value for %s: %s", label, arg ? arg : "");
		}
		if (r != SET_OK)
			return r == SET_DONE ? 1 : -1;
	}
	if (optind < argc) {
		log_warnx("unexpected argument %s", argv[optind]);
		return -1;
	}
	return 0;
}

int config_load(int argc, char **argv)
{
	const char *env;
	int rc;

	config_reset();
	rc = parse_argv(argc, argv, false);
	if (rc != 0)
		return rc;
	if (conf_file && load_file(conf_file) < 0)
		return -1;
	rc = parse_argv(argc, argv, true);
	if (rc != 0)
		return rc;
	env = getenv("XENSTORED_RUNDIR");
	if (!copy_string(cfg.run_dir, sizeof(cfg.run_dir), env && *env ? env : DEFAULT_RUN_DIR)) {
		log_warnx("XENSTORED_RUNDIR is too long");
		return -1;
	}
	env = getenv("XENSTORED_PATH");
	if (env && *env) {
		if (!copy_string(cfg.socket_path, sizeof(cfg.socket_path), env)) {
			log_warnx("XENSTORED_PATH is too long");
			return -1;
		}
	} else if ((size_t)snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s/socket", cfg.run_dir) >=
		   sizeof(cfg.socket_path)) {
		log_warnx("XENSTORED_RUNDIR is too long");
		return -1;
	}
	if (!cfg.simhyp_path[0] &&
	    (size_t)snprintf(cfg.simhyp_path, sizeof(cfg.simhyp_path), "%s/simhyp", cfg.run_dir) >=
		    sizeof(cfg.simhyp_path)) {
		log_warnx("XENSTORED_RUNDIR is too long");
		return -1;
	}
	if (!cfg.store_file[0] &&
	    (size_t)snprintf(cfg.store_file, sizeof(cfg.store_file), "%s/xenstore.tdb", cfg.run_dir) >=
		    sizeof(cfg.store_file)) {
		log_warnx("XENSTORED_RUNDIR is too long");
		return -1;
	}
	return 0;
}
