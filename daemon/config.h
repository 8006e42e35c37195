/* Daemon settings: command-line options and the configuration file, both mapped to one key table. */
#ifndef XSD_CONFIG_H
#define XSD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config {
	bool no_fork;
	bool output_pid;
	int verbose;
	char pid_file[1024];
	char trace_file[1024];
	char socket_path[1024]; /* XENSTORED_PATH, else <rundir>/socket */
	char run_dir[1024];     /* XENSTORED_RUNDIR, else /var/run/xenstored */
	char store_file[1024];  /* default <rundir>/xenstore.tdb */
	uint32_t master_domid;  /* the domain this daemon runs in */
	uint32_t priv_domid;    /* the privileged domain */
	unsigned hash_size;
	bool fresh_store;
	bool keep_orphans;
	unsigned watch_event_timeout; /* seconds, 0 = never */
	size_t conn_output_max;       /* queued reply bytes before a connection stops being read */
	unsigned conn_max;            /* socket connections accepted at once */
	int hypervisor;               /* enum domain_hyp_choice */
};

extern struct config cfg;

/*
 * Parse argv (and the file named by -c/--config-file), options winning over
 * the file. Returns 0 to run, 1 to exit successfully (--help), -1 on error
 * (message printed).
 */
int config_load(int argc, char **argv);

#endif
