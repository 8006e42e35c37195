/* The XenStore client library's one public header: handles, typed calls, transactions, watches, embedding. */
#ifndef XENSTORE_CLIENT_H
#define XENSTORE_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XSL_API __attribute__((visibility("default")))

/*
 * ERRORS. Every call returns 0 (or a documented non-negative value) on
 * success and a negative errno on failure; errno itself is never set. The
 * store's error names map to their errno (ENOENT, EACCES, EAGAIN, ...);
 * the library adds:
 *   -EINVAL        a malformed path or argument, checked before sending
 *   -ENAMETOOLONG  a path over 3072 bytes (absolute) or 2048 (relative)
 *   -E2BIG         a request payload over 4096 bytes
 *   -ETIMEDOUT     the handle's timeout passed (the request stays counted
 *                  against the in-flight cap until its reply comes)
 *   -ECONNRESET    the connection was lost with this request in flight
 *                  (inside a transaction, or starting one: -EAGAIN, as the
 *                  transaction is gone with it; a commit stays -ECONNRESET)
 *   -ENOTCONN      the handle has no connection and will not get one again
 *   -EAGAIN        also: a transaction that began before a reconnection
 *   -EPROTO        the store answered with a reply of the wrong type
 *   -EDEADLK       xsl_close from inside a callback
 * Nothing a peer sends can make the library abort.
 *
 * THREADING. A handle may be used from any number of threads at once:
 * calls hold its lock only for short non-blocking sections, and whichever
 * thread is waiting reads for everyone, so replies and watch events are
 * always drained however slowly callbacks consume them. Callbacks (watch
 * events, asynchronous completions) run only inside xsl_pump(), one at a
 * time per handle, with no library lock held: they may call anything,
 * including blocking calls, xsl_unwatch (of their own watch too) and
 * xsl_pump (which then only does I/O), but not xsl_close (-EDEADLK).
 * xsl_close must not race other calls on the same handle. The library
 * starts no thread and blocks no signal; it is not fork-safe (a child
 * must not use a parent's handle).
 */

struct xsl;
struct xsl_watch;
struct xsl_simdom;

/* A transaction: 0 for none. Opaque otherwise (it also names the connection it belongs to). */
typedef uint64_t xsl_txn_t;
#define XSL_TXN_NONE ((xsl_txn_t)0)

/* Limits of the protocol, checked before anything is sent: a path with its NUL fits in
 * XSL_ABS_PATH_MAX bytes, a relative one in XSL_REL_PATH_MAX (ENAMETOOLONG otherwise). */
#define XSL_PAYLOAD_MAX 4096u
#define XSL_ABS_PATH_MAX 3072u
#define XSL_REL_PATH_MAX 2048u
/* Requests in flight at once: the store stops reading a domain at 20 outstanding. */
#define XSL_INFLIGHT_DEFAULT 16u
#define XSL_INFLIGHT_MAX 19u
/* Events queued per watch before it overflows into one "re-read" event. */
#define XSL_WATCH_PENDING_DEFAULT 64u
#define XSL_WATCH_PENDING_MAX 4096u
/* Asynchronous requests outstanding per handle (completed ones count until dispatched). */
#define XSL_ASYNC_MAX 1024u

enum xsl_transport_kind {
	XSL_TR_AUTO = 0, /* the socket, else the xenbus device, as libxenstore's xs_open */
	XSL_TR_SOCKET,   /* unix socket: path, else $XENSTORED_PATH, else $XENSTORED_RUNDIR/socket */
	XSL_TR_XENBUS,   /* a guest's /dev/xen/xenbus (path, else the usual places), or fd */
	XSL_TR_SIMRING,  /* a simulated domain's ring page and event channel (simdom) */
	XSL_TR_XENRING,  /* a Xen ring page and an inter-domain event channel (libxenevtchn) */
	XSL_TR_FD,       /* an already connected stream socket (fd): no reconnection */
};

/* xsl_open_opts.flags */
#define XSL_OPEN_RECONNECT 1u /* reconnect on loss (socket: reopen; ring: reconnection feature) */
#define XSL_OPEN_USE_FD 2u    /* XENBUS: use fd (a device already open) instead of a path */

