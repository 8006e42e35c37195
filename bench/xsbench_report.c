/* xsbench's figures: what each workload group measures, its title, and the table, summary lines and targets printed from them. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bench/xsbench.h"

/* ---------------------------------------------------------------- figures */

struct xsb_fig xsb_figs[F_COUNT] = {
	[F_WRITE_SERIAL] = {"write_serial", "op/s", 0, G_SERIAL, "", {0}, {0}, {{0}}},
	[F_READ_SERIAL] = {"read_serial", "op/s", 0, G_SERIAL, "", {0}, {0}, {{0}}},
	[F_DIR_SERIAL] = {"dir100_serial", "op/s", 0, G_SERIAL, "", {0}, {0}, {{0}}},
	[F_DIRPART] = {"dirpart_list", "list/s", 0, G_DIRPART, "", {0}, {0}, {{0}}},
	[F_CREATE_EMPTY] = {"create_empty_dir", "op/s", 0, G_BIGDIR, "", {0}, {0}, {{0}}},
	[F_CREATE_BIG] = {"create_big_dir", "op/s", 0, G_BIGDIR, "", {0}, {0}, {{0}}},
	[F_CREATE_RATIO] = {"create_big_over_empty", "ratio", 0, G_BIGDIR, "", {0}, {0}, {{0}}},
	[F_PIPE_READ] = {"pipe32_read", "op/s", 0, G_PIPE, "", {0}, {0}, {{0}}},
	[F_PIPE_WRITE] = {"pipe32_write", "op/s", 0, G_PIPE, "", {0}, {0}, {{0}}},
	[F_CONC_WRITE] = {"conc16_write", "op/s", 0, G_CONC, "", {0}, {0}, {{0}}},
	[F_CONC_READ] = {"conc16_read", "op/s", 0, G_CONC, "", {0}, {0}, {{0}}},
	[F_CPU_READ] = {"cpu_read", "us/req", 1, G_CPU, "", {0}, {0}, {{0}}},
	[F_CPU_WRITE] = {"cpu_write", "us/req", 1, G_CPU, "", {0}, {0}, {{0}}},
	[F_CPU_DIR] = {"cpu_dir100", "us/req", 1, G_CPU, "", {0}, {0}, {{0}}},
	[F_MEM_RSS_BEFORE] = {"mem_rss_before", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_RSS_AFTER] = {"mem_rss_after", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_FILE] = {"mem_tdb_file", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_DELTA] = {"mem_delta_rss_plus_file", "KiB", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_PER_NODE] = {"mem_per_node", "B/node", 1, G_MEM, "", {0}, {0}, {{0}}},
	[F_MEM_ANON_PER_NODE] = {"mem_anon_plus_file_per_node", "B/node", 1, G_MEM, "", {0}, {0},
				 {{0}}},
	[F_WATCH_SERIAL] = {"watch_serial", "ev/s", 0, G_WATCH, "", {0}, {0}, {{0}}},
	[F_WATCH_LAT_MED] = {"watch_latency_median", "us", 1, G_WATCH, "", {0}, {0}, {{0}}},
	[F_WATCH_LAT_P99] = {"watch_latency_p99", "us", 1, G_WATCH, "", {0}, {0}, {{0}}},
	[F_WATCH_PIPE] = {"watch_pipe_events", "ev/s", 0, G_WATCH, "", {0}, {0}, {{0}}},
	[F_CPU_WATCH] = {"cpu_write_event", "us/ev", 1, G_WATCH, "", {0}, {0}, {{0}}},
	[F_FAN_WATCHERS] = {"fanout_watchers", "conns", 0, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_FAN_TIME_MED] = {"fanout_time_median", "us", 1, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_FAN_RATE] = {"fanout_writes", "write/s", 0, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_CPU_FAN] = {"cpu_fanout_event", "us/ev", 1, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_CLI_FAN] = {"client_cpu_fanout_write", "us/wr", 1, G_FANOUT, "", {0}, {0}, {{0}}},
	[F_WL_REGISTER] = {"watch_register", "watch/s", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_WL_NONE] = {"write_no_watches", "op/s", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_WL_LOADED] = {"write_many_watches", "op/s", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_WL_RATIO] = {"write_many_over_none", "ratio", 0, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_CPU_WL_NONE] = {"cpu_write_no_watches", "us/req", 1, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_CPU_WL_LOADED] = {"cpu_write_many_watches", "us/req", 1, G_WLOAD, "", {0}, {0}, {{0}}},
	[F_TXN_SERIAL] = {"txn10_serial", "txn/s", 0, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_SERIAL_BIG] = {"txn10_serial_big_store", "txn/s", 0, G_TXN, "", {0}, {0}, {{0}}},
	[F_CPU_TXN_BIG] = {"cpu_txn10_big_store", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_SERIAL_EAGAIN] = {"txn10_serial_eagain", "count", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_FLOOR_PAIRED] = {"txn10_serial_over_floor_paired", "ratio", 0, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_FLOOR_BEYOND] = {"txn10_serial_beyond_floor", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_FLOOR_ROOM] = {"txn10_serial_floor_room", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_CONC_FLOOR_PAIRED] = {"txn10_conc16_over_floor_paired", "ratio", 0, G_TXNCONC, "", {0}, {0},
				     {{0}}},
	[F_CPU_TXN] = {"cpu_txn10", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_CLI_TXN] = {"client_cpu_txn10", "us/txn", 1, G_TXN, "", {0}, {0}, {{0}}},
	[F_TXN_CONC] = {"txn10_conc16", "txn/s", 0, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_TXN_CONC_EAGAIN] = {"txn10_conc16_eagain", "count", 1, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_CPU_TXN_CONC] = {"cpu_txn10_conc16", "us/txn", 1, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_CLI_TXN_CONC] = {"client_cpu_txn10_conc16", "us/txn", 1, G_TXNCONC, "", {0}, {0}, {{0}}},
	[F_DS_CREATE] = {"domstorm_register", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_STORM] = {"domstorm_time", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_TOOLSTACK] = {"domstorm_toolstack_time", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_HS_P50] = {"domstorm_handshake_p50", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_HS_P99] = {"domstorm_handshake_p99", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_IDLE] = {"domstorm_dom0_read_idle_p50", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_P50] = {"domstorm_dom0_read_p50", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_P99] = {"domstorm_dom0_read_p99", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_LAT_MAX] = {"domstorm_dom0_read_max", "us", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_CPU] = {"domstorm_cpu_per_domain", "us/dom", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_CPU_REQ] = {"domstorm_cpu_per_request", "us/req", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_MEM] = {"domstorm_mem_per_domain", "KiB/dom", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_MEM_ANON] = {"domstorm_anon_mem_per_domain", "KiB/dom", 1, G_DOMSTORM, "", {0}, {0},
			   {{0}}},
	[F_DS_DESTROY_ONE] = {"domstorm_destroy_one", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_DESTROY] = {"domstorm_destroy", "ms", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DS_DESTROY_P99] = {"domstorm_destroy_dom0_read_p99", "us", 1, G_DOMSTORM, "", {0}, {0},
			      {{0}}},
	[F_DS_LEAK] = {"domstorm_nodes_leaked", "count", 1, G_DOMSTORM, "", {0}, {0}, {{0}}},
	[F_DC_TIME] = {"domcreate_time", "ms", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	[F_DC_CPU] = {"domcreate_cpu_per_domain", "us/dom", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	[F_DC_LAT_P99] = {"domcreate_dom0_read_p99", "us", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	[F_DC_MEM] = {"domcreate_mem_per_domain", "KiB/dom", 1, G_DOMCREATE, "", {0}, {0}, {{0}}},
	/* F_ATK_FIRST..F_ATK_LAST: xsb_atk_figs_init. */
	[F_ATK_TRIES_MED] = {"atk_xsa206_dom0_txn_attempts_median", "count", 1, G_ATTACKS, "", {0},
			     {0}, {{0}}},
	[F_ATK_TRIES_MAX] = {"atk_xsa206_dom0_txn_attempts_max", "count", 1, G_ATTACKS, "", {0}, {0},
			     {{0}}},
	[F_ATK_CPU] = {"atk_cpu_per_request_accounted", "us/req", 1, G_ATTACKS, "", {0}, {0}, {{0}}},
	[F_ATK_CPU_BEFORE] = {"atk_cpu_per_request_baseline", "us/req", 1, G_ATTACKS, "", {0}, {0},
			      {{0}}},
	[F_ATK_CPU_RATIO] = {"atk_cpu_accounted_over_baseline", "ratio", 1, G_ATTACKS, "", {0}, {0},
			     {{0}}},
	[F_CL_SOCK_1] = {"xsl_socket_inflight1", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_SOCK_8] = {"xsl_socket_inflight8", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_SOCK_32] = {"xsl_socket_inflight32", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_RING_1] = {"xsl_ring_inflight1", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_RING_8] = {"xsl_ring_inflight8", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_RING_32] = {"xsl_ring_inflight32", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_LIBXS] = {"libxenstore_serial", "op/s", 0, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_RING_OVER_LIBXS] = {"xsl_ring32_over_libxenstore", "ratio", 0, G_CLIENT, "", {0}, {0},
				  {{0}}},
	[F_CL_CPU_SOCK] = {"cpu_xsl_socket_inflight32", "us/req", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_CPU_RING] = {"cpu_xsl_ring_inflight32", "us/req", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_CPU_LIBXS] = {"cpu_libxenstore_serial", "us/req", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_CPU_RING_OVER_SOCK] = {"cpu_xsl_ring_over_socket", "ratio", 1, G_CLIENT, "", {0}, {0},
				     {{0}}},
	[F_CL_WATCH_SOCK_MED] = {"xsl_watch_socket_median", "us", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_WATCH_SOCK_P99] = {"xsl_watch_socket_p99", "us", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_WATCH_RING_MED] = {"xsl_watch_ring_median", "us", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_CL_WATCH_RING_P99] = {"xsl_watch_ring_p99", "us", 1, G_CLIENT, "", {0}, {0}, {{0}}},
	[F_RC_NODES] = {"recovery_store_nodes", "count", 0, G_RECOVERY, "", {0}, {0}, {{0}}},
	[F_RC_BUILD] = {"recovery_build_time", "s", 1, G_RECOVERY, "", {0}, {0}, {{0}}},
	[F_RC_FILE] = {"recovery_store_file", "KiB", 1, G_RECOVERY, "", {0}, {0}, {{0}}},
	[F_RC_RM] = {"recovery_rm_third_time", "ms", 1, G_RECOVERY, "", {0}, {0}, {{0}}},
	[F_RC_RM_HWM] = {"recovery_rm_third_hwm_growth", "ratio", 1, G_RECOVERY, "", {0}, {0}, {{0}}},
	/* F_RC_FIRST..F_RC_LAST: xsb_rc_figs_init. */
	[F_LU_NODES] = {"liveupdate_store_nodes", "count", 0, G_LIVEUPDATE, "", {0}, {0}, {{0}}},
	[F_LU_GUESTS] = {"liveupdate_guests", "count", 0, G_LIVEUPDATE, "", {0}, {0}, {{0}}},
	[F_LU_TIME] = {"liveupdate_time", "ms", 1, G_LIVEUPDATE, "", {0}, {0}, {{0}}},
	[F_LU_WALK] = {"liveupdate_walk_after", "ms", 1, G_LIVEUPDATE, "", {0}, {0}, {{0}}},
	[F_LU_READ_MAX] = {"liveupdate_dom0_read_max", "ms", 1, G_LIVEUPDATE, "", {0}, {0}, {{0}}},
	[F_LU_READ_WORST] = {"liveupdate_dom0_read_max_worst", "ms", 1, G_LIVEUPDATE, "", {0}, {0},
			     {{0}}},
	[F_LU_W_READ_MAX] = {"liveupdate_writer_dom0_read_max", "ms", 1, G_LIVEUPDATE, "", {0}, {0},
			     {{0}}},
	[F_LU_W_READ_WORST] = {"liveupdate_writer_dom0_read_max_worst", "ms", 1, G_LIVEUPDATE, "",
			       {0}, {0}, {{0}}},
	[F_LU_W_WRITE_MAX] = {"liveupdate_writer_dom0_write_max", "ms", 1, G_LIVEUPDATE, "", {0},
			      {0}, {{0}}},
};

void xsb_fig_set(enum xsb_fig_id f, int dk, double v)
{
	xsb_figs[f].v[dk] = v;
	xsb_figs[f].st[dk] = ST_OK;
}

void xsb_fig_state(enum xsb_fig_id f, int dk, enum xsb_fst st, const char *note)
{
	size_t n = note ? strnlen(note, sizeof(xsb_figs[f].note[dk]) - 1) : 0;

	xsb_figs[f].st[dk] = st;
	/* Notes are shown in a table: a long one is cut. */
	memcpy(xsb_figs[f].note[dk], note ? note : "", n);
	xsb_figs[f].note[dk][n] = '\0';
}

void xsb_set_titles(void)
{
	static const struct {
		enum xsb_fig_id f;
		const char *fmt;
		unsigned n;
	} t[] = {
		{F_WRITE_SERIAL, "serial WRITE of %u new nodes", 10000},
		{F_READ_SERIAL, "serial READ of %u nodes", 10000},
		{F_DIR_SERIAL, "serial DIRECTORY, 100 children (x%u)", 10000},
		{F_DIRPART, "DIRECTORY_PART full listing of %u entries", 10000},
		{F_CREATE_EMPTY, "creates into an empty dir (%u per round)", 1000},
		{F_CREATE_BIG, "creates into a %u-entry dir (pipelined)", 10000},
		{F_CREATE_RATIO, "creates: big-dir rate / empty-dir rate", 0},
		{F_PIPE_READ, "pipelined READ, 32 in flight (x%u)", 100000},
		{F_PIPE_WRITE, "pipelined WRITE, 32 in flight (x%u)", 100000},
		{F_CONC_WRITE, "16 connections, WRITEs (x%u)", 48000},
		{F_CONC_READ, "16 connections, READs (x%u)", 48000},
		{F_CPU_READ, "daemon CPU per READ", 0},
		{F_CPU_WRITE, "daemon CPU per WRITE (overwrite)", 0},
		{F_CPU_DIR, "daemon CPU per DIRECTORY (100 children)", 0},
		{F_MEM_RSS_BEFORE, "RSS before loading %u nodes (64 B values)", 100000},
		{F_MEM_RSS_AFTER, "  RSS after loading them", 0},
		{F_MEM_FILE, "  tdb file in run dir after loading", 0},
		{F_MEM_DELTA, "  RSS+tdb growth for the nodes", 0},
		{F_MEM_PER_NODE, "  RSS+tdb growth per node", 0},
		{F_MEM_ANON_PER_NODE, "  anon RSS+tdb growth per node", 0},
		{F_WATCH_SERIAL, "watch: serial write->event (x%u)", 10000},
		{F_WATCH_LAT_MED, "  write sent -> event received, median", 0},
		{F_WATCH_LAT_P99, "  write sent -> event received, p99", 0},
		{F_WATCH_PIPE, "watch: pipelined write->event (x%u)", 100000},
		{F_CPU_WATCH, "  daemon CPU per pipelined write+event", 0},
		{F_FAN_WATCHERS, "fan-out: watcher connections (of %u)", 1000},
		{F_FAN_TIME_MED, "  one write -> all events in, median", 0},
		{F_FAN_RATE, "  serial fan-out writes (x%u)", 200},
		{F_CPU_FAN, "  daemon CPU per delivered event", 0},
		{F_CLI_FAN, "  client CPU per fan-out write", 0},
		{F_WL_REGISTER, "register %u watches on 100 conns", 100000},
		{F_WL_NONE, "pipelined WRITE, no watches", 0},
		{F_WL_LOADED, "pipelined WRITE, %u unrelated watches", 100000},
		{F_WL_RATIO, "  rate with watches / rate without", 0},
		{F_CPU_WL_NONE, "daemon CPU per WRITE, no watches", 0},
		{F_CPU_WL_LOADED, "daemon CPU per WRITE, %u watches", 100000},
		{F_TXN_SERIAL, "serial transactions of 10 WRITEs (x%u)", 2000},
		{F_TXN_SERIAL_EAGAIN, "  EAGAIN retries, all reps", 0},
		{F_CPU_TXN, "  daemon CPU per transaction", 0},
		{F_CLI_TXN, "  client CPU per transaction", 0},
		{F_TXN_FLOOR_PAIRED, "  ours / floor, rounds taken in turn (median)", 0},
		{F_TXN_FLOOR_BEYOND, "  time beyond the floor's, same rounds (median)", 0},
		{F_TXN_FLOOR_ROOM, "  time beyond the floor's that 0.9 of it allows", 0},
		{F_TXN_SERIAL_BIG, "  the same with 100000 more nodes stored", 0},
		{F_CPU_TXN_BIG, "  daemon CPU per transaction, 100000 more nodes", 0},
		{F_TXN_CONC, "16 conns, 10-WRITE transactions (x%u)", 4800},
		{F_TXN_CONC_EAGAIN, "  EAGAIN retries, all reps", 0},
		{F_CPU_TXN_CONC, "  daemon CPU per transaction", 0},
		{F_CLI_TXN_CONC, "  client CPU per transaction (all 16)", 0},
		{F_TXN_CONC_FLOOR_PAIRED, "  ours / floor, rounds taken in turn (median)", 0},
		{F_DS_CREATE, "sim. hypervisor: create %u domains", 1000},
		{F_DS_STORM, "storm: %u domains introduced + vif up", 1000},
		{F_DS_TOOLSTACK, "  of which toolstack (last INTRODUCE)", 0},
		{F_DS_HS_P50, "  per domain INTRODUCE -> connected, p50", 0},
		{F_DS_HS_P99, "  per domain INTRODUCE -> connected, p99", 0},
		{F_DS_LAT_IDLE, "  dom0 READ every 1 ms, no storm, p50", 0},
		{F_DS_LAT_P50, "  dom0 READ every 1 ms in the storm, p50", 0},
		{F_DS_LAT_P99, "  dom0 READ every 1 ms in the storm, p99", 0},
		{F_DS_LAT_MAX, "  dom0 READ every 1 ms in the storm, max", 0},
		{F_DS_CPU, "  daemon CPU per domain (storm)", 0},
		{F_DS_CPU_REQ, "  daemon CPU per request (storm)", 0},
		{F_DS_MEM, "  RSS+tdb growth per live domain", 0},
		{F_DS_MEM_ANON, "  anon RSS+tdb growth per live domain", 0},
		{F_DS_DESTROY_ONE, "destroy one of them: death -> @releaseDomain", 0},
		{F_DS_DESTROY, "destroy the others (/local/domain as before)", 1000},
		{F_DS_DESTROY_P99, "  dom0 READ every 1 ms meanwhile, p99", 0},
		{F_DS_LEAK, "  nodes left after backend clean-up", 0},
		{F_DC_TIME, "dom0 side of %u creations (socket)", 1000},
		{F_DC_CPU, "  daemon CPU per domain", 0},
		{F_DC_LAT_P99, "  dom0 READ every 1 ms meanwhile, p99", 0},
		{F_DC_MEM, "  RSS+tdb growth per introduced domain", 0},
		{F_ATK_TRIES_MED, "  dom0 transaction's attempts to commit, median", 0},
		{F_ATK_TRIES_MAX, "  dom0 transaction's attempts to commit, max", 0},
		{F_ATK_CPU, "accounted requests: daemon CPU per request", 0},
		{F_ATK_CPU_BEFORE, "  the same on --baseline (before accounting)", 0},
		{F_ATK_CPU_RATIO, "  accounted / baseline", 0},
		{F_CL_SOCK_1, "xsl socket, 1 in flight (x%u)", 20000},
		{F_CL_SOCK_8, "xsl socket, 8 in flight", 0},
		{F_CL_SOCK_32, "xsl socket, 32 in flight (lib sends <= 19)", 0},
		{F_CL_RING_1, "xsl guest ring, 1 in flight", 0},
		{F_CL_RING_8, "xsl guest ring, 8 in flight", 0},
		{F_CL_RING_32, "xsl guest ring, 32 in flight (lib sends <= 19)", 0},
		{F_CL_LIBXS, "Debian libxenstore socket, one at a time", 0},
		{F_CL_RING_OVER_LIBXS, "  xsl ring 32 in flight / libxenstore", 0},
		{F_CL_CPU_SOCK, "daemon CPU per request, xsl socket 32", 0},
		{F_CL_CPU_RING, "daemon CPU per request, xsl ring 32", 0},
		{F_CL_CPU_LIBXS, "daemon CPU per request, libxenstore", 0},
		{F_CL_CPU_RING_OVER_SOCK, "  ring / socket", 0},
		{F_CL_WATCH_SOCK_MED, "xsl socket: write -> watch callback, median", 0},
		{F_CL_WATCH_SOCK_P99, "xsl socket: write -> watch callback, p99", 0},
		{F_CL_WATCH_RING_MED, "xsl ring: write -> watch callback, median", 0},
		{F_CL_WATCH_RING_P99, "xsl ring: write -> watch callback, p99", 0},
		{F_RC_NODES, "recovery: nodes in the store (~%u)", 1000000},
		{F_RC_BUILD, "  built by our daemon, 4 conns pipelined", 0},
		{F_RC_FILE, "  store file after a clean stop", 0},
		{F_RC_RM, "  RM of the backends (about a third), alone", 0},
		{F_RC_RM_HWM, "  daemon's VmHWM after the RM / before", 0},
		{F_LU_NODES, "live update: nodes in the store (~%u)", 1000000},
		{F_LU_GUESTS, "  guests attached (ours: live rings)", 0},
		{F_LU_TIME, "  -s sent -> OK from the new binary, median", 0},
		{F_LU_WALK, "  then the walk telling the indexes, median", 0},
		{F_LU_READ_MAX, "  longest dom0 READ (1 a ms) in it, median", 0},
		{F_LU_READ_WORST, "  longest dom0 READ in it, worst update", 0},
		{F_LU_W_READ_MAX, "  with a dom0 writer: longest READ, median", 0},
		{F_LU_W_READ_WORST, "  with a dom0 writer: longest READ, worst", 0},
		{F_LU_W_WRITE_MAX, "  with a dom0 writer: longest WRITE, median", 0},
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		/* The domain groups count --domains, not their own constant. */
		unsigned n = t[i].f >= F_DS_CREATE && t[i].f <= F_DC_MEM ? xsb_opt.domains : t[i].n;

		snprintf(xsb_figs[t[i].f].title, sizeof(xsb_figs[t[i].f].title), t[i].fmt,
			 xsb_scaled(n));
	}
	xsb_atk_figs_init();
	xsb_rc_figs_init();
}

/* ---------------------------------------------------------------- report */

static void fmt_val(char *buf, size_t size, const struct xsb_fig *f, int dk)
{
	switch (f->st[dk]) {
	case ST_OK:
		if (f->v[dk] >= 1000 || strcmp(f->unit, "KiB") == 0 ||
		    strcmp(f->unit, "count") == 0 || strcmp(f->unit, "conns") == 0)
			snprintf(buf, size, "%.0f", f->v[dk]);
		else if (f->v[dk] >= 10)
			snprintf(buf, size, "%.1f", f->v[dk]);
		else if (f->v[dk] > 0 && f->v[dk] < 0.1)
			snprintf(buf, size, "%.2g", f->v[dk]); /* a tiny value, not "0.00" */
		else
			snprintf(buf, size, "%.2f", f->v[dk]);
		break;
	case ST_NA:
		snprintf(buf, size, "n/a");
		break;
	case ST_MISSING:
		snprintf(buf, size, "missing");
		break;
	case ST_ERROR:
		snprintf(buf, size, "error");
		break;
	case ST_UNSET:
		snprintf(buf, size, "-");
		break;
	}
}

static int ratio_of(const struct xsb_fig *f, int dk, int ref, double *r)
{
	if (f->st[dk] != ST_OK || f->st[ref] != ST_OK || f->v[ref] == 0)
		return 0;
	*r = f->v[dk] / f->v[ref];
	return 1;
}

static int ratio(const struct xsb_fig *f, int ref, double *r)
{
	return ratio_of(f, D_OURS, ref, r);
}

void xsb_print_table(void)
{
	int show_ratio_c = xsb_opt.use[D_OURS] && xsb_opt.use[D_C];
	int show_ratio_ox = xsb_opt.use[D_OURS] && xsb_opt.use[D_OX];
	int show_floor = xsb_opt.use[D_FLOOR] && xsb_opt.use[D_C];

	printf("\n%-46s %-7s %-2s", "workload", "unit", "");
	for (int k = 0; k < D_N; k++)
		if (xsb_opt.use[k])
			printf(" %10s", xsb_dk_col[k]);
	if (show_ratio_c)
		printf(" %8s", "ours/C");
	if (show_ratio_ox)
		printf(" %8s", "ours/ox");
	if (show_floor)
		printf(" %8s", "floor/C");
	printf("\n");
	for (int i = 0; i < F_COUNT; i++) {
		const struct xsb_fig *f = &xsb_figs[i];
		char b[32];
		double r = 0;
		int any = 0;

		for (int k = 0; k < D_N; k++)
			any |= xsb_opt.use[k] && f->st[k] != ST_UNSET;
		if (!any)
			continue;
		printf("%-46s %-7s %-2s", f->title, f->unit, f->lower_better ? "lo" : "hi");
		for (int k = 0; k < D_N; k++)
			if (xsb_opt.use[k]) {
				fmt_val(b, sizeof(b), f, k);
				printf(" %10s", b);
			}
		if (show_ratio_c) {
			if (ratio(f, D_C, &r))
				printf(" %8.2f", r);
			else
				printf(" %8s", "-");
		}
		if (show_ratio_ox) {
			if (ratio(f, D_OX, &r))
				printf(" %8.2f", r);
			else
				printf(" %8s", "-");
		}
		if (show_floor) {
			if (ratio_of(f, D_FLOOR, D_C, &r))
				printf(" %8.2f", r);
			else
				printf(" %8s", "-");
		}
		printf("\n");
	}
	printf("(hi: higher is better, lo: lower is better; ours/X = our figure divided by X's)\n");
	if (xsb_opt.use[D_FLOOR])
		printf("(floor: bench/xsfloor, which answers with no store: the sockets' cost alone)\n");

	/* Why a cell is not a number. */
	int header = 0;

	for (int i = 0; i < F_COUNT; i++)
		for (int k = 0; k < D_N; k++) {
			const struct xsb_fig *f = &xsb_figs[i];

			if (!xsb_opt.use[k] || f->st[k] == ST_OK || f->st[k] == ST_UNSET ||
			    !f->note[k][0])
				continue;
			/* One note per group and daemon is enough. */
			int dup = 0;

			for (int j = 0; j < i; j++)
				dup |= xsb_figs[j].grp == f->grp && xsb_figs[j].st[k] == f->st[k] &&
				       strcmp(xsb_figs[j].note[k], f->note[k]) == 0;
			if (dup)
				continue;
			if (!header++)
				printf("notes:\n");
			printf("  %s, %s: %s\n", xsb_grp_name[f->grp], xsb_dk_col[k], f->note[k]);
		}
}

static void summary_value(char *buf, size_t size, const struct xsb_fig *f, int dk)
{
	if (f->st[dk] == ST_OK)
		snprintf(buf, size, "%.6g", f->v[dk]);
	else
		fmt_val(buf, size, f, dk);
}

void xsb_print_summary(void)
{
	printf("\n");
	for (int i = 0; i < F_COUNT; i++) {
		const struct xsb_fig *f = &xsb_figs[i];
		char b[32];
		double r = 0;
		int any = 0;

		for (int k = 0; k < D_N; k++)
			any |= xsb_opt.use[k] && f->st[k] != ST_UNSET;
		if (!any)
			continue;
		printf("XSBENCH figure=%s unit=%s better=%s", f->key, f->unit,
		       f->lower_better ? "lower" : "higher");
		for (int k = 0; k < D_N; k++)
			if (xsb_opt.use[k]) {
				summary_value(b, sizeof(b), f, k);
				printf(" %s=%s", xsb_dk_key[k], b);
			}
		if (xsb_opt.use[D_OURS] && xsb_opt.use[D_C]) {
			if (ratio(f, D_C, &r))
				printf(" ours_over_c=%.4g", r);
			else
				printf(" ours_over_c=-");
		}
		if (xsb_opt.use[D_OURS] && xsb_opt.use[D_OX]) {
			if (ratio(f, D_OX, &r))
				printf(" ours_over_ox=%.4g", r);
			else
				printf(" ours_over_ox=-");
		}
		if (xsb_opt.use[D_FLOOR] && xsb_opt.use[D_C] && ratio_of(f, D_FLOOR, D_C, &r))
			printf(" floor_over_c=%.4g", r);
		printf("\n");
	}
}

void xsb_target_result(const char *name, const char *what, const char *res, const char *detail,
		       int *miss)
{
	if (strcmp(res, "PASS") != 0)
		(*miss)++;
	printf("  %-7s %-58s %s\n", res, what, detail);
	printf("XSBENCH-TARGET target=%s result=%s\n", name, res);
}

/* A target that cannot be judged from the figures of this run. */
static void target_unknown(const char *name, const char *what, const char *why, int *miss)
{
	xsb_target_result(name, what, "UNKNOWN", why, miss);
}

/*
 * The client's own CPU per unit bounds the rate: in these groups, pinned,
 * all its threads run on one CPU, so a daemon costing nothing would allow
 * about 1e6 / (client us) a second. The least client CPU of any daemon's run
 * is taken; it moves a little with how the daemon batches its sends, so the
 * figure is an estimate, not a proof. Not shown unpinned (--pin=none).
 */
static void client_ceiling(enum xsb_fig_id rate_f, enum xsb_fig_id cli_f, double factor)
{
	const struct xsb_fig *fr = &xsb_figs[rate_f], *fc = &xsb_figs[cli_f];
	double least = 0;

	for (int k = 0; k < D_N; k++)
		if (xsb_opt.use[k] && fc->st[k] == ST_OK && fc->v[k] > 0 &&
		    (!least || fc->v[k] < least))
			least = fc->v[k];
	if (xsb_opt.pin == PIN_NONE || !least || fr->st[D_C] != ST_OK || fr->v[D_C] <= 0)
		return;
	double ceiling = 1e6 / least, r = ceiling / fr->v[D_C];

	printf("  %-7s %-58s client alone %.1f %s: a free daemon allows about %.0f %s = %.2fx C"
	       "%s\n",
	       "", "", least, fc->unit, ceiling, fr->unit, r,
	       r >= factor ? "" : ": out of reach");
}

/*
 * PASS/MISS of one target against C: "ours <= factor * C" for a cost figure,
 * "ours >= factor * C" for a rate; a negative factor is an absolute lower
 * bound on our own figure (the creates ratio). floor_bounds: the floor's
 * figure bounds any daemon's; cli (F_COUNT: none): the client's CPU per unit
 * bounds the rate (client_ceiling).
 */
static void target(const char *name, const char *what, enum xsb_fig_id f, double factor,
		   bool floor_bounds, enum xsb_fig_id cli, int *miss)
{
	const struct xsb_fig *fg = &xsb_figs[f];
	const char *res;
	char detail[160];

	if (fg->st[D_OURS] != ST_OK) {
		res = "UNKNOWN";
		snprintf(detail, sizeof(detail), "our figure unavailable");
	} else if (factor < 0) {
		/* Absolute bound on our own figure: upper for a cost, lower for a rate. */
		double bound = -factor;

		if (fg->lower_better)
			res = fg->v[D_OURS] <= bound ? "PASS" : "MISS";
		else
			res = fg->v[D_OURS] >= bound ? "PASS" : "MISS";
		snprintf(detail, sizeof(detail), "ours %.2f, need %s %.2f", fg->v[D_OURS],
			 fg->lower_better ? "<=" : ">=", bound);
	} else if (fg->st[D_C] != ST_OK) {
		res = "UNKNOWN";
		snprintf(detail, sizeof(detail), "C xenstored figure unavailable");
	} else {
		double limit = fg->v[D_C] * factor;

		if (fg->lower_better)
			res = fg->v[D_OURS] <= limit ? "PASS" : "MISS";
		else
			res = fg->v[D_OURS] >= limit ? "PASS" : "MISS";
		snprintf(detail, sizeof(detail), "ours %.2f, C %.2f, %s %.2f %s", fg->v[D_OURS],
			 fg->v[D_C], fg->lower_better ? "limit" : "need >=", limit, fg->unit);
	}
	if (strcmp(res, "PASS") != 0)
		(*miss)++;
	printf("  %-7s %-58s %s\n", res, what, detail);
	/*
	 * Where the floor ran, and each reply or event must go out alone (serial
	 * clients, one event per watcher), what it reached says whether a daemon
	 * with the same socket calls could: a target the floor misses is out of
	 * reach on this host. Pipelined figures are not bounded by it (a daemon
	 * may send several messages at once; the floor does not).
	 */
	double fr;

	if (factor > 0 && floor_bounds && xsb_opt.use[D_FLOOR] && ratio_of(fg, D_FLOOR, D_C, &fr))
		printf("  %-7s %-58s floor %.2f = %.2fx C: %s\n", "", "", fg->v[D_FLOOR], fr,
		       (fg->lower_better ? fr <= factor : fr >= factor)
			       ? "within reach of a daemon"
			       : "the sockets alone miss it here");
	if (factor > 0 && cli != F_COUNT)
		client_ceiling(f, cli, factor);
	printf("XSBENCH-TARGET target=%s result=%s\n", name, res);
}

void xsb_print_targets(void)
{
	int miss = 0;

	if (!xsb_opt.use[D_OURS])
		return;
	printf("\ntargets:\n");
	if (xsb_opt.groups & (1u << G_CPU)) {
		target("cpu_read", "daemon CPU per READ <= 1/3 of C xenstored's", F_CPU_READ, 1.0 / 3,
		       false, F_COUNT, &miss);
		target("cpu_write", "daemon CPU per WRITE <= 1/3 of C xenstored's", F_CPU_WRITE,
		       1.0 / 3, false, F_COUNT, &miss);
		target("cpu_dir", "daemon CPU per DIRECTORY <= 1/3 of C xenstored's", F_CPU_DIR,
		       1.0 / 3, false, F_COUNT, &miss);
	}
	if (xsb_opt.groups & (1u << G_MEM)) {
		/*
		 * The tdb pages our daemon has mapped are in its RSS and in the file
		 * both, so RSS+tdb counts them twice; anon+tdb is the memory really
		 * used, RSS+tdb an upper bound. Both are shown.
		 */
		target("mem", "memory per node (anon RSS+tdb growth) <= 0.7x C's",
		       F_MEM_ANON_PER_NODE, 0.7, false, F_COUNT, &miss);
		target("mem_upper", "memory per node (RSS+tdb growth, upper bound) <= 0.7x C's",
		       F_MEM_PER_NODE, 0.7, false, F_COUNT, &miss);
	}
	if (xsb_opt.groups & (1u << G_BIGDIR))
		/* 5% allowance: two medians of short pipelined runs differ by that much at rest. */
		target("create_big_dir", "creates in the big dir no slower than in an empty dir",
		       F_CREATE_RATIO, -0.95, false, F_COUNT, &miss);
	/* Issue 3: watches and transactions, each at least 3 times the C daemon's rate. */
	if (xsb_opt.groups & (1u << G_WATCH))
		/* Pipelined: a serial client's round trip caps the serial figure below 3x C. */
		target("watch_events", "pipelined write->event rate >= 3x C xenstored's",
		       F_WATCH_PIPE, 3, false, F_COUNT, &miss);
	if (xsb_opt.groups & (1u << G_FANOUT)) {
		const struct xsb_fig *fw = &xsb_figs[F_FAN_WATCHERS];

		/* Only the same number of watchers makes the two rates comparable. */
		if (fw->st[D_OURS] == ST_OK && fw->st[D_C] == ST_OK && fw->v[D_OURS] != fw->v[D_C])
			target_unknown("fanout", "fan-out writes/s (all events in) >= 3x C's",
				       "different watcher counts", &miss);
		else
			target("fanout", "fan-out writes/s (all events in) >= 3x C's", F_FAN_RATE, 3,
			       true, F_CLI_FAN, &miss);
	}
	if (xsb_opt.groups & (1u << G_WLOAD)) {
		target("write_many_watches", "writes/s with 100k unrelated watches >= 3x C's",
		       F_WL_LOADED, 3, false, F_COUNT, &miss);
		/* The same 5% allowance as the creates ratio: the two rates are medians of short runs. */
		target("write_many_watches_flat", "writes/s with 100k watches >= 0.95x without",
		       F_WL_RATIO, -0.95, false, F_COUNT, &miss);
	}
	/*
	 * The serial group's client shares its CPU with the daemon, so its own
	 * CPU bounds nothing there; the floor's figure does.
	 */
	if (xsb_opt.groups & (1u << G_TXN))
		target("txn_serial", "serial 10-write transactions/s >= 3x C's", F_TXN_SERIAL, 3,
		       true, F_COUNT, &miss);
	/* Issue 13: against the floor, in rounds taken in turn (the host's speed drifts between groups). */
	if ((xsb_opt.groups & (1u << G_TXN)) && xsb_opt.use[D_FLOOR])
		target("txn_serial_floor", "serial 10-write transactions/s >= 0.9x the floor's (paired)",
		       F_TXN_FLOOR_PAIRED, -0.9, false, F_COUNT, &miss);
	if ((xsb_opt.groups & (1u << G_TXNCONC)) && xsb_opt.use[D_FLOOR])
		target("txn_conc16_floor", "16-connection 10-write commits/s >= 0.9x the floor's (paired)",
		       F_TXN_CONC_FLOOR_PAIRED, -0.9, false, F_COUNT, &miss);
	if (xsb_opt.groups & (1u << G_TXNCONC))
		target("txn_conc16", "16-connection 10-write commits/s >= 3x C's", F_TXN_CONC, 3,
		       true, F_CLI_TXN_CONC, &miss);
	/* Issue 12: a hostile guest hurts no one. */
	if (xsb_opt.groups & (1u << G_ATTACKS))
		xsb_atk_targets(&miss);
	/* Issue 10: the client library. */
	if (xsb_opt.groups & (1u << G_CLIENT)) {
		target("xsl_ring32", "xsl ring, 32 in flight >= 5x libxenstore one at a time",
		       F_CL_RING_OVER_LIBXS, -5, false, F_COUNT, &miss);
		target("xsl_ring_cpu", "daemon CPU per ring request <= 1.5x per socket request",
		       F_CL_CPU_RING_OVER_SOCK, -1.5, false, F_COUNT, &miss);
	}
	/* Issue 13: bounded recovery. */
	if (xsb_opt.groups & (1u << G_RECOVERY))
		xsb_rc_targets(&miss);
	if (xsb_opt.groups & (1u << G_LIVEUPDATE))
		xsb_lu_targets(&miss);
	printf("%d target(s) not passed\n", miss);
}

int xsb_print_errors(void)
{
	int errors = 0;

	for (int f = 0; f < F_COUNT; f++)
		for (int k = 0; k < D_N; k++)
			errors += xsb_opt.use[k] && xsb_figs[f].st[k] == ST_ERROR;
	if (errors)
		printf("xsbench: %d figure(s) in error, see the notes above\n", errors);
	return errors;
}
