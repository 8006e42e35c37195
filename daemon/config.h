/* Daemon settings: one table of options, from which argv parsing, the configuration file keys and --help all come. */
#ifndef XSD_CONFIG_H
#define XSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* What --version prints; a build may pass its own with -DVERSION='"..."'. */
#ifndef VERSION
#define VERSION "1.0"
#endif

struct config {
	bool no_fork;
	bool live_update;        /* -U: started by a live update, to take over from the hand-over file */
	bool live_update_format; /* --live-update-format: print the hand-over format read, and exit */
	bool output_pid;
	bool verbose;
	char pid_file[1024];
	char trace_file[1024];
	char socket_path[1024]; /* XENSTORED_PATH, else <rundir>/socket */
	char run_dir[1024];     /* XENSTORED_RUNDIR, else /var/run/xenstored */
	char store_file[1024];  /* default <rundir>/xenstore.tdb */
	char simhyp_path[1024]; /* the simulated hypervisor's socket, default <rundir>/simhyp */
	uint32_t master_domid;  /* the domain this daemon runs in */
	uint32_t priv_domid;    /* the privileged domain */
	unsigned hash_size;
	bool fresh_store;
	bool keep_orphans;
	unsigned watch_event_timeout; /* seconds, 0 = never */
	size_t conn_output_max;       /* queued reply bytes before a connection stops being read */
	unsigned conn_reply_reserve;  /* reply buffers kept for when the heap has no memory */
	unsigned conn_max;            /* socket connections accepted at once */
	unsigned fd_reserve;          /* descriptors kept back from accept for introducing domains */
	unsigned ring_turn_us;        /* microseconds of work per ring turn */
	unsigned cleanup_slice_us;    /* microseconds of clean-up work per turn of the loop */
	bool compact;                 /* give the room of deleted nodes back to the file system */
	uint64_t compact_min_free;    /* free bytes in the store file before it is compacted */
	unsigned compact_min_percent; /* and the part of the file they must be */
	unsigned compact_slice_us;    /* microseconds of compaction work per turn of the loop */
	unsigned walk_slice_nodes;    /* nodes of the start-up walk per turn of the loop */
	unsigned txn_protect_after;   /* privileged conflicts in a row before protection, 0 = never */
	unsigned txn_protect_ms;      /* how long a protected transaction holds writers back at most */
	int hypervisor;               /* enum domain_hyp_choice */
};

extern struct config cfg;

/* What a setter reports. */
enum config_set_result {
	SET_OK,
	SET_BAD,  /* the value is wrong: the caller names the setting and the value */
	SET_STOP, /* refused, the reason is logged: exit with an error */
	SET_DONE, /* --help, --version: exit successfully */
};

/*
 * One setting: a row of the table in config.c. A command-line option when it
 * has a name or a letter, a configuration file key when it has a key.
 */
struct config_option {
	const char *name;   /* --name; NULL: no long option */
	char letter;        /* -letter; 0: none */
	const char *key;    /* file key; NULL: command line only */
	bool family;        /* key is a prefix: "key<NAME> = V" in the file, "--name NAME=V" as option */
	bool at_once;       /* acts while argv is read (-c, --help), not after the file */
	int has_arg;        /* getopt's no_argument, required_argument, optional_argument */
	const char *param;  /* the argument in --help, "N", "FILE"; NULL: none */
	const char *prefix; /* the option's argument must start with this, stripped ("watch-event=") */
	enum config_set_result (*set)(const struct config_option *o, const char *name, const char *v);
	void *target;                /* the field set */
	size_t size;                 /* its size */
	unsigned long min, max;      /* bounds of a number */
	const char *const *choices;  /* the words of an enumeration, in the order of its values */
	const char *def;             /* default, set through the same parser before anything else */
	const char *help;
};

extern const struct config_option config_options[];
extern const size_t config_noptions;

/*
 * Reset the settings to their defaults, then parse argv (and the file named
 * by -c/--config-file), options winning over the file. Returns 0 to run, 1 to
 * exit successfully (--help, --version), -1 on error (message printed).
 * Can be called again (tests do): getopt restarts.
 */
int config_load(int argc, char **argv);

/* The --help text, made from the table. */
void config_usage(FILE *out);

#endif