struct xsl_open_opts {
	enum xsl_transport_kind transport;
	const char *path;          /* SOCKET, XENBUS: overrides the default places */
	int fd;                    /* FD, and XENBUS with XSL_OPEN_USE_FD: this descriptor (the handle owns it) */
	unsigned flags;            /* XSL_OPEN_* */
	unsigned max_inflight;     /* 0: XSL_INFLIGHT_DEFAULT; at most XSL_INFLIGHT_MAX */
	int timeout_ms;            /* blocking calls; 0: wait for ever */
	unsigned reconnect_ms;     /* how long reconnection is tried before giving up; 0: 10000 */
	struct xsl_simdom *simdom; /* SIMRING: the domain (not owned; destroy it after the handle) */
	void *xen_page;            /* XENRING: the mapped ring page, or NULL to map xen_page_path */
	const char *xen_page_path; /* XENRING: a file to map the page from (e.g. /dev/xen/xsd_kva) */
	unsigned xen_remote_domid; /* XENRING: the store's domain */
	unsigned xen_remote_port;  /* XENRING: the store's port to bind to */
};

/* Open a handle (opts NULL: XSL_TR_AUTO with defaults). */
XSL_API int xsl_open(struct xsl **out, const struct xsl_open_opts *opts);
/* Close it: pending calls fail, watches go, memory is freed. -EDEADLK from a callback. */
XSL_API int xsl_close(struct xsl *h);
/* Change the blocking calls' timeout (ms; 0 or less: for ever). */
XSL_API void xsl_set_timeout(struct xsl *h, int timeout_ms);

/*
 * EMBEDDING IN AN EVENT LOOP. xsl_fileno is one descriptor, stable for the
 * handle's life (across reconnections), readable whenever xsl_pump has
 * work: input, output waiting for room, callbacks due, a reconnection
 * attempt due. xsl_pump does the I/O that can be done, waiting up to
 * timeout_ms (0: not at all, <0: for ever) if there is nothing to do, then
 * runs due callbacks; it returns how many ran, or a negative errno
 * (-ENOTCONN once the handle is dead). A program without an event loop
 * calls xsl_pump in a loop to get its watch callbacks.
 */
XSL_API int xsl_fileno(struct xsl *h);
XSL_API int xsl_pump(struct xsl *h, int timeout_ms);
/* Drop the connection and connect again now (socket reopen, ring reconnection); watches are replayed. */
XSL_API int xsl_reconnect(struct xsl *h);
/* The store's feature bits (XS ring server_features: 1 reconnection, 2 error, 4 watch depth, 8 DOMID_ANY). */
XSL_API int xsl_features(struct xsl *h, unsigned *features);

struct xsl_stats {
	uint64_t requests;          /* sent */
	uint64_t unknown_replies;   /* replies matching no request: dropped */
	uint64_t bad_events;        /* watch events that were not "path\0token\0": dropped */
	uint64_t stray_events;      /* events for no (or a removed) watch: dropped */
	uint64_t overflows;         /* watch queues that overflowed */
	uint64_t reconnects;        /* successful reconnections */
	uint64_t replay_failures;   /* watches the store refused again after a reconnection */
	unsigned inflight;          /* requests sent and not yet answered */
	unsigned queued;            /* requests waiting for an in-flight slot or a connection */
	unsigned watches;
};
XSL_API void xsl_stats(struct xsl *h, struct xsl_stats *st);

/*
 * NODES. path is absolute ("/a/b") or relative to the connection's domain
 * home ("a/b": the ring and the xenbus device resolve it under
 * /local/domain/<domid>, a socket under the store's own domain). Values
 * are bytes; xsl_read adds a NUL after them (not counted in len). Results
 * are malloc'd: free() them.
 */
