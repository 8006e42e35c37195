/* Daemon settings: command-line options and the configuration file, both mapped to one key table. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "quota.h"

struct config cfg = {
	.run_dir = "/var/run/xenstored",
	/*
	 * 256 KiB of table, chains of about 15 records at a million nodes (1.5
	 * at 100,000). A larger table shortens them but costs its size whether
	 * or not the store is big: 262139 buckets took the per-node figure of
	 * the memory benchmark from 164 to 179 bytes here.
	 */
	.hash_size = 65521,
	.watch_event_timeout = 20,
	.conn_output_max = 1024 * 1024,
	.conn_max = 4096,
};

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

static bool set_string(char *dst, size_t size, const char *v)
{
	if (strlen(v) >= size)
		return false;
	strcpy(dst, v);
	return true;
}

static bool set_bool(bool *dst, const char *v)
{
	if (!strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on"))
		*dst = true;
	else if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off"))
		*dst = false;
	else
		return false;
	return true;
}

/* "name=value" for -Q/-q and the quota-* keys. */
static bool set_quota_pair(const char *pair, bool soft)
{
	char name[64];
	const char *eq = strchr(pair, '=');

	if (!eq || (size_t)(eq - pair) >= sizeof(name))
		return false;
	memcpy(name, pair, (size_t)(eq - pair));
	name[eq - pair] = '\0';
	return quota_set(name, eq + 1, soft);
}

/* Every setting, whether from the command line or the file, goes through here. */
static bool config_set(const char *key, const char *v)
{
	unsigned long n;

	if (!strcmp(key, "pid-file"))
		return set_string(cfg.pid_file, sizeof(cfg.pid_file), v);
	if (!strcmp(key, "trace-file"))
		return set_string(cfg.trace_file, sizeof(cfg.trace_file), v);
	if (!strcmp(key, "store-file"))
		return set_string(cfg.store_file, sizeof(cfg.store_file), v);
	if (!strcmp(key, "verbose")) {
		bool b;

		if (!set_bool(&b, v))
			return false;
		cfg.verbose = b;
		return true;
	}
	if (!strcmp(key, "keep-orphans"))
		return set_bool(&cfg.keep_orphans, v);
	if (!strcmp(key, "fresh-store"))
		return set_bool(&cfg.fresh_store, v);
	if (!strcmp(key, "master-domid") && parse_uint(v, 0x7fef, &n))
		return cfg.master_domid = (uint32_t)n, true;
	if (!strcmp(key, "priv-domid") && parse_uint(v, 0x7fef, &n))
		return cfg.priv_domid = (uint32_t)n, true;
	if (!strcmp(key, "hash-size") && parse_uint(v, 1u << 26, &n) && n > 0)
		return cfg.hash_size = (unsigned)n, true;
	if (!strcmp(key, "watch-event-timeout") && parse_uint(v, 86400, &n))
		return cfg.watch_event_timeout = (unsigned)n, true;
	if (!strcmp(key, "conn-output-max") && parse_uint(v, 1ul << 30, &n) && n >= 8192)
		return cfg.conn_output_max = n, true;
	if (!strcmp(key, "conn-max") && parse_uint(v, 1u << 20, &n) && n > 0)
		return cfg.conn_max = (unsigned)n, true;
	if (!strcmp(key, "hypervisor")) {
		static const char *const names[] = {"auto", "xen", "sim", "none"};

		for (int i = 0; i < 4; i++)
			if (!strcmp(v, names[i]))
				return cfg.hypervisor = i, true;
		return false;
	}
	if (!strncmp(key, "quota-soft-", 11))
		return quota_set(key + 11, v, true);
	if (!strncmp(key, "quota-", 6))
		return quota_set(key + 6, v, false);
	/* Accepted for compatibility with the C daemon's options, no effect here. */
	if (!strcmp(key, "trace-control") || !strcmp(key, "event") ||
	    !strcmp(key, "no-domain-init") || !strcmp(key, "no-recovery") ||
	    !strcmp(key, "internal-db"))
		return true;
	return false;
}

static int load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	unsigned lineno = 0;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "xenstored: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *key, *val, *end;

		lineno++;
		p[strcspn(p, "#\n")] = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		key = p;
		val = strchr(p, '=');
		if (!val) {
			fprintf(stderr, "xenstored: %s:%u: expected key = value\n", path, lineno);
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
		if (!config_set(key, val)) {
			fprintf(stderr, "xenstored: %s:%u: bad setting %s = %s\n", path, lineno, key, val);
			rc = -1;
		}
	}
	fclose(f);
	return rc;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: xenstored [options]\n"
		"  -N, --no-fork              stay in the foreground\n"
		"  -F, --pid-file FILE        write the pid to FILE (locked; a second instance exits)\n"
		"  -P, --output-pid           print the pid on stdout\n"
		"  -T, --trace-file FILE      trace requests to FILE (SIGHUP reopens it)\n"
		"  -V, --verbose              log more\n"
		"  -c, --config-file FILE     read settings from FILE (options win)\n"
		"  -E, --entry-nb N           quota: nodes per domain\n"
		"  -S, --entry-size N         quota: bytes per node\n"
		"  -W, --watch-nb N           quota: watches per domain\n"
		"  -t, --transaction N        quota: transactions per domain\n"
		"  -A, --perm-nb N            quota: permission entries per node\n"
		"  -M, --path-max N           quota: path length below a domain home (<= 2048)\n"
		"  -Q, --quota NAME=N         any hard quota by name\n"
		"  -q, --quota-soft NAME=N    soft quota (memory only)\n"
		"  -w, --timeout watch-event=N  drop undelivered watch events after N s (0 = never)\n"
		"  -K, --keep-orphans         give a dead domain's nodes to the privileged domain\n"
		"      --master-domid N       domain this daemon runs in (default 0)\n"
		"      --priv-domid N         privileged domain (default 0)\n"
		"      --hash-size N          tdb hash buckets for a new store\n"
		"      --store-file FILE      store location (default <rundir>/xenstore.tdb)\n"
		"      --fresh-store          discard the tree kept from a previous run\n"
		"      --hypervisor KIND      auto (Xen if present, else simulated), xen, sim, none\n"
		"  -H, --help                 this text\n"
		"Environment: XENSTORED_RUNDIR (default /var/run/xenstored), XENSTORED_PATH (socket).\n");
}

