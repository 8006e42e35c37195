/* The block device pair (blkif): the backend's data path, the frontend's ring, the disk image, the XenStore keys both use. */
#ifndef XS_DRIVERS_BLK_H
#define XS_DRIVERS_BLK_H

#include <stdint.h>
#include <sys/types.h>

#include "client/xenstore_client.h"
#include "drivers/blkif_xen.h"

/*
 * Units of the protocol: sector_number, first_sect and last_sect count
 * 512-byte sectors whatever "sector-size" says (we offer 512 and do not
 * take feature-large-sector-size); a segment is part of one 4 KiB page.
 */
#define BLK_SECT 512u
#define BLK_PAGE 4096u
#define BLK_SECTS_PER_PAGE (BLK_PAGE / BLK_SECT)
/* Multi-page rings: the backend offers max-ring-page-order 4 (16 pages, 512 requests). */
#define BLK_MAX_RING_ORDER 4u
#define BLK_MAX_RING_PAGES (1u << BLK_MAX_RING_ORDER)
/* Indirect requests: the backend offers feature-max-indirect-segments (one indirect page). */
#define BLK_MAX_INDIRECT_SEGS 32u
#define BLK_MAX_SEGS BLK_MAX_INDIRECT_SEGS
/*
 * One pass of the backend over the ring takes at most this many requests,
 * and at most this many data pages: what one mapping call takes (1024
 * references), so that each direction's pages map in one call.
 */
#define BLK_BATCH 64u
#define BLK_PASS_PAGES 1024u

/* ---------------------------------------------------------------- the disk image */

struct blk_disk {
	int fd;
	uint64_t sectors;       /* 512-byte sectors (the image's size rounded down) */
	unsigned sector_size;   /* "sector-size": 512 */
	unsigned phys_sector_size; /* "physical-sector-size": 4096 when the size allows */
	int readonly;
};

/* Open path (O_RDWR, or O_RDONLY when readonly): 0 or a negative errno. */
int blk_disk_open(struct blk_disk *d, const char *path, int readonly);
void blk_disk_close(struct blk_disk *d);

/* ---------------------------------------------------------------- the backend's data path */

/* What the backend did; the test and the benchmark read these (and xs-blkback's status). */
struct blkback_stats {
	uint64_t rd_req, wr_req, flush_req, discard_req, indirect_req;
	uint64_t rd_sect, wr_sect;
	uint64_t err_req;        /* answered BLKIF_RSP_ERROR (any reason) */
	uint64_t unsupported;    /* answered BLKIF_RSP_EOPNOTSUPP */
	uint64_t bad_req;        /* malformed: segments, sector ranges, read-only disk */
	uint64_t bad_grant;      /* a reference that would not map */
	uint64_t io_err;         /* pread/pwrite/fdatasync failed */
	uint64_t fdatasyncs;     /* flushes done on the image */
	uint64_t passes;         /* batches taken off the ring */
	uint64_t map_calls;      /* mapping calls (xsl_gnt_map_pages) */
	uint64_t notifies;       /* event channel notifications sent */
};

/*
 * One connected frontend's ring: the ring pages mapped from its grants, the
 * event channel bound to its port, the disk. Requests are copied off the
 * ring before they are looked at (the frontend may change them meanwhile),
 * checked, then served a batch at a time: every data page of the batch
 * mapped in one call per direction, the I/O done with preadv/pwritev on
 * the image, the pages unmapped, the responses pushed.
 */
struct blkback_ring {
	struct xsl_hyp *hyp;
	struct blk_disk *disk;
	unsigned domid;          /* the frontend's */
	void *area;              /* the ring pages, mapped */
	unsigned npages;
	blkif_back_ring_t ring;
	uint32_t port;           /* local port, bound to the frontend's */
	int evt_fd;
	int broken;              /* the frontend broke the protocol: disconnect it */
	char why[160];
	struct blkback_stats st;
	struct blkback_batch *batch; /* scratch for one pass */
	struct blkback_pcache *pc;   /* persistent grants, if the frontend uses them */
};

/*
 * Map the frontend's ring (refs, npages a power of two up to
 * BLK_MAX_RING_PAGES) and bind its event channel. 0, or a negative errno
 * with r->why saying what failed; nothing stays mapped or bound then.
 */