XSL_API int xsl_read(struct xsl *h, xsl_txn_t t, const char *path, char **value, size_t *len);
XSL_API int xsl_write(struct xsl *h, xsl_txn_t t, const char *path, const void *value, size_t len);
XSL_API int xsl_mkdir(struct xsl *h, xsl_txn_t t, const char *path);
XSL_API int xsl_rm(struct xsl *h, xsl_txn_t t, const char *path);
/* 1 if the node exists, 0 if not, or a negative errno (-EACCES if it cannot be told). */
XSL_API int xsl_exists(struct xsl *h, xsl_txn_t t, const char *path);
/*
 * Child names: *names is one allocation, an array of *count pointers then
 * NULL, then the strings. A listing over 4096 bytes is read in parts
 * (DIRECTORY_PART), restarted if the directory changes meanwhile.
 */
XSL_API int xsl_directory(struct xsl *h, xsl_txn_t t, const char *path, char ***names,
			  unsigned *count);

/* Permission entries: the first names the owner and everyone else's access. */
#define XSL_PERM_NONE 0u
#define XSL_PERM_READ 1u
#define XSL_PERM_WRITE 2u
#define XSL_PERM_BOTH 3u
struct xsl_perm {
	uint32_t domid;
	unsigned access; /* XSL_PERM_* */
};
/* Paths may also be special ("@releaseDomain"). *perms is malloc'd. */
XSL_API int xsl_get_perms(struct xsl *h, xsl_txn_t t, const char *path, struct xsl_perm **perms,
			  unsigned *count);
XSL_API int xsl_set_perms(struct xsl *h, xsl_txn_t t, const char *path,
			  const struct xsl_perm *perms, unsigned count);

/* DOMAINS (privileged but the first). */
XSL_API int xsl_get_domain_path(struct xsl *h, unsigned domid, char **path);
XSL_API int xsl_introduce(struct xsl *h, unsigned domid, unsigned long gfn, unsigned port);
XSL_API int xsl_release(struct xsl *h, unsigned domid);
/* 1 if introduced, 0 if not, or a negative errno. */
XSL_API int xsl_is_introduced(struct xsl *h, unsigned domid);
/* CONTROL: args is a NULL-terminated list; the reply text is malloc'd (NUL-terminated). */
XSL_API int xsl_control(struct xsl *h, const char *const *args, char **reply, size_t *len);

/* Any request by type number, its payload given whole; the reply is malloc'd (plus a NUL). */
XSL_API int xsl_request(struct xsl *h, xsl_txn_t t, unsigned type, const void *payload,
			size_t len, char **reply, size_t *reply_len);
/*
 * The same without waiting: cb runs from xsl_pump with the reply (err 0) or
 * the error; reply is valid during the call only. -ENOBUFS past
 * XSL_ASYNC_MAX outstanding.
 */
typedef void xsl_reply_fn(struct xsl *h, int err, const char *reply, size_t len, void *arg);
XSL_API int xsl_request_async(struct xsl *h, xsl_txn_t t, unsigned type, const void *payload,
			      size_t len, xsl_reply_fn *cb, void *arg);

/*
 * TRANSACTIONS. Requests given t run inside it; a commit answering -EAGAIN
 * means the whole body must run again. A transaction that began before a
 * reconnection answers -EAGAIN to everything (its abort succeeds).
 */
XSL_API int xsl_txn_start(struct xsl *h, xsl_txn_t *t);
XSL_API int xsl_txn_end(struct xsl *h, xsl_txn_t t, int commit);
/*
 * Run fn in a transaction until it commits: fn returns 0 to commit or a
 * negative errno to abort (-EAGAIN: abort and run again). -EAGAIN from fn or
 * from the commit is retried after a jittered backoff, at most max_attempts
 * times (0: 16). The transaction is ended on every path. Returns 0, fn's
 * error, the commit's error, or -EAGAIN when the attempts ran out. fn must
 * not have effects outside the store that a rerun would repeat.
 */
typedef int xsl_txn_fn(struct xsl *h, xsl_txn_t t, void *arg);
XSL_API int xsl_txn_run(struct xsl *h, xsl_txn_fn *fn, void *arg, unsigned max_attempts);

/*
 * WATCHES. The library makes the token. The callback gets every event of
 * the watch in order, the first one right after registration (and again
 * after every reconnection, when the watch is registered anew). Events
 * are hints: re-read the state. A watch whose queue overflows drops what
 * it holds and delivers one event with XSL_EVENT_OVERFLOW and the watch's
 * own path: re-read the whole subtree.
 */
