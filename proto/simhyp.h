/* The simulated hypervisor's protocol (xs-simhyp, docs/SIMHYP.md): message layouts only, no code. */
#ifndef XS_PROTO_SIMHYP_H
#define XS_PROTO_SIMHYP_H

#include <stdint.h>

/*
 * One SOCK_SEQPACKET unix socket, one message a datagram, descriptors
 * beside it (SCM_RIGHTS). Every request gets exactly one reply on its
 * connection, in order: the same header with op | SIMHYP_REPLY, the
 * request's seq and a status (0 or a positive errno), then the op's reply
 * body. A connection acts for one domain: CREATE (a new domain, whose life
 * the connection is) or ATTACH (an existing one; dom0 always exists) comes
 * first. A dom0 connection that sends SUBSCRIBE carries domain-state
 * notices from then on and nothing else.
 */
#define SIMHYP_MAGIC 0x50594853u /* "SHYP" */
#define SIMHYP_VERSION 2u
#define SIMHYP_SOCKET_NAME "simhyp" /* in the store's run directory, by default */

#define SIMHYP_PAGE 4096u
/* Domain ids: 0 is dom0, ordinary domains below Xen's DOMID_FIRST_RESERVED. */
#define SIMHYP_DOMID_MAX 0x7fefu
#define SIMHYP_DOMID_INVALID 0x7ff4u

/* Fixed limits of the protocol (the server has lower, settable ones: docs/SIMHYP.md). */
#define SIMHYP_MSG_MAX 16384u      /* bytes of one message */
#define SIMHYP_FDS_MAX 3u          /* descriptors with one message */
#define SIMHYP_BATCH_MAX 1024u     /* references or handles in one MAP or UNMAP */
#define SIMHYP_GNT_FRAMES_MAX 64u  /* grant-table pages of a domain (512 v1 entries each) */
#define SIMHYP_MEM_PAGES_MAX (1u << 18) /* memory of a domain: 1 GiB */
#define SIMHYP_PORTS_MAX 16384u    /* event channels of a domain (ports 1 .. max - 1) */

enum simhyp_op {
	SIMHYP_CREATE = 1,       /* simhyp_create, fds: memory, grant table; reply simhyp_domain_reply, fds: shared info [, store port's, its binder's] */
	SIMHYP_ATTACH = 2,       /* simhyp_attach; reply simhyp_domain_reply, fd: shared info */
	SIMHYP_SHUTDOWN = 3,     /* simhyp_shutdown: the connection's domain shuts down */
	SIMHYP_SUBSCRIBE = 4,    /* dom0 only: domain-state notices on this connection from now on */
	SIMHYP_MAP = 5,          /* simhyp_map + refs; reply simhyp_map_reply + entries, fd: the granter's memory (once) */
	SIMHYP_UNMAP = 6,        /* simhyp_unmap + handles */
	SIMHYP_EVT_UNBOUND = 7,  /* simhyp_evt_unbound; reply simhyp_port_reply, fds: the port's eventfd, its binder's */
	SIMHYP_EVT_BIND = 8,     /* simhyp_evt_bind; reply simhyp_port_reply, fds: the port's eventfd, the peer's */
	SIMHYP_EVT_CLOSE = 9,    /* simhyp_port_req */
	SIMHYP_EVT_PEER = 10,    /* simhyp_port_req; reply simhyp_peer_reply, fd: the eventfd it notifies into, if any */
	SIMHYP_OP_MAX = 10,
	SIMHYP_NOTICE = 0x4000,  /* server to subscriber: simhyp_notice + entries */
	SIMHYP_REPLY = 0x8000,   /* or'ed into a reply's op */
};

struct simhyp_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t op;
	uint32_t len; /* the whole message, header included */
	uint32_t seq; /* echoed in the reply */
};

struct simhyp_reply_hdr {
	struct simhyp_hdr h;
	int32_t status; /* 0 or a positive errno */
	uint32_t pad;
};