int blkback_ring_connect(struct blkback_ring *r, struct xsl_hyp *hyp, struct blk_disk *disk,
			 unsigned domid, const uint32_t *refs, unsigned npages, uint32_t remote_port);
/*
 * Serve the ring: acknowledge the event channel, then take and answer
 * requests until none is left, at most max_passes batches (0: no limit).
 * Returns 1 if requests are still waiting (call again: fairness between
 * rings), 0 if none, -EPROTO if the frontend broke the protocol (r->why;
 * the ring is left alone from then on).
 */
int blkback_ring_service(struct blkback_ring *r, unsigned max_passes);
/*
 * The frontend uses persistent grants (both wrote feature-persistent 1):
 * data pages are mapped once, writable, and kept until disconnect, at most
 * max_pages of them (beyond, pages are mapped per pass as usual). 0 or -errno.
 */
int blkback_ring_set_persistent(struct blkback_ring *r, unsigned max_pages);
/* Persistent grants kept, and in how many mappings (*mappings, may be NULL). */
unsigned blkback_ring_persistent_count(const struct blkback_ring *r, unsigned *mappings);
/* Persistent grants a backend keeps per ring at most (16 MiB). */
#define BLK_PERSISTENT_MAX 4096u
/* Unbind and unmap; safe on a ring never connected (zeroed) or already disconnected. */
void blkback_ring_disconnect(struct blkback_ring *r);

/* ---------------------------------------------------------------- the frontend's ring */

struct blkfront_slot;

/* Called for each completed request: status is BLKIF_RSP_*. */
typedef void blkfront_done_fn(void *tag, int status, void *arg);

/*
 * The frontend's side of one device: the ring it shares with the backend,
 * its unbound event channel, and the data pages. Requests of up to
 * BLK_MAX_SEGS pages (indirect when over 11 and the backend offers it)
 * carry data in pages granted to the backend for the request only
 * (xsl_gnt_grant, ended when the response comes), or, where the hypervisor
 * cannot grant single pages, in a pool shared once.
 */
struct blkfront_ring {
	struct xsl_hyp *hyp;
	unsigned be_domid;
	void *area;               /* the ring pages, shared with the backend */
	unsigned npages, order;
	uint32_t refs[BLK_MAX_RING_PAGES];
	blkif_front_ring_t ring;
	uint32_t port;
	int evt_fd;
	unsigned max_segs;        /* 11, or the backend's indirect maximum (<= BLK_MAX_SEGS) */
	unsigned nslots;          /* requests in flight at most: the ring's size */
	struct blkfront_slot *slots;
	unsigned free_slot;       /* free list of slots, through their next; nslots: none */
	unsigned inflight;
	int per_request;          /* grants per request (else: the pool shared once) */
	int persistent;           /* shared once because the backend keeps them mapped */
	char *pool;               /* bounce pages (data not in zero-copy buffers, indirect pages) */
	unsigned pool_pages;
	uint32_t *pool_refs;      /* the pool's references where it is shared once */
	uint32_t *pool_free;      /* a stack of free pool pages */
	unsigned pool_nfree;
	char *zc;                 /* zero-copy buffers: the domain's own pages, used in place */
	unsigned zc_pages;
	uint32_t *zc_refs;        /* their references where shared once */
	int broken;               /* the backend broke the protocol */
	uint64_t bad_responses;   /* responses naming no request in flight: dropped */
	uint64_t leaked;          /* pages whose grant would not end: never reused */
	uint64_t grants, pushes, notifies;
};

/*
 * Share 2^order ring pages with be_domid, allocate an unbound event channel
 * for it, set up the slots and the bounce pool. 0 or a negative errno.
 */
int blkfront_ring_setup(struct blkfront_ring *f, struct xsl_hyp *hyp, unsigned be_domid,
			unsigned order, unsigned pool_pages, unsigned flags);
/* flags: the pool and the buffers shared once, read-write, for the connection (feature-persistent). */
#define BLKFRONT_PERSISTENT 1u
/* pool_pages 0: this many bounce pages (4 MiB). */
#define BLKFRONT_POOL_DEFAULT 1024u
/* The backend's indirect maximum, once known (0: direct requests only). */
void blkfront_ring_set_indirect(struct blkfront_ring *f, unsigned max_indirect);
/*
 * Memory that requests can use without a copy (the domain's own pages, page
 * aligned): pages of it; freed with the ring. NULL on failure.
 */