#define XSL_EVENT_OVERFLOW 1u
struct xsl_event {
	const char *path;  /* as the store sent it: relative if the watch was */
	const char *token;
	unsigned flags;    /* XSL_EVENT_* */
};
typedef void xsl_watch_fn(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev,
			  void *arg);

/* xsl_watch_opts.flags */
#define XSL_WATCH_COALESCE 1u /* drop an event whose path is already queued */

struct xsl_watch_opts {
	int depth;             /* < 0: the whole subtree; n: at most n levels below (0: the node) */
	unsigned max_pending;  /* 0: XSL_WATCH_PENDING_DEFAULT; at most XSL_WATCH_PENDING_MAX */
	unsigned flags;        /* XSL_WATCH_* */
};
/* opts NULL: whole subtree, defaults. Depth goes to the store when it offers it, else is filtered here. */
XSL_API int xsl_watch(struct xsl *h, const char *path, const struct xsl_watch_opts *opts,
		      xsl_watch_fn *cb, void *arg, struct xsl_watch **out);
/*
 * Remove a watch: no callback of it starts after this returns; queued
 * events are dropped; a callback of it running in another thread is
 * waited for (not when called from that callback). The watch is gone even
 * if the store could not be told.
 */
XSL_API int xsl_unwatch(struct xsl *h, struct xsl_watch *w);
/* The watch's path and token, as registered. */
XSL_API const char *xsl_watch_path(const struct xsl_watch *w);
XSL_API const char *xsl_watch_token(const struct xsl_watch *w);

/*
 * SIMULATED DOMAINS, for development and tests without Xen: a domain of
 * the simulated hypervisor xs-simhyp (simhyp_path NULL:
 * $XENSTORED_RUNDIR/simhyp), made by this process with 16 MiB of memory
 * and a grant table. As a toolstack sets up a guest, its store ring is a
 * page of that memory granted to dom0 at reference 1, its store event
 * channel a port left unbound for dom0 (xsl_simdom_port: 1 for a fresh
 * domain): introduce it with that port. It lives until destroyed (or this
 * process ends), across restarts of the store. xsl_hyp_open with
 * opts.simdom gives a handle acting for it (grants from its memory).
 */
XSL_API int xsl_simdom_create(const char *simhyp_path, unsigned domid, struct xsl_simdom **out);
XSL_API unsigned xsl_simdom_port(const struct xsl_simdom *d);
XSL_API int xsl_simdom_shutdown(struct xsl_simdom *d);
XSL_API void xsl_simdom_destroy(struct xsl_simdom *d);

/*
 * THE HYPERVISOR: grants and event channels for split drivers, one
 * interface over two implementations chosen at run time: Xen (libxengnttab's
 * sharing and mapping calls, libxenevtchn) or the simulated hypervisor
 * (xs-simhyp, a process of its own, shared by every simulated domain; see
 * docs/SIMHYP.md). A handle acts for one domain. Same rules as Xen: a page
 * maps only into the domain it was granted to, read-only grants map
 * read-only, an interdomain channel binds only to a port left unbound for
 * the binding domain.
 */
struct xsl_hyp;

enum xsl_hyp_kind {
	XSL_HYP_AUTO = 0, /* Xen if /dev/xen/evtchn works, else the simulated one */
	XSL_HYP_XEN,
	XSL_HYP_SIM,
};

struct xsl_hyp_opts {
	enum xsl_hyp_kind kind;
	const char *simhyp_path; /* SIM: the hypervisor's socket; NULL: $XENSTORED_RUNDIR/simhyp */
	unsigned domid;          /* SIM: the domain this handle acts for (0: dom0, which always exists; */
				 /* another: made now, living as long as the handle, or acted for */
				 /* without memory of its own if it exists) */
	unsigned mem_pages;      /* SIM, a new domain: its memory (pages that can be granted); 0: 4096 */
				 /* (dom0: given that much memory for the handle's life) */
	struct xsl_simdom *simdom; /* SIM: act for this simulated domain (its memory and grant table) */
};