int config_load(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"no-fork", no_argument, NULL, 'N'},
		{"pid-file", required_argument, NULL, 'F'},
		{"output-pid", no_argument, NULL, 'P'},
		{"trace-file", required_argument, NULL, 'T'},
		{"trace-control", required_argument, NULL, 1000},
		{"verbose", no_argument, NULL, 'V'},
		{"config-file", required_argument, NULL, 'c'},
		{"entry-nb", required_argument, NULL, 'E'},
		{"entry-size", required_argument, NULL, 'S'},
		{"watch-nb", required_argument, NULL, 'W'},
		{"transaction", required_argument, NULL, 't'},
		{"perm-nb", required_argument, NULL, 'A'},
		{"path-max", required_argument, NULL, 'M'},
		{"quota", required_argument, NULL, 'Q'},
		{"quota-soft", required_argument, NULL, 'q'},
		{"timeout", required_argument, NULL, 'w'},
		{"keep-orphans", no_argument, NULL, 'K'},
		{"master-domid", required_argument, NULL, 1001},
		{"priv-domid", required_argument, NULL, 1002},
		{"event", required_argument, NULL, 1003},
		{"hash-size", required_argument, NULL, 1004},
		{"store-file", required_argument, NULL, 1005},
		{"fresh-store", no_argument, NULL, 1006},
		{"hypervisor", required_argument, NULL, 1007},
		{"no-domain-init", no_argument, NULL, 'D'},
		{"no-recovery", no_argument, NULL, 'R'},
		{"internal-db", optional_argument, NULL, 'I'},
		{"live-update", no_argument, NULL, 'U'},
		{"help", no_argument, NULL, 'H'},
		{NULL, 0, NULL, 0},
	};
	/* Options are collected as key/value pairs and applied after the file. */
	struct {
		const char *key;
		const char *val;
		bool soft_pair, hard_pair;
	} opts[256];
	unsigned nopts = 0;
	const char *file = NULL;
	const char *env;
	int c;

	while ((c = getopt_long(argc, argv, "NF:PT:Vc:E:S:W:t:A:M:Q:q:w:KDRI::UH", longopts, NULL)) != -1) {
		const char *key = NULL, *val = optarg;
		bool soft = false, hard = false;

		switch (c) {
		case 'N': cfg.no_fork = true; continue;
		case 'P': cfg.output_pid = true; continue;
		case 'V': key = "verbose"; val = "1"; break;
		case 'K': key = "keep-orphans"; val = "1"; break;
		case 'F': key = "pid-file"; break;
		case 'T': key = "trace-file"; break;
		case 'c': file = optarg; continue;
		case 'E': key = "quota-nodes"; break;
		case 'S': key = "quota-node-size"; break;
		case 'W': key = "quota-watches"; break;
		case 't': key = "quota-transactions"; break;
		case 'A': key = "quota-node-permissions"; break;
		case 'M': key = "quota-path-max"; break;
		case 'Q': hard = true; key = "-Q"; break;
		case 'q': soft = true; key = "-q"; break;
		case 'w':
			if (strncmp(optarg, "watch-event=", 12) != 0) {
				fprintf(stderr, "xenstored: --timeout takes watch-event=N\n");
				return -1;
			}
			key = "watch-event-timeout";
			val = optarg + 12;
			break;
		case 1000: key = "trace-control"; break;
		case 1001: key = "master-domid"; break;
		case 1002: key = "priv-domid"; break;
		case 1003: key = "event"; break;
		case 1004: key = "hash-size"; break;
		case 1005: key = "store-file"; break;
		case 1006: key = "fresh-store"; val = "1"; break;
		case 1007: key = "hypervisor"; break;
		case 'D': case 'R': case 'I': continue;
		case 'U':
			fprintf(stderr, "xenstored: live update is not supported\n");
			return -1;
		case 'H': usage(stdout); return 1;
		default: usage(stderr); return -1;
		}
		if (nopts == sizeof(opts) / sizeof(opts[0])) {
			fprintf(stderr, "xenstored: too many options\n");
			return -1;
		}
		opts[nopts].key = key;
		opts[nopts].val = val;
		opts[nopts].soft_pair = soft;
		opts[nopts].hard_pair = hard;
		nopts++;
	}
	if (optind < argc) {
		fprintf(stderr, "xenstored: unexpected argument %s\n", argv[optind]);
		return -1;
	}
	if (file && load_file(file) < 0)
		return -1;
	for (unsigned i = 0; i < nopts; i++) {
		bool ok = opts[i].soft_pair || opts[i].hard_pair
				  ? set_quota_pair(opts[i].val, opts[i].soft_pair)
				  : config_set(opts[i].key, opts[i].val);

		if (!ok) {
			fprintf(stderr, "xenstored: bad value for %s: %s\n", opts[i].key, opts[i].val);
			return -1;
		}
	}
	env = getenv("XENSTORED_RUNDIR");
	if (env && *env && !set_string(cfg.run_dir, sizeof(cfg.run_dir), env))
		return -1;
	env = getenv("XENSTORED_PATH");
	if (env && *env) {
		if (!set_string(cfg.socket_path, sizeof(cfg.socket_path), env))
			return -1;
	} else if ((size_t)snprintf(cfg.socket_path, sizeof(cfg.socket_path), "%s/socket",
				    cfg.run_dir) >= sizeof(cfg.socket_path)) {
		return -1;
	}
	if (!cfg.store_file[0] &&
	    (size_t)snprintf(cfg.store_file, sizeof(cfg.store_file), "%s/xenstore.tdb", cfg.run_dir) >=
		    sizeof(cfg.store_file))
		return -1;
	return 0;
}