void *blkfront_ring_buffers(struct blkfront_ring *f, size_t pages);
/*
 * Queue one request (not yet seen by the backend: blkfront_ring_kick).
 * op is BLKIF_OP_READ, WRITE, FLUSH_DISKCACHE (nsect 0) or DISCARD; buf
 * holds nsect sectors (read into or written from). -EBUSY when the ring or
 * the bounce pool is full, -EINVAL for a request too large, -EPIPE once the
 * backend broke the protocol.
 */
int blkfront_ring_queue(struct blkfront_ring *f, int op, uint64_t sector, unsigned nsect,
			void *buf, void *tag);
/* Push the queued requests; notify the backend if it asks. */
void blkfront_ring_kick(struct blkfront_ring *f);
/* Take the responses that came, calling done for each: how many, or -EPIPE (broken). */
int blkfront_ring_complete(struct blkfront_ring *f, blkfront_done_fn *done, void *arg);
/* Wait up to timeout_ms (<0: for ever) for the backend's notification: 1, 0 on time-out, -errno. */
int blkfront_ring_wait(struct blkfront_ring *f, int timeout_ms);
/* One request, waited for: 0, -EIO (BLKIF_RSP_ERROR), -EOPNOTSUPP, -ETIMEDOUT. */
int blkfront_ring_io(struct blkfront_ring *f, int op, uint64_t sector, unsigned nsect, void *buf,
		     int timeout_ms);
/*
 * Close the event channel, end every grant (requests in flight are lost),
 * free the pages: 0, or -EBUSY while the backend still maps the ring (what
 * is left is kept: call again later).
 */
int blkfront_ring_teardown(struct blkfront_ring *f);
/*
 * Give up a ring the backend never let go of: this process's own memory
 * freed, the pages left shared (the domain's end takes them back).
 */
void blkfront_ring_forget(struct blkfront_ring *f);

#endif

/* ---------------------------------------------------------------- on the bus: the backend */

struct xsl_bus;
struct xsl_bus_dev;
struct blkback_dev;

/*
 * The backend side of "vbd" on a dom0 bus: each device's image opened from
 * its params and mode, the features published and InitWait; the
 * frontend's ring connected when it says Initialised or Connected, served
 * from the server's loop; Closing and Closed followed. A frontend that
 * breaks the protocol is reported (the device's error node) and
 * disconnected: the device goes to Closing.
 */
struct blkback_server;