XSL_API int xsl_hyp_open(struct xsl_hyp **out, const struct xsl_hyp_opts *opts);
XSL_API void xsl_hyp_close(struct xsl_hyp *h);
XSL_API unsigned xsl_hyp_domid(const struct xsl_hyp *h);

/*
 * Granting (the granting side: a frontend). xsl_gnt_share allocates count
 * pages and grants each to domid, the references in refs (libxengntshr's
 * share_pages); xsl_gnt_unshare ends the grants and frees the pages
 * (-EBUSY, pages kept, while the other side still maps one).
 * xsl_gnt_grant grants one page of memory got from xsl_gnt_alloc (or of a
 * shared area) for one request, xsl_gnt_end ends it (-EBUSY while mapped);
 * -EOPNOTSUPP where the hypervisor cannot grant single pages from user
 * space (Xen): use shared areas then.
 */
XSL_API void *xsl_gnt_share(struct xsl_hyp *h, unsigned domid, unsigned count, int writable,
			    uint32_t *refs);
XSL_API int xsl_gnt_unshare(struct xsl_hyp *h, void *area, unsigned count);
XSL_API void *xsl_gnt_alloc(struct xsl_hyp *h, unsigned count);
XSL_API void xsl_gnt_free(struct xsl_hyp *h, void *area, unsigned count);
XSL_API int xsl_gnt_grant(struct xsl_hyp *h, unsigned domid, void *page, int readonly, uint32_t *ref);
XSL_API int xsl_gnt_end(struct xsl_hyp *h, uint32_t ref);

/*
 * Mapping (the other side: a backend). Maps count references granted by
 * domid into one contiguous area, all or nothing, in one call to the
 * hypervisor (-EPERM: one was not granted to this domain, or is read-only
 * and writable was asked; -EINVAL: no such reference, or a frame outside
 * the granter's memory; -ESRCH: no such domain; -ENOSPC: past the mappings
 * a connection may hold; -E2BIG: over 1024 references). A read-only area
 * faults on a write. Unmap with the area and count it returned.
 */
XSL_API void *xsl_gnt_map(struct xsl_hyp *h, unsigned domid, unsigned count, const uint32_t *refs,
			  int writable, int *err);
XSL_API int xsl_gnt_unmap(struct xsl_hyp *h, void *area, unsigned count);
/*
 * The same mapping, each page where it falls: pages[i] is refs[i]'s page,
 * the pages not necessarily in a row, for a caller that moves data page by
 * page (scatter-gather I/O, as a kernel backend maps a request's segment
 * pages) and so needs no contiguous area built. Same checks, same errors,
 * one call to the hypervisor; the handle, or NULL. xsl_gnt_unmap_pages
 * gives the whole mapping back (its pages are not to be touched after).
 */
struct xsl_gnt_pages;
XSL_API struct xsl_gnt_pages *xsl_gnt_map_pages(struct xsl_hyp *h, unsigned domid, unsigned count,
						const uint32_t *refs, int writable, void **pages, int *err);
XSL_API int xsl_gnt_unmap_pages(struct xsl_hyp *h, struct xsl_gnt_pages *m);

/*
 * Event channels. Each bound port has its own descriptor, readable while a
 * notification is pending; xsl_evt_ack clears it. Notifications coalesce.
 * xsl_evt_bind: -EINVAL unless remote_port is left unbound for this domain,
 * -ESRCH for no such domain; a port just bound is pending at once (as Xen:
 * a notification sent before may have been lost). Closing a port sends its
 * peer's back to unbound, to be bound again. Handles are thread-safe.
 */
XSL_API int xsl_evt_alloc_unbound(struct xsl_hyp *h, unsigned remote_domid, uint32_t *port);
XSL_API int xsl_evt_bind(struct xsl_hyp *h, unsigned remote_domid, uint32_t remote_port,
			 uint32_t *local_port);
XSL_API int xsl_evt_notify(struct xsl_hyp *h, uint32_t port);
XSL_API int xsl_evt_fd(struct xsl_hyp *h, uint32_t port);
XSL_API void xsl_evt_ack(struct xsl_hyp *h, uint32_t port);
XSL_API int xsl_evt_close(struct xsl_hyp *h, uint32_t port);