/* flags of CREATE: SIMHYP_CREATE_STORE_PORT: make port 1 unbound for dom0 at once (its eventfd with the reply). */
#define SIMHYP_CREATE_STORE_PORT 1u
struct simhyp_create {
	struct simhyp_hdr h;
	uint32_t domid;      /* 1 .. SIMHYP_DOMID_MAX; 0: give dom0 memory for this connection's life */
	uint32_t mem_pages;  /* the memory file holds at least this many pages */
	uint32_t gnt_frames; /* the grant-table file: at least this many pages of grant_entry_v1 */
	uint32_t flags;
};

struct simhyp_attach {
	struct simhyp_hdr h;
	uint32_t domid;
	uint32_t pad;
};

struct simhyp_domain_reply {
	struct simhyp_reply_hdr r;
	uint64_t incarnation;  /* unique per domain made: a domid reused is another one */
	uint32_t ports_max;    /* ports of this domain are below it; shared info holds a u32 per port */
	uint32_t shinfo_size;  /* bytes of the shared-info file */
	uint32_t store_port;   /* CREATE with SIMHYP_CREATE_STORE_PORT: the port (its eventfd second, its binder's third), else 0 */
	uint32_t store_gen;
};

/* Reasons, as Xen's SHUTDOWN_*. */
struct simhyp_shutdown {
	struct simhyp_hdr h;
	uint32_t reason;
	uint32_t pad;
};

/* Domain states in notices. */
enum simhyp_dom_state {
	SIMHYP_DOM_NONE = 0,     /* gone */
	SIMHYP_DOM_RUNNING = 1,
	SIMHYP_DOM_SHUTDOWN = 2,
};

struct simhyp_domstate {
	uint32_t domid;
	uint32_t state;
	uint64_t incarnation;
};

/* flags: SIMHYP_NOTICE_SYNCED on the last notice of the first snapshot. */
#define SIMHYP_NOTICE_SYNCED 1u
#define SIMHYP_NOTICE_ENTRIES_MAX 256u
struct simhyp_notice {
	struct simhyp_hdr h;
	uint32_t count;
	uint32_t flags;
	/* struct simhyp_domstate[count] */
};

#define SIMHYP_MAP_WRITABLE 1u
struct simhyp_map {
	struct simhyp_hdr h;
	uint32_t domid; /* the granter */
	uint32_t count;
	uint32_t flags;
	uint32_t pad;
	/* uint32_t refs[count] */
};

/* flags of the reply: SIMHYP_MAP_MEMFD: the granter's memory file comes with it. */
#define SIMHYP_MAP_MEMFD 1u
struct simhyp_map_entry {
	uint32_t handle;
	uint32_t frame; /* the page's offset in the granter's memory, in pages */
};
struct simhyp_map_reply {
	struct simhyp_reply_hdr r;
	uint64_t incarnation; /* of the granter */
	uint32_t mem_pages;
	uint32_t flags;
	uint32_t count;
	uint32_t pad;
	/* struct simhyp_map_entry[count] */
};

/* flags: SIMHYP_UNMAP_FORGET: the mapper dropped its mapping of the granter's memory too. */
#define SIMHYP_UNMAP_FORGET 1u
struct simhyp_unmap {
	struct simhyp_hdr h;
	uint32_t domid;
	uint32_t count;
	uint32_t flags;
	uint32_t pad;
	uint64_t incarnation;
	/* uint32_t handles[count] */
};

struct simhyp_evt_unbound {
	struct simhyp_hdr h;
	uint32_t remote_domid;
	uint32_t pad;
};

struct simhyp_evt_bind {
	struct simhyp_hdr h;
	uint32_t remote_domid;
	uint32_t remote_port;
};

struct simhyp_port_req {
	struct simhyp_hdr h;
	uint32_t port;
	uint32_t pad;
};

struct simhyp_port_reply {
	struct simhyp_reply_hdr r;
	uint32_t port;
	uint32_t gen;
};

/* state of a port's peer link in SIMHYP_EVT_PEER's reply. */
enum { SIMHYP_PORT_UNBOUND = 1, SIMHYP_PORT_INTERDOMAIN = 2 };
struct simhyp_peer_reply {
	struct simhyp_reply_hdr r;
	uint32_t gen;   /* the port's generation the answer belongs to */
	uint32_t state;
	uint32_t remote_domid;
	uint32_t remote_port;
};

#endif