struct blkback_server_opts {
	struct xsl *h;            /* privileged, dom0 (not owned) */
	struct xsl_hyp *hyp;      /* acting for dom0 (not owned) */
	int verbose;              /* log state changes of every device */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

int blkback_server_open(struct blkback_server **out, const struct blkback_server_opts *opts);
/*
 * Serve: the handle pumped (the bus's callbacks), every connected ring's
 * requests, until stop_fd (>= 0) is readable or timeout_ms (>= 0) passes.
 * 0, or -errno when the store's handle is dead.
 */
int blkback_server_run(struct blkback_server *s, int stop_fd, int timeout_ms);
/* Every device's statistics added up (the devices gone included). */
void blkback_server_stats(struct blkback_server *s, struct blkback_stats *st);
/* Devices bound, rings connected. */
void blkback_server_counts(struct blkback_server *s, unsigned *devices, unsigned *connected);
void blkback_server_close(struct blkback_server *s);

/* ---------------------------------------------------------------- on the bus: the frontend */

/*
 * The frontend side of "vbd" on a guest's bus: on the backend's InitWait
 * the ring (as many pages as both offer) and the event channel are made
 * and published with protocol and Initialised in one transaction; on its
 * Connected the disk's size and features are read and the device goes
 * Connected; on its Closing the device closes (requests in flight fail).
 */
struct blkfront_guest;
struct blkfront_dev;

struct blkfront_guest_opts {
	struct xsl *h;            /* the guest's handle (not owned) */
	struct xsl_hyp *hyp;      /* acting for the guest's domain (not owned) */
	unsigned domid;
	unsigned ring_order;      /* the most the frontend asks for (<= BLK_MAX_RING_ORDER) */
	unsigned pool_pages;      /* bounce pages per device (0: BLKFRONT_POOL_DEFAULT) */
	int persistent;           /* use persistent grants where the backend offers them */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

int blkfront_guest_open(struct blkfront_guest **out, const struct blkfront_guest_opts *opts);
void blkfront_guest_close(struct blkfront_guest *g);
/* Pump the guest's handle (the bus's callbacks) for up to timeout_ms: as xsl_pump. */
int blkfront_guest_pump(struct blkfront_guest *g, int timeout_ms);
/* A device by its id under device/vbd ("51712"), or NULL. */
struct blkfront_dev *blkfront_guest_dev(struct blkfront_guest *g, const char *id);
/* Pump until that device is Connected: 0, -ETIMEDOUT, -ENODEV (it went, or closed). */
int blkfront_guest_wait_connected(struct blkfront_guest *g, const char *id, int timeout_ms);

struct blkfront_info {
	uint64_t sectors;
	unsigned sector_size;
	unsigned info;            /* VDISK_* */
	int flush, discard;
	unsigned max_indirect;
	unsigned ring_pages;
	int persistent;           /* feature-persistent negotiated */
	int connected;
	int state;                /* the device's own XenbusState */
};
void blkfront_dev_info(struct blkfront_dev *d, struct blkfront_info *info);
/* The device's ring, while it is connected (for queued I/O), else NULL. */
struct blkfront_ring *blkfront_dev_ring(struct blkfront_dev *d);
/* One request, waited for (see blkfront_ring_io); -ENOTCONN when not connected. */
int blkfront_dev_io(struct blkfront_dev *d, int op, uint64_t sector, unsigned nsect, void *buf,
		    int timeout_ms);

/* ---------------------------------------------------------------- the toolstack's part (dom0) */

/* "xvda", "xvdb3", "51712": the device id (Linux's xvd numbering); -EINVAL otherwise. */
int blk_vdev_parse(const char *name, unsigned *devid);
/* The other way ("xvda"): into buf. */
void blk_vdev_name(unsigned devid, char *buf, size_t size);
/*
 * A simulated guest's domain introduced as a toolstack does: its home
 * /local/domain/<domid> made and owned by it, then INTRODUCE with its
 * store event channel (xsl_simdom_port: 1 for a fresh domain); the store
 * finds the ring at grant reference 1.
 */
int blk_ts_introduce(struct xsl *h, unsigned domid, unsigned port);
/*
 * Both directories of a vbd, as xl block-attach writes them (see
 * xsl_bus_toolstack_attach): the backend's with params (image, made
 * absolute), mode (w or r), type, dev, device-type, removable, bootable;
 * the frontend's with virtual-device and device-type. -EEXIST if there.
 */
int blk_ts_attach(struct xsl *h, unsigned be_domid, unsigned fe_domid, unsigned devid,
		  const char *image, int readonly);
/*
 * Detach: the backend to Closing (online 0), both ends waited for until
 * Closed (timeout_ms), both directories removed. 0; -ETIMEDOUT when the
 * ends did not close in time (removed anyway only with force); -ENOENT.
 */
int blk_ts_detach(struct xsl *h, unsigned be_domid, unsigned fe_domid, unsigned devid,
		  int timeout_ms, int force);

/* ---------------------------------------------------------------- a simulated guest with its frontend */

/*
 * What xs-blkfront, the tests and the benchmark each are: a domain of the
 * simulated hypervisor, its store handle over its own ring, a hypervisor
 * handle acting for it, and the vbd frontend on its bus.
 */
struct blk_simguest {
	unsigned domid;
	struct xsl_simdom *dom;
	struct xsl *h;
	struct xsl_hyp *hyp;
	struct blkfront_guest *fe;
	int timeout_ms;
};

/* The domain, its handle (calls waiting timeout_ms; 0 for ever) and its hypervisor handle. */
int blk_simguest_create(struct blk_simguest *g, const char *simhyp, unsigned domid, int timeout_ms);
/*
 * The frontend on its bus (opts' h, hyp and domid are the guest's), once
 * the domain is introduced: until then nothing is sent (the store starts
 * a ring afresh when it introduces it); waits up to the create's timeout.
 */
int blk_simguest_start(struct blk_simguest *g, const struct blkfront_guest_opts *opts);
/* 1 once the store has introduced the domain (its features are in the ring page), else 0. */
int blk_simguest_introduced(struct blk_simguest *g);
/* Everything closed, the domain destroyed (its devices' rings with it). */
void blk_simguest_destroy(struct blk_simguest *g);