/*
 * XENBUS: the bus of split paravirtual drivers (frontend.md 2.6, 2.7,
 * 6.8-6.10), on a handle. A bus finds the devices of the driver types
 * registered with it, frontends under <home>/device/<type>/<id> and
 * backends under <home>/backend/<type>/<frontend-domid>/<id> (home:
 * /local/domain/<the bus's domid>), by listing them and then by watches;
 * it reads and checks each device's other end, watches the other end's
 * state (at most one event pending: XSA-349) and calls the driver as it
 * changes. Everything runs inside xsl_pump (the handle's callbacks) or
 * inside the bus calls below; nothing waits but the calls that say so.
 */
enum xsl_xbs {
	XSL_XBS_UNKNOWN = 0,
	XSL_XBS_INITIALISING = 1,
	XSL_XBS_INITWAIT = 2,
	XSL_XBS_INITIALISED = 3,
	XSL_XBS_CONNECTED = 4,
	XSL_XBS_CLOSING = 5,
	XSL_XBS_CLOSED = 6,
	XSL_XBS_RECONFIGURING = 7,
	XSL_XBS_RECONFIGURED = 8,
};
#define XSL_XBS_MAX 8
/* A set of states, for the waits. */
#define XSL_XBS_BIT(s) (1u << (s))

/* "Initialising", "InitWait", ...; "Invalid" outside 0..8. */
XSL_API const char *xsl_xbs_name(int state);
/* A state value as stored: decimal 0..8 with nothing else (no sign, space or leading zero); else -EINVAL. */
XSL_API int xsl_xbs_parse(const char *value, size_t len);
/* <dir>/state as it is: 0..8, -ENOENT if there is none, -EINVAL for junk, or the read's error. */
XSL_API int xsl_xbs_read(struct xsl *h, xsl_txn_t t, const char *dir);
/*
 * The bus's reading of <dir>/state (what its drivers are told): 1..8 as
 * stored; Closed when there is no state node because <dir> itself is gone,
 * or can no longer be read (an unprivileged reader is told EACCES for a
 * directory gone from a parent it may not read): the other end went away,
 * teardown logic must run, not wait for ever (BSD's choice; Linux's
 * Unknown would leave a frontend waiting); -EINVAL for 0, junk, or no
 * state node while <dir> exists (nothing a driver can act on: the bus
 * ignores it and logs it once a run); or the read's error.
 */
XSL_API int xsl_xbs_read_bus(struct xsl *h, xsl_txn_t t, const char *dir);
/*
 * Set <dir>/state, idempotently: read inside the transaction and written
 * only if it differs (no watch fires for nothing). t: the caller's
 * transaction (it decides the outcome), or XSL_TXN_NONE for one of its
 * own. Returns 1 if written, 0 if it already was, -ENOENT if <dir> is gone
 * (it is not brought back), or -errno.
 */
XSL_API int xsl_xbs_switch(struct xsl *h, xsl_txn_t t, const char *dir, enum xsl_xbs state);
/*
 * Wait until xsl_xbs_read_bus(dir) is in states (XSL_XBS_BIT set), pumping
 * the handle meanwhile (its callbacks run): the state, -ETIMEDOUT after
 * timeout_ms (< 0: for ever), -EDEADLK from a callback of the handle (or
 * while another thread runs them): a driver reacts in otherend_changed.
 */
XSL_API int xsl_xbs_wait(struct xsl *h, const char *dir, unsigned states, int timeout_ms);

/*
 * Helpers on <dir>/<node> (node "" is dir itself; dir NULL: node is the
 * path). scanf: the number of conversions, -EINVAL if none matched.
 * printf: 0, -E2BIG past XSL_PAYLOAD_MAX. gather: name, format, pointer
 * triples ending with a NULL name (format NULL: a char ** that gets the
 * malloc'd value); 0, or the first error (-ENOENT, -EINVAL) with every
 * string it had allocated freed and set to NULL.
 */
XSL_API int xsl_xbs_scanf(struct xsl *h, xsl_txn_t t, const char *dir, const char *node,
			  const char *fmt, ...) __attribute__((format(scanf, 5, 6)));
XSL_API int xsl_xbs_printf(struct xsl *h, xsl_txn_t t, const char *dir, const char *node,
			   const char *fmt, ...) __attribute__((format(printf, 5, 6)));
XSL_API int xsl_xbs_gather(struct xsl *h, xsl_txn_t t, const char *dir, ...)
	__attribute__((sentinel));

struct xsl_bus;
struct xsl_bus_dev;

enum xsl_bus_side {
	XSL_BUS_FRONTEND = 0, /* device/<type>/<id> of the bus's domain; the other end is its backend */
	XSL_BUS_BACKEND = 1,  /* backend/<type>/<frontend-domid>/<id>; the other end is the frontend */
};

/* Log lines ("xenbus0: ...", no newline) go to the program's function, else to stderr. */
#define XSL_BUS_LOG_ERR 0
#define XSL_BUS_LOG_WARN 1
#define XSL_BUS_LOG_INFO 2
typedef void xsl_bus_log_fn(void *arg, int level, const char *line);

/* xsl_bus_opts.flags */
#define XSL_BUS_DOMID 1u /* domid is the bus's domain; else it is read from ~/domid (a socket: 0 without it) */

struct xsl_bus_opts {
	const char *name;   /* in log lines; NULL: "xenbus0" */
	unsigned flags;     /* XSL_BUS_* */
	unsigned domid;
	xsl_bus_log_fn *log;
	void *log_arg;
};

/*
 * Attach a bus to a handle (opts may be NULL). It logs "xenbus0: using
 * event channel N": the store's event channel, as the ring transport bound
 * it, else (a simulated ring, the xenbus device) as the toolstack recorded
 * it in ~/store/port; a socket has none and says so. Close the bus before
 * the handle.
 */
XSL_API int xsl_bus_open(struct xsl *h, const struct xsl_bus_opts *opts, struct xsl_bus **out);
/* Every bound device's remove runs, the watches go, the store is left as it is. -EDEADLK from a bus callback. */
XSL_API int xsl_bus_close(struct xsl_bus *bus);
XSL_API unsigned xsl_bus_domid(const struct xsl_bus *bus);

/*
 * A driver: a device type on one side. probe runs for a device whose
 * state is Initialising (a frontend found in another state is first walked
 * back Closing, Closed, Initialising in step with its backend, as Linux's
 * xenbus_reset_state does, and probed once the backend is in InitWait);
 * an error from it leaves the device unbound (reported under error/).
 * otherend_changed runs with each state of the other end that differs from
 * the last one told (the first one after probe and resume whatever it is).
 * remove runs when the device's directory goes (or at xsl_bus_close).
 * suspend and resume run from xsl_bus_suspend and xsl_bus_resume. Any may
 * be NULL. The callbacks may use every call on the device and the handle
 * (blocking ones included) except the waits (-EDEADLK), xsl_bus_close and
 * xsl_pump. The bus calls (open, register, suspend, resume, close) are made
 * from the thread that pumps the handle, outside callbacks (from a bus
 * callback they answer -EDEADLK).
 */
struct xsl_bus_driver {
	const char *type; /* "vbd", "vif", ...: one path component */
	enum xsl_bus_side side;
	int (*probe)(struct xsl_bus_dev *dev);
	void (*otherend_changed)(struct xsl_bus_dev *dev, enum xsl_xbs state);
	void (*remove)(struct xsl_bus_dev *dev);
	int (*suspend)(struct xsl_bus_dev *dev);
	int (*resume)(struct xsl_bus_dev *dev);
};
/* Register (drv is copied; arg is the driver's) and probe what is there now; -EEXIST for a type and side taken. */
XSL_API int xsl_bus_register(struct xsl_bus *bus, const struct xsl_bus_driver *drv, void *arg);
/* Suspend: every bound device's suspend runs (the first error is returned; the bus is suspended all the same); events wait for resume. */
XSL_API int xsl_bus_suspend(struct xsl_bus *bus);
/*
 * Resume (after the handle reconnected, xsl_reconnect, or after a
 * cancelled suspend; -EINVAL if not suspended): devices that came or went
 * meanwhile are probed or removed; each other device's other end is read
 * again (its watch moves if it changed: events of the old one are
 * dropped), a bound frontend goes back to Initialising, resume runs, the
 * other end's state is told again.
 */
XSL_API int xsl_bus_resume(struct xsl_bus *bus);

/* A device. Strings live as long as it does (until its remove returns). */
XSL_API struct xsl *xsl_bus_dev_handle(const struct xsl_bus_dev *dev);
XSL_API enum xsl_bus_side xsl_bus_dev_side(const struct xsl_bus_dev *dev);
XSL_API const char *xsl_bus_dev_type(const struct xsl_bus_dev *dev);
XSL_API const char *xsl_bus_dev_id(const struct xsl_bus_dev *dev);
/* Its directory, absolute. */
XSL_API const char *xsl_bus_dev_nodename(const struct xsl_bus_dev *dev);
/* The other end's directory and domain, as read and checked at probe (and resume). */
XSL_API const char *xsl_bus_dev_otherend(const struct xsl_bus_dev *dev);
XSL_API unsigned xsl_bus_dev_otherend_id(const struct xsl_bus_dev *dev);
/* The other end's state last told to the driver (XSL_XBS_UNKNOWN before any). */
XSL_API enum xsl_xbs xsl_bus_dev_otherend_state(const struct xsl_bus_dev *dev);
XSL_API void *xsl_bus_dev_driver_arg(const struct xsl_bus_dev *dev);
XSL_API void xsl_bus_dev_set_priv(struct xsl_bus_dev *dev, void *priv);
XSL_API void *xsl_bus_dev_priv(const struct xsl_bus_dev *dev);
/* xsl_xbs_switch on the device's directory. */
XSL_API int xsl_bus_switch_state(struct xsl_bus_dev *dev, xsl_txn_t t, enum xsl_xbs state);
/* xsl_xbs_wait on the other end (not from a callback: -EDEADLK). */
XSL_API int xsl_bus_wait_otherend(struct xsl_bus_dev *dev, unsigned states, int timeout_ms);
/*
 * Report an error as Linux's xenbus_dev_error: "<errno> <message>" (err
 * as a positive number) in <home>/error/<nodename below home>/error, and
 * in the log (where a failure to write the node is logged too): 0. fatal
 * also switches the device to Closing: 0, or that switch's error.
 */
XSL_API int xsl_bus_dev_error(struct xsl_bus_dev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
XSL_API int xsl_bus_dev_fatal(struct xsl_bus_dev *dev, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * THE TOOLSTACK'S PART, as xl block-attach does it (privileged handle):
 * in one transaction, the frontend directory
 * /local/domain/<fe>/device/<type>/<devid> owned by the frontend with read
 * for the backend, holding backend, backend-id, state (Initialising) and
 * frontend_keys; the backend directory
 * /local/domain/<be>/backend/<type>/<fe>/<devid> owned by the backend with
 * read for the frontend, holding frontend, frontend-id, online (1), state
 * (Initialising) and backend_keys. Keys are "name", "value", ..., NULL.
 */
struct xsl_bus_attach {
	const char *type;
	const char *devid;
	unsigned frontend_id;
	unsigned backend_id;
	const char *const *frontend_keys;
	const char *const *backend_keys;
};
/* Both directories, or -EEXIST if either is there. */
XSL_API int xsl_bus_toolstack_attach(struct xsl *h, const struct xsl_bus_attach *a);
/* Ask for a detach: the backend's online 0 and state Closing (the drivers take it from there). */
XSL_API int xsl_bus_toolstack_close(struct xsl *h, const struct xsl_bus_attach *a);
/* Remove both directories and their error nodes (either may be gone already). */
XSL_API int xsl_bus_toolstack_remove(struct xsl *h, const struct xsl_bus_attach *a);
/*
 * All three as libxl does: close, wait up to timeout_ms for the backend to
 * reach Closed (the handle is pumped), remove. 0, or -ETIMEDOUT when the
 * directories were removed after the backend did not close in time.
 */
XSL_API int xsl_bus_toolstack_detach(struct xsl *h, const struct xsl_bus_attach *a,
				     int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif
