/* xsbench's domain groups: domstorm (N simulated guests brought up at once with a vif handshake, from one event loop) and domcreate (its dom0 side). */
#include "bench/xsbench.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "client/xenstore_client.h"
#include "client/xsl_transport.h"
#include "proto/simhyp.h"
#include "proto/wire.h"
#include "tests/lib/xst_wire.h"

/*
 * The actors, each a state machine driven by replies and watch events:
 *
 * - the toolstack: TS_CONNS dom0 socket connections (several xl processes
 *   creating domains at once), each creating its share of the domains one
 *   after the other as libxl does: one transaction writing the home, the
 *   frontend and the backend directories with their permissions, then
 *   INTRODUCE. The guest starts ("unpauses") when INTRODUCE is answered.
 * - the backend: ONE dom0 connection for every device, as a dom0 kernel's
 *   xenbus has one connection. It watches the backend tree, and for each new
 *   device reads it, publishes its features and InitWait, watches the
 *   frontend state, and once the frontend is Connected reads the ring
 *   references and switches to Connected.
 * - the guests: each over its own ring, as netfront: reads its device
 *   entries, watches the backend state, and at InitWait reads the backend
 *   features, writes its ring references in a transaction and switches to
 *   Connected; done when it sees the backend Connected.
 *
 * Every request is checked; an error reply, an unexpected value or a
 * handshake that stops progressing is a benchmark error (EAGAIN at a commit
 * is the protocol's retry, counted, not an error). The benchmark process is
 * one loop thread (the daemon is single-threaded and this keeps the client
 * to one CPU) plus a dom0 prober thread timing a READ every millisecond.
 */

#define TS_CONNS 4
#define BATCH_MAX 32
#define BE_PATH "/local/domain/0/backend/vif"

enum tkind { T_GUEST, T_BACKEND, T_TOOLSTACK };
static const char *const tkind_name[] = {"guest", "backend", "toolstack"};

/* One connection the loop drives: a guest's ring or a dom0 socket. */
struct chan {
	enum tkind kind;
	struct xst_wire *c;
	struct xsl_simdom *dom; /* ring channels only */
	int fd;                 /* what the loop waits on: the guest's eventfd or the socket */
	struct task *task;      /* its one task, or NULL (the backend: one task per device) */
	unsigned char *out;     /* requests of the batch being built, sent together */
	size_t olen, ocap;
};

/*
 * A sequence of request batches: one batch in flight at a time; the next
 * step is decided when its last reply is in. req_id = id << 8 | index.
 */
struct task {
	enum tkind kind;
	struct chan *ch;
	unsigned id;
	unsigned domid;
	int stage;
	unsigned n, left;
	uint32_t type[BATCH_MAX];
	int dirty;  /* a watch fired: read the watched state once idle */
	int eagain; /* the commit of the current batch answered EAGAIN */
	uint32_t tx;
	int peer_state; /* last state read of the other end */
	int started, connected, ready;
	unsigned ts_next; /* toolstack: index of its next domain */
	char bpath[64];   /* guest: its backend's path, as read */
	double t_intro, t_done;
};

struct guest {
	struct task t;
	struct chan ch;
	struct xsl_simdom *dom;
};


struct storm {
	const struct xsb_dom_cfg *cfg;
	struct xsb_dom_res *res;
	unsigned n;
	int ep;
	struct guest *g;   /* [n]: domain i + 1 */
	struct task *bdev; /* [n]: the backend's device of domain i + 1 */
	struct chan bch;
	struct task ts[TS_CONNS];
	struct chan tsch[TS_CONNS];
	unsigned guests_done, b_ready, ts_done;
	int draining; /* destruction: the backend's messages are only counted */
	int failed;
	double t0;
	struct xst_msg *m;
};

static void __attribute__((format(printf, 2, 3))) sfail(struct storm *s, const char *fmt, ...)
{
	va_list ap;

	if (s->failed)
		return; /* the first failure is the one that explains */
	s->failed = 1;
	va_start(ap, fmt);
	vsnprintf(s->res->err, sizeof(s->res->err), fmt, ap);
	va_end(ap);
}

/* ---------------------------------------------------------------- requests */

static void chan_init(struct chan *ch, enum tkind kind, struct xst_wire *c,
		      struct xsl_simdom *dom, struct task *task)
{
	ch->kind = kind;
	ch->c = c;
	ch->dom = dom;
	ch->fd = xst_wire_fd(c);
	ch->task = task;
}

static void t_begin(struct task *t, int stage)
{
	t->stage = stage;
	t->n = 0;
	t->left = 0;
	t->eagain = 0;
}

/* Queue one request of the task's batch; raw_last: the last string is a WRITE value. */
static void t_add(struct storm *s, struct task *t, uint32_t type, uint32_t tx, int raw_last,
		  const char *const *args)
{
	struct chan *ch = t->ch;
	char payload[512];
	int len = xst_payload(payload, sizeof(payload), raw_last, args);
	struct xs_header h;

	if (len < 0 || t->n == BATCH_MAX) {
		sfail(s, "%s batch too big", tkind_name[t->kind]);
		return;
	}
	if (ch->olen + XS_HEADER_SIZE + (size_t)len > ch->ocap) {
		size_t cap = ch->ocap ? ch->ocap * 2 : 4096;
		unsigned char *o;

		while (cap < ch->olen + XS_HEADER_SIZE + (size_t)len)
			cap *= 2;
		o = realloc(ch->out, cap);
		if (!o) {
			sfail(s, "out of memory");
			return;
		}
		ch->out = o;
		ch->ocap = cap;
	}
	h = (struct xs_header){type, t->id << 8 | t->n, tx, (uint32_t)len};
	xs_header_encode(&h, ch->out + ch->olen);
	memcpy(ch->out + ch->olen + XS_HEADER_SIZE, payload, (size_t)len);
	ch->olen += XS_HEADER_SIZE + (size_t)len;
	t->type[t->n++] = type;
	t->left++;
	s->res->requests++;
}

#define ADD(s, t, type, tx, ...) t_add(s, t, type, tx, 0, (const char *const[]){__VA_ARGS__, NULL})
#define WR(s, t, tx, path, value) t_add(s, t, XS_WRITE, tx, 1, (const char *const[]){path, value, NULL})

/* Send the batch built (one write to the socket or ring). */
static void t_send(struct storm *s, struct task *t)
{
	struct chan *ch = t->ch;

	if (ch->olen && xst_wire_send(ch->c, ch->out, ch->olen) < 0)
		sfail(s, "%s of domain %u: send: %s", tkind_name[t->kind], t->domid, strerror(errno));
	ch->olen = 0;
}

/* ---------------------------------------------------------------- the guests */

/* A guest's stages (the backend's are B_*, the toolstack's TS_*). */
enum { GS_NONE, GS_READ_FE, GS_WATCH, GS_IDLE, GS_READ_STATE, GS_FEATURES, GS_TX_START,
       GS_TX_BODY, GS_CONNECT, GS_DONE };

static void guest_start(struct storm *s, struct guest *g)
{
	struct task *t = &g->t;
	struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &g->ch};

	g->ch.c = xst_wire_ring(g->dom);
	if (!g->ch.c) {
		sfail(s, "domain %u: its ring: %s", t->domid, strerror(errno));
		return;
	}
	chan_init(&g->ch, T_GUEST, g->ch.c, g->dom, t);
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, g->ch.fd, &ev) < 0) {
		sfail(s, "epoll_ctl: %s", strerror(errno));
		return;
	}
	t->t_intro = xsb_now_s();
	/* Paths relative to the home, as a guest kernel's xenbus uses them. */
	t_begin(t, GS_READ_FE);
	ADD(s, t, XS_READ, 0, "device/vif/0/backend");
	ADD(s, t, XS_READ, 0, "device/vif/0/backend-id");
	ADD(s, t, XS_READ, 0, "device/vif/0/mac");
	ADD(s, t, XS_READ, 0, "device/vif/0/handle");
	t_send(s, t);
}

static void guest_reply(struct storm *s, struct task *t, unsigned k, const struct xst_msg *m)
{
	char want[64];

	switch (t->stage) {
	case GS_READ_FE:
		if (k == 0) {
			snprintf(want, sizeof(want), BE_PATH "/%u/0", t->domid);
			if (strcmp(m->payload, want) != 0)
				sfail(s, "domain %u read backend '%s'", t->domid, m->payload);
			snprintf(t->bpath, sizeof(t->bpath), "%.63s", m->payload);
		} else if (k == 1 && strcmp(m->payload, "0") != 0) {
			sfail(s, "domain %u read backend-id '%s'", t->domid, m->payload);
		}
		break;
	case GS_READ_STATE:
		t->peer_state = atoi(m->payload);
		break;
	case GS_FEATURES:
		if (strcmp(m->payload, k == 1 ? "0" : "1") != 0)
			sfail(s, "domain %u read backend feature %u '%s'", t->domid, k, m->payload);
		break;
	case GS_TX_START:
		t->tx = (uint32_t)strtoul(m->payload, NULL, 10);
		break;
	default:
		break;
	}
}

static void guest_advance(struct storm *s, struct task *t)
{
	char path[96], v1[16], v2[16], v3[16];

	switch (t->stage) {
	case GS_READ_FE:
		t_begin(t, GS_WATCH);
		snprintf(path, sizeof(path), "%s/state", t->bpath);
		ADD(s, t, XS_WATCH, 0, path, "b");
		t_send(s, t);
		return;
	case GS_READ_STATE:
		if (t->peer_state == 4 && t->connected) {
			t->stage = GS_DONE;
			t->t_done = xsb_now_s();
			s->guests_done++;
			return;
		}
		if (t->peer_state >= 2 && !t->started) {
			/* InitWait: what the backend offers, then our rings in one transaction. */
			t->started = 1;
			t_begin(t, GS_FEATURES);
			snprintf(path, sizeof(path), "%s/feature-rx-copy", t->bpath);
			ADD(s, t, XS_READ, 0, path);
			snprintf(path, sizeof(path), "%s/feature-rx-flip", t->bpath);
			ADD(s, t, XS_READ, 0, path);
			snprintf(path, sizeof(path), "%s/feature-sg", t->bpath);
			ADD(s, t, XS_READ, 0, path);
			t_send(s, t);
			return;
		}
		t->stage = GS_IDLE;
		break;
	case GS_FEATURES:
		t_begin(t, GS_TX_START);
		ADD(s, t, XS_TRANSACTION_START, 0, "");
		t_send(s, t);
		return;
	case GS_TX_START:
		t_begin(t, GS_TX_BODY);
		snprintf(v1, sizeof(v1), "%u", 8 + 2 * t->domid);
		snprintf(v2, sizeof(v2), "%u", 9 + 2 * t->domid);
		snprintf(v3, sizeof(v3), "%u", 100 + t->domid);
		WR(s, t, t->tx, "device/vif/0/tx-ring-ref", v1);
		WR(s, t, t->tx, "device/vif/0/rx-ring-ref", v2);
		WR(s, t, t->tx, "device/vif/0/event-channel", v3);
		WR(s, t, t->tx, "device/vif/0/request-rx-copy", "1");
		WR(s, t, t->tx, "device/vif/0/feature-rx-notify", "1");
		WR(s, t, t->tx, "device/vif/0/feature-sg", "1");
		ADD(s, t, XS_TRANSACTION_END, t->tx, "T");
		t_send(s, t);
		return;
	case GS_TX_BODY:
		if (t->eagain) {
			t_begin(t, GS_TX_START);
			ADD(s, t, XS_TRANSACTION_START, 0, "");
			t_send(s, t);
			return;
		}
		t_begin(t, GS_CONNECT);
		WR(s, t, 0, "device/vif/0/state", "4");
		t_send(s, t);
		return;
	case GS_CONNECT:
		t->connected = 1;
		t->stage = GS_IDLE;
		break;
	case GS_WATCH:
		t->stage = GS_IDLE;
		break;
	default:
		break;
	}
	if (t->stage == GS_IDLE && t->dirty) {
		t->dirty = 0;
		t_begin(t, GS_READ_STATE);
		snprintf(path, sizeof(path), "%s/state", t->bpath);
		ADD(s, t, XS_READ, 0, path);
		t_send(s, t);
	}
}

/* ---------------------------------------------------------------- the backend */

enum { B_NONE, B_READ, B_INIT, B_IDLE, B_READ_STATE, B_CONN_READ, B_CONNECT };

static void backend_start(struct storm *s, struct task *t)
{
	char p[5][96];

	t_begin(t, B_READ);
	snprintf(p[0], sizeof(p[0]), BE_PATH "/%u/0/frontend", t->domid);
	snprintf(p[1], sizeof(p[1]), BE_PATH "/%u/0/frontend-id", t->domid);
	snprintf(p[2], sizeof(p[2]), BE_PATH "/%u/0/handle", t->domid);
	snprintf(p[3], sizeof(p[3]), BE_PATH "/%u/0/mac", t->domid);
	snprintf(p[4], sizeof(p[4]), BE_PATH "/%u/0/script", t->domid);
	for (int i = 0; i < 5; i++)
		ADD(s, t, XS_READ, 0, p[i]);
	t_send(s, t);
}

static void backend_reply(struct storm *s, struct task *t, unsigned k, const struct xst_msg *m)
{
	char want[64];

	switch (t->stage) {
	case B_READ:
		if (k == 0)
			snprintf(want, sizeof(want), "/local/domain/%u/device/vif/0", t->domid);
		else if (k == 1)
			snprintf(want, sizeof(want), "%u", t->domid);
		else
			break;
		if (strcmp(m->payload, want) != 0)
			sfail(s, "backend of domain %u read '%s', expected '%s'", t->domid, m->payload,
			      want);
		break;
	case B_READ_STATE:
		t->peer_state = atoi(m->payload);
		break;
	case B_CONN_READ:
		/* What the guest wrote in its transaction, all of it visible now. */
		if (k < 3) {
			unsigned v = k == 0 ? 8 + 2 * t->domid : k == 1 ? 9 + 2 * t->domid : 100 + t->domid;

			snprintf(want, sizeof(want), "%u", v);
			if (strcmp(m->payload, want) != 0)
				sfail(s, "backend of domain %u read ring value %u '%s'", t->domid, k,
				      m->payload);
		}
		break;
	default:
		break;
	}
}

static void backend_advance(struct storm *s, struct task *t)
{
	char p[8][96], tok[16];
	const char *fe_keys[] = {"tx-ring-ref", "rx-ring-ref", "event-channel", "request-rx-copy",
				 "feature-rx-notify"};

	switch (t->stage) {
	case B_READ:
		t_begin(t, B_INIT);
		snprintf(p[0], sizeof(p[0]), BE_PATH "/%u/0/feature-sg", t->domid);
		snprintf(p[1], sizeof(p[1]), BE_PATH "/%u/0/feature-gso-tcpv4", t->domid);
		snprintf(p[2], sizeof(p[2]), BE_PATH "/%u/0/feature-rx-copy", t->domid);
		snprintf(p[3], sizeof(p[3]), BE_PATH "/%u/0/feature-rx-flip", t->domid);
		snprintf(p[4], sizeof(p[4]), BE_PATH "/%u/0/feature-split-event-channels", t->domid);
		snprintf(p[5], sizeof(p[5]), BE_PATH "/%u/0/state", t->domid);
		snprintf(p[6], sizeof(p[6]), "/local/domain/%u/device/vif/0/state", t->domid);
		snprintf(tok, sizeof(tok), "f%u", t->domid);
		WR(s, t, 0, p[0], "1");
		WR(s, t, 0, p[1], "1");
		WR(s, t, 0, p[2], "1");
		WR(s, t, 0, p[3], "0");
		WR(s, t, 0, p[4], "1");
		WR(s, t, 0, p[5], "2");
		ADD(s, t, XS_WATCH, 0, p[6], tok);
		t_send(s, t);
		return;
	case B_INIT:
		t->stage = B_IDLE;
		break;
	case B_READ_STATE:
		if (!t->ready) {
			/* Watching the frontend and seen its state: all the dom0 side can do alone. */
			t->ready = 1;
			s->b_ready++;
		}
		if (t->peer_state == 4 && !t->started) {
			t->started = 1;
			t_begin(t, B_CONN_READ);
			for (int i = 0; i < 5; i++) {
				snprintf(p[i], sizeof(p[i]), "/local/domain/%u/device/vif/0/%s", t->domid,
					 fe_keys[i]);
				ADD(s, t, XS_READ, 0, p[i]);
			}
			t_send(s, t);
			return;
		}
		t->stage = B_IDLE;
		break;
	case B_CONN_READ:
		t_begin(t, B_CONNECT);
		snprintf(p[0], sizeof(p[0]), BE_PATH "/%u/0/hotplug-status", t->domid);
		snprintf(p[1], sizeof(p[1]), BE_PATH "/%u/0/state", t->domid);
		WR(s, t, 0, p[0], "connected");
		WR(s, t, 0, p[1], "4");
		t_send(s, t);
		return;
	case B_CONNECT:
		t->connected = 1;
		t->stage = B_IDLE;
		break;
	default:
		break;
	}
	if (t->stage == B_IDLE && t->dirty) {
		t->dirty = 0;
		t_begin(t, B_READ_STATE);
		snprintf(p[0], sizeof(p[0]), "/local/domain/%u/device/vif/0/state", t->domid);
		ADD(s, t, XS_READ, 0, p[0]);
		t_send(s, t);
	}
}

/* ---------------------------------------------------------------- the toolstack */

enum { TS_TX_START = 1, TS_TX_BODY, TS_INTRO, TS_FINISHED };

/* Connection k creates domains k+1, k+1+TS_CONNS, ... */
static void toolstack_next(struct storm *s, struct task *t)
{
	unsigned domid = t->id + 1 + t->ts_next * TS_CONNS;

	if (domid > s->n) {
		t->stage = TS_FINISHED;
		if (++s->ts_done == TS_CONNS)
			s->res->toolstack_s = xsb_now_s() - s->t0;
		return;
	}
	t->ts_next++;
	t->domid = domid;
	t_begin(t, TS_TX_START);
	ADD(s, t, XS_TRANSACTION_START, 0, "");
	t_send(s, t);
}

static void toolstack_body(struct storm *s, struct task *t)
{
	unsigned d = t->domid;
	char home[32], fe[64], be[64], p[24][96], own[16], rd[16], id[16], mac[24], name[24];
	unsigned k = 0;
	uint32_t tx = t->tx;

	snprintf(home, sizeof(home), "/local/domain/%u", d);
	snprintf(fe, sizeof(fe), "%s/device/vif/0", home);
	snprintf(be, sizeof(be), BE_PATH "/%u/0", d);
	snprintf(own, sizeof(own), "n%u", d);
	snprintf(rd, sizeof(rd), "r%u", d);
	snprintf(id, sizeof(id), "%u", d);
	snprintf(name, sizeof(name), "guest-%u", d);
	snprintf(mac, sizeof(mac), "00:16:3e:%02x:%02x:%02x", (d >> 16) & 0xff, (d >> 8) & 0xff,
		 d & 0xff);
	t_begin(t, TS_TX_BODY);
	/* The home, owned by the domain. */
	ADD(s, t, XS_MKDIR, tx, home);
	ADD(s, t, XS_SET_PERMS, tx, home, own);
	snprintf(p[k], sizeof(p[k]), "%s/name", home);
	WR(s, t, tx, p[k++], name);
	snprintf(p[k], sizeof(p[k]), "%s/domid", home);
	WR(s, t, tx, p[k++], id);
	/* The frontend: the domain's, readable by the backend domain. */
	ADD(s, t, XS_MKDIR, tx, fe);
	ADD(s, t, XS_SET_PERMS, tx, fe, own, "r0");
	snprintf(p[k], sizeof(p[k]), "%s/backend", fe);
	WR(s, t, tx, p[k++], be);
	snprintf(p[k], sizeof(p[k]), "%s/backend-id", fe);
	WR(s, t, tx, p[k++], "0");
	snprintf(p[k], sizeof(p[k]), "%s/handle", fe);
	WR(s, t, tx, p[k++], "0");
	snprintf(p[k], sizeof(p[k]), "%s/mac", fe);
	WR(s, t, tx, p[k++], mac);
	snprintf(p[k], sizeof(p[k]), "%s/state", fe);
	WR(s, t, tx, p[k++], "1");
	/* The backend: dom0's, readable by the domain. */
	ADD(s, t, XS_MKDIR, tx, be);
	ADD(s, t, XS_SET_PERMS, tx, be, "n0", rd);
	snprintf(p[k], sizeof(p[k]), "%s/frontend", be);
	WR(s, t, tx, p[k++], fe);
	snprintf(p[k], sizeof(p[k]), "%s/frontend-id", be);
	WR(s, t, tx, p[k++], id);
	snprintf(p[k], sizeof(p[k]), "%s/online", be);
	WR(s, t, tx, p[k++], "1");
	snprintf(p[k], sizeof(p[k]), "%s/state", be);
	WR(s, t, tx, p[k++], "1");
	snprintf(p[k], sizeof(p[k]), "%s/handle", be);
	WR(s, t, tx, p[k++], "0");
	snprintf(p[k], sizeof(p[k]), "%s/mac", be);
	WR(s, t, tx, p[k++], mac);
	snprintf(p[k], sizeof(p[k]), "%s/script", be);
	WR(s, t, tx, p[k++], "/etc/xen/scripts/vif-bridge");
	snprintf(p[k], sizeof(p[k]), "%s/bridge", be);
	WR(s, t, tx, p[k++], "xenbr0");
	snprintf(p[k], sizeof(p[k]), "%s/type", be);
	WR(s, t, tx, p[k++], "vif");
	ADD(s, t, XS_TRANSACTION_END, tx, "T");
	t_send(s, t);
}

static void toolstack_advance(struct storm *s, struct task *t)
{
	char id[16];

	switch (t->stage) {
	case TS_TX_START:
		toolstack_body(s, t);
		return;
	case TS_TX_BODY:
		if (t->eagain) {
			t_begin(t, TS_TX_START);
			ADD(s, t, XS_TRANSACTION_START, 0, "");
			t_send(s, t);
			return;
		}
		t_begin(t, TS_INTRO);
		snprintf(id, sizeof(id), "%u", t->domid);
		/* The store maps grant 1 and binds port 1, a fresh simulated domain's store port (xsl_simdom_port). */
		ADD(s, t, XS_INTRODUCE, 0, id, "0", "1");
		t_send(s, t);
		return;
	case TS_INTRO:
		if (s->cfg->guests)
			guest_start(s, &s->g[t->domid - 1]);
		toolstack_next(s, t);
		return;
	default:
		return;
	}
}

/* ---------------------------------------------------------------- dispatch */

static void advance(struct storm *s, struct task *t)
{
	if (s->failed)
		return;
	if (t->kind == T_GUEST)
		guest_advance(s, t);
	else if (t->kind == T_BACKEND)
		backend_advance(s, t);
	else
		toolstack_advance(s, t);
}

static void on_event(struct storm *s, struct chan *ch, const struct xst_msg *m)
{
	const char *path = m->payload;
	size_t pl = strnlen(path, m->hdr.len);
	const char *token = pl < m->hdr.len ? path + pl + 1 : "";
	unsigned domid;
	struct task *t;
	char rest;

	s->res->events++;
	if (s->draining)
		return;
	if (ch->kind == T_GUEST && strcmp(token, "b") == 0) {
		t = ch->task;
	} else if (ch->kind == T_BACKEND && token[0] == 'f') {
		domid = (unsigned)atoi(token + 1);
		if (domid < 1 || domid > s->n) {
			sfail(s, "backend: event with token '%s'", token);
			return;
		}
		t = &s->bdev[domid - 1];
	} else if (ch->kind == T_BACKEND && strcmp(token, "be") == 0) {
		/* A new device is one whose directory the backend has not seen yet. */
		if (sscanf(path, BE_PATH "/%u/0%c", &domid, &rest) >= 1 && domid >= 1 &&
		    domid <= s->n && strncmp(path, BE_PATH "/", sizeof(BE_PATH)) == 0 &&
		    strchr(path + sizeof(BE_PATH), '/') != NULL && s->bdev[domid - 1].stage == B_NONE)
			backend_start(s, &s->bdev[domid - 1]);
		return;
	} else {
		sfail(s, "%s: unexpected event %s token '%s'", tkind_name[ch->kind], path, token);
		return;
	}
	t->dirty = 1;
	if (t->left == 0)
		advance(s, t);
}

static void on_msg(struct storm *s, struct chan *ch, const struct xst_msg *m)
{
	unsigned id = m->hdr.req_id >> 8, k = m->hdr.req_id & 0xff;
	struct task *t = ch->task;

	if (m->hdr.type == XS_WATCH_EVENT) {
		on_event(s, ch, m);
		return;
	}
	if (s->draining)
		return;
	if (!t)
		t = id >= 1 && id <= s->n ? &s->bdev[id - 1] : NULL;
	if (!t || t->id != id || k >= t->n || t->left == 0) {
		sfail(s, "%s: reply %s with unexpected req_id %u", tkind_name[ch->kind],
		      xsb_type_str(m->hdr.type), m->hdr.req_id);
		return;
	}
	if (m->hdr.type != t->type[k]) {
		if (m->hdr.type == XS_ERROR && t->type[k] == XS_TRANSACTION_END &&
		    strcmp(m->payload, "EAGAIN") == 0) {
			t->eagain = 1;
			s->res->txn_eagain++;
		} else {
			sfail(s, "%s of domain %u: %s -> %s %s", tkind_name[t->kind], t->domid,
			      xsb_type_str(t->type[k]), xsb_type_str(m->hdr.type),
			      m->hdr.type == XS_ERROR ? m->payload : "");
			return;
		}
	} else if (t->kind == T_GUEST) {
		guest_reply(s, t, k, m);
	} else if (t->kind == T_BACKEND) {
		backend_reply(s, t, k, m);
	} else if (t->stage == TS_TX_START) {
		t->tx = (uint32_t)strtoul(m->payload, NULL, 10);
	}
	if (--t->left == 0)
		advance(s, t);
}

/* More for this channel now: bytes in the ring, or a readable socket. */
static int chan_more(const struct chan *ch)
{
	struct pollfd p = {ch->fd, POLLIN, 0};

	if (ch->dom) {
		struct xs_ring *r = xsl_simdom_ring(ch->dom, NULL, NULL);

		return xs_ring_pending(&r->rsp_cons, &r->rsp_prod) != 0;
	}
	return poll(&p, 1, 0) > 0;
}

/*
 * Everything the channel has for us. A guest's eventfd is cleared first, so a
 * notification for what the store produces after our last look wakes the
 * loop again. xst_wire_recv with timeout 0 takes what is there at one look,
 * so the ring or socket is checked again before a blocking receive.
 */
static void chan_drain(struct storm *s, struct chan *ch)
{
	uint64_t v;

	if (ch->dom && read(ch->fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
		sfail(s, "guest eventfd: %s", strerror(errno));
		return;
	}
	while (!s->failed) {
		if (xst_wire_recv(ch->c, s->m, 0) < 0) {
			if (errno != ETIMEDOUT) {
				sfail(s, "%s: receive: %s", tkind_name[ch->kind], strerror(errno));
				return;
			}
			if (!chan_more(ch))
				return;
			if (xst_wire_recv(ch->c, s->m, s->cfg->timeout_ms) < 0) {
				sfail(s, "%s%s%u: receive: %s", tkind_name[ch->kind],
				      ch->task ? " of domain " : "", ch->task ? ch->task->domid : 0,
				      strerror(errno));
				return;
			}
		}
		on_msg(s, ch, s->m);
	}
}

/* Where the stragglers are, for the error of a storm that stopped progressing. */
static void diagnose(struct storm *s)
{
	unsigned shown = 0;

	for (unsigned i = 0; i < s->n && shown < 5; i++) {
		struct task *g = &s->g[i].t, *b = &s->bdev[i];

		if (s->cfg->guests ? g->stage == GS_DONE : b->ready)
			continue;
		shown++;
		fprintf(stderr,
			"    domain %u: guest stage %d (%u replies due, backend state %d, ring error %u),"
			" backend stage %d (%u due, frontend state %d)\n",
			i + 1, g->stage, g->left, g->peer_state,
			s->g[i].dom ? xs_ring_load(&xsl_simdom_ring(s->g[i].dom, NULL, NULL)->error)
				    : 0,
			b->stage, b->left, b->peer_state);
	}
	for (int k = 0; k < TS_CONNS; k++)
		if (s->ts[k].stage != TS_FINISHED)
			fprintf(stderr, "    toolstack %d: domain %u stage %d, %u replies due\n", k,
				s->ts[k].domid, s->ts[k].stage, s->ts[k].left);
}

static int storm_finished(const struct storm *s)
{
	if (s->cfg->guests)
		return s->guests_done == s->n;
	return s->ts_done == TS_CONNS && s->b_ready == s->n;
}

/* Run the loop until the storm is over; no progress for timeout_ms is an error. */
static void storm_loop(struct storm *s)
{
	struct epoll_event ev[64];
	unsigned long seen = 0;
	double last = xsb_now_s();

	while (!storm_finished(s) && !s->failed) {
		int n = epoll_wait(s->ep, ev, 64, 100);
		double t;

		if (n < 0 && errno != EINTR) {
			sfail(s, "epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n && !s->failed; i++)
			chan_drain(s, ev[i].data.ptr);
		t = xsb_now_s();
		if (s->res->requests + s->res->events != seen) {
			seen = s->res->requests + s->res->events;
			last = t;
		} else if (t - last > s->cfg->timeout_ms / 1000.0) {
			sfail(s, "stalled: %u of %u handshakes done, %u backends at InitWait, %lu requests",
			      s->guests_done, s->n, s->b_ready, s->res->requests);
			diagnose(s);
		}
		if (!s->failed && t - s->t0 > s->cfg->cap_s) {
			sfail(s, "storm too slow: %u of %u handshakes in %.0f s", s->guests_done, s->n,
			      s->cfg->cap_s);
			diagnose(s);
		}
	}
}

/* ---------------------------------------------------------------- set-up and checks */

/* One synchronous request on a dom0 socket; the reply must be of the same type. */
static int sync_call(struct storm *s, struct xst_wire *c, uint32_t type, int raw_last,
		     const char *const *args)
{
	char buf[512];
	int len = xst_payload(buf, sizeof(buf), raw_last, args);

	if (len < 0 || xsb_exchange(c, type, 0, buf, (size_t)len, s->m, s->cfg->timeout_ms) < 0) {
		sfail(s, "%s %s: %s", xsb_type_str(type), args[0],
		      len < 0 ? "too long" : strerror(errno));
		return -1;
	}
	if (s->m->hdr.type != type) {
		sfail(s, "%s %s -> %s %s", xsb_type_str(type), args[0],
		      xsb_type_str(s->m->hdr.type), s->m->hdr.type == XS_ERROR ? s->m->payload : "");
		return -1;
	}
	return 0;
}

/* Every node of the tree, by walking it from the root (small trees only). */
static long count_nodes(struct storm *s, struct xst_wire *c)
{
	size_t n = 0, cap = 256;
	char **stack = malloc(cap * sizeof(char *));
	long count = 0;

	if (!stack || !(stack[n++] = strdup("/"))) {
		free(stack);
		sfail(s, "out of memory");
		return -1;
	}
	while (n > 0) {
		char *p = stack[--n];
		struct xst_msg *m = s->m;

		count++;
		if (sync_call(s, c, XS_DIRECTORY, 0, (const char *const[]){p, NULL}) < 0) {
			free(p);
			count = -1;
			break;
		}
		for (uint32_t off = 0; off < m->hdr.len;) {
			const char *name = m->payload + off;
			size_t nl = strlen(name);
			char *child;

			off += (uint32_t)nl + 1;
			if (n == cap) {
				char **ns = realloc(stack, 2 * cap * sizeof(char *));

				if (!ns)
					break;
				stack = ns;
				cap *= 2;
			}
			if (asprintf(&child, "%s/%s", strcmp(p, "/") ? p : "", name) < 0)
				break;
			stack[n++] = child;
		}
		free(p);
	}
	while (n > 0)
		free(stack[--n]);
	free(stack);
	return count;
}

/*
 * DIRECTORY /local/domain: 1 if it lists exactly `want` (wlen bytes), 0 if
 * not (yet): E2BIG too, since a listing over 4 KiB cannot be the small one we
 * wait for. -1 on any other error.
 */
static int local_domain_is(struct storm *s, struct xst_wire *c, const char *want, uint32_t wlen)
{
	static const char path[] = "/local/domain";

	if (xsb_exchange(c, XS_DIRECTORY, 0, path, sizeof(path), s->m, s->cfg->timeout_ms) < 0) {
		sfail(s, "DIRECTORY %s: %s", path, strerror(errno));
		return -1;
	}
	if (s->m->hdr.type == XS_ERROR && strcmp(s->m->payload, "E2BIG") == 0)
		return 0;
	if (s->m->hdr.type != XS_DIRECTORY) {
		sfail(s, "DIRECTORY %s -> %s %s", path, xsb_type_str(s->m->hdr.type),
		      s->m->payload);
		return -1;
	}
	return s->m->hdr.len == wlen && memcmp(s->m->payload, want, wlen) == 0;
}

/* Everything a watcher connection has received so far, counted; -1 on error. */
static int count_pending(struct storm *s, struct xst_wire *c, unsigned *events)
{
	for (;;) {
		struct pollfd p = {xst_wire_fd(c), POLLIN, 0};

		if (xst_wire_recv(c, s->m, 0) < 0) {
			if (errno != ETIMEDOUT)
				goto err;
			if (poll(&p, 1, 0) <= 0)
				return 0;
			if (xst_wire_recv(c, s->m, s->cfg->timeout_ms) < 0)
				goto err;
		}
		if (s->m->hdr.type == XS_WATCH_EVENT)
			(*events)++;
	}
err:
	sfail(s, "watcher: receive: %s", strerror(errno));
	return -1;
}

int xsb_raise_nofile(unsigned n)
{
	struct rlimit rl;
	rlim_t want = (rlim_t)n * 3 + 256;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -1;
	if (rl.rlim_cur >= want)
		return 0;
	if (rl.rlim_max < want) {
		errno = EMFILE;
		return -1;
	}
	rl.rlim_cur = want;
	return setrlimit(RLIMIT_NOFILE, &rl);
}

static double thread_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_THREAD, &ru) < 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

/* ---------------------------------------------------------------- destruction */

static void guest_destroy(struct storm *s, struct guest *g)
{
	if (g->ch.c) {
		epoll_ctl(s->ep, EPOLL_CTL_DEL, g->ch.fd, NULL);
		xst_wire_close(g->ch.c);
		g->ch.c = NULL;
	}
	xsl_simdom_destroy(g->dom);
	g->dom = NULL;
}

/*
 * Destroy every domain at once, as the hypervisor would, and wait until the
 * daemon has removed them all: /local/domain lists what it did before the
 * storm, looked at after each batch of @releaseDomain events (and every
 * 100 ms, in case events are coalesced). The backend keeps its connection
 * and receives the frontend removals meanwhile; it only counts them.
 */
static void destroy_all(struct storm *s, struct xst_wire *admin, const char *base, uint32_t blen)
{
	const struct xsb_dom_cfg *cfg = s->cfg;
	struct xst_wire *w = xst_wire_socket(cfg->d->socket);
	struct xsb_prober pr;
	double t0, last_check = 0;
	int done = 0, prob = -1;

	if (!w) {
		sfail(s, "connect: %s", strerror(errno));
		return;
	}
	if (xsb_watch(w, "@releaseDomain", "rel", s->m, cfg->timeout_ms) < 0) {
		sfail(s, "WATCH @releaseDomain: %s", strerror(errno));
		goto out;
	}
	s->draining = 1;
	/*
	 * One death among all the others first: its clean-up should cost what
	 * that domain left, not what the store holds.
	 */
	t0 = xsb_now_s();
	guest_destroy(s, &s->g[0]);
	if (xst_wire_recv(w, s->m, cfg->timeout_ms) < 0) {
		sfail(s, "@releaseDomain after one death: %s", strerror(errno));
		goto out;
	}
	if (s->m->hdr.type != XS_WATCH_EVENT) {
		sfail(s, "@releaseDomain after one death: got %s", xsb_type_str(s->m->hdr.type));
		goto out;
	}
	s->res->destroy_one_ms = (xsb_now_s() - t0) * 1e3;
	s->res->release_events++;
	prob = xsb_prober_start(&pr, cfg->d->socket, cfg->timeout_ms, cfg->cap_s);
	t0 = xsb_now_s();
	for (unsigned i = 1; i < s->n; i++)
		guest_destroy(s, &s->g[i]);
	while (!done && !s->failed) {
		struct pollfd p[2] = {{xst_wire_fd(w), POLLIN, 0}, {s->bch.fd, POLLIN, 0}};
		unsigned before = s->res->release_events;
		double t;
		int r = poll(p, 2, 100);

		if (r < 0 && errno != EINTR) {
			sfail(s, "poll: %s", strerror(errno));
			break;
		}
		if (r > 0 && (p[1].revents & POLLIN))
			chan_drain(s, &s->bch);
		if (r > 0 && (p[0].revents & POLLIN) && count_pending(s, w, &s->res->release_events) < 0)
			break;
		t = xsb_now_s();
		if (s->res->release_events != before || t - last_check >= 0.1) {
			last_check = t;
			done = local_domain_is(s, admin, base, blen);
			if (done < 0)
				break;
		}
		if (!done && t - t0 > cfg->cap_s)
			sfail(s, "destruction too slow: /local/domain not back after %.0f s", cfg->cap_s);
	}
	s->res->destroy_s = xsb_now_s() - t0;
	if (prob == 0) {
		xsb_prober_stop(&pr);
		if (pr.err[0] && !s->failed)
			sfail(s, "%s", pr.err);
		xsb_prober_stats(&pr, NULL, &s->res->destroy_lat_p99_us, NULL);
		xsb_prober_free(&pr);
	}
out:
	xst_wire_close(w);
}

/* The toolstack's part after a death: the backend directories, window by window. */
static void remove_backends(struct storm *s, struct xst_wire *admin)
{
	const unsigned window = 64;
	unsigned char buf[64 * (XS_HEADER_SIZE + 64)];
	double t0 = xsb_now_s();

	for (unsigned first = 1; first <= s->n && !s->failed; first += window) {
		unsigned last = first + window - 1 < s->n ? first + window - 1 : s->n;
		size_t len = 0;

		for (unsigned d = first; d <= last; d++) {
			int pl = snprintf((char *)buf + len + XS_HEADER_SIZE, 64, BE_PATH "/%u", d) + 1;
			struct xs_header h = {XS_RM, d, 0, (uint32_t)pl};

			xs_header_encode(&h, buf + len);
			len += XS_HEADER_SIZE + (size_t)pl;
		}
		if (xst_wire_send(admin, buf, len) < 0) {
			sfail(s, "RM backends: send: %s", strerror(errno));
			return;
		}
		for (unsigned d = first; d <= last; d++) {
			if (xst_wire_recv(admin, s->m, s->cfg->timeout_ms) < 0) {
				sfail(s, "RM backends: receive: %s", strerror(errno));
				return;
			}
			if (s->m->hdr.type != XS_RM) {
				sfail(s, "RM " BE_PATH "/%u -> %s %s", s->m->hdr.req_id,
				      xsb_type_str(s->m->hdr.type), s->m->payload);
				return;
			}
		}
	}
	s->res->cleanup_s = xsb_now_s() - t0;
}

/* ---------------------------------------------------------------- the run */

int xsb_domains_run(const struct xsb_dom_cfg *cfg, struct xsb_dom_res *res)
{
	struct storm st = {.cfg = cfg, .res = res, .n = cfg->ndomains, .ep = -1};
	struct storm *s = &st;
	struct xst_wire *admin = NULL;
	struct xsb_prober pr;
	char simhyp[320], base[256];
	uint32_t blen = 0;
	double hs_cpu0;
	long long ticks0;
	int prob = -1;

	memset(res, 0, sizeof(*res));
	snprintf(simhyp, sizeof(simhyp), "%s/%s", cfg->d->dir, SIMHYP_SOCKET_NAME);
	s->m = malloc(sizeof(*s->m));
	s->g = calloc(s->n, sizeof(*s->g));
	s->bdev = calloc(s->n, sizeof(*s->bdev));
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (!s->m || !s->g || !s->bdev || s->ep < 0) {
		sfail(s, "out of memory");
		goto out;
	}
	if (cfg->sim && xsb_raise_nofile(s->n) < 0) {
		sfail(s, "RLIMIT_NOFILE too low for %u domains (3 descriptors each)", s->n);
		goto out;
	}
	for (unsigned i = 0; i < s->n; i++) {
		s->g[i].t = (struct task){.kind = T_GUEST, .ch = &s->g[i].ch, .id = i + 1, .domid = i + 1};
		s->bdev[i] = (struct task){.kind = T_BACKEND, .ch = &s->bch, .id = i + 1, .domid = i + 1};
	}

	/* Before: the tree, /local/domain, the daemon's memory, the prober alone. */
	admin = xst_wire_socket(cfg->d->socket);
	if (!admin) {
		sfail(s, "connect: %s", strerror(errno));
		goto out;
	}
	if (sync_call(s, admin, XS_WRITE, 1, (const char *const[]){XSB_PROBE_PATH, "probe", NULL}) < 0 ||
	    sync_call(s, admin, XS_MKDIR, 0, (const char *const[]){BE_PATH, NULL}) < 0)
		goto out;
	if (sync_call(s, admin, XS_DIRECTORY, 0, (const char *const[]){"/local/domain", NULL}) < 0)
		goto out;
	blen = s->m->hdr.len < sizeof(base) ? s->m->hdr.len : 0;
	memcpy(base, s->m->payload, blen);
	if (cfg->guests && (res->nodes_before = count_nodes(s, admin)) < 0)
		goto out;
	if (xsb_prober_start(&pr, cfg->d->socket, cfg->timeout_ms, 1.0) == 0) {
		xsb_sleep_s(0.3);
		xsb_prober_stop(&pr);
		xsb_prober_stats(&pr, &res->idle_p50_us, &res->idle_p99_us, NULL);
		xsb_prober_free(&pr);
	}
	xsb_sleep_s(0.2);
	res->rss0 = xst_daemon_rss_kb(cfg->d);
	res->anon0 = xsb_rss_anon_kb(cfg->d);
	res->file0 = xsb_tdb_files_kb(cfg->d);

	/* The hypervisor's part: the domains exist before the toolstack introduces them. */
	if (cfg->sim) {
		double t0 = xsb_now_s();

		for (unsigned i = 0; i < s->n; i++) {
			int err = xsl_simdom_create(simhyp, i + 1, &s->g[i].dom);

			if (err < 0) {
				s->g[i].dom = NULL;
				sfail(s, "simulated domain %u: %s", i + 1, strerror(-err));
				goto out;
			}
		}
		res->create_s = xsb_now_s() - t0;
	}

	/* The dom0 connections: the backend watching its tree, the toolstack. */
	{
		struct xst_wire *b = xst_wire_socket(cfg->d->socket);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->bch};

		if (!b) {
			sfail(s, "connect: %s", strerror(errno));
			goto out;
		}
		chan_init(&s->bch, T_BACKEND, b, NULL, NULL);
		if (xsb_watch(b, BE_PATH, "be", s->m, cfg->timeout_ms) < 0) {
			sfail(s, "the backend's WATCH: %s", strerror(errno));
			goto out;
		}
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->bch.fd, &ev) < 0) {
			sfail(s, "epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}
	for (int k = 0; k < TS_CONNS; k++) {
		struct xst_wire *c = xst_wire_socket(cfg->d->socket);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->tsch[k]};

		if (!c) {
			sfail(s, "connect: %s", strerror(errno));
			goto out;
		}
		s->ts[k] = (struct task){.kind = T_TOOLSTACK, .ch = &s->tsch[k], .id = (unsigned)k};
		chan_init(&s->tsch[k], T_TOOLSTACK, c, NULL, &s->ts[k]);
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->tsch[k].fd, &ev) < 0) {
			sfail(s, "epoll_ctl: %s", strerror(errno));
			goto out;
		}
	}

	/* The storm. */
	prob = xsb_prober_start(&pr, cfg->d->socket, cfg->timeout_ms, cfg->cap_s);
	ticks0 = xst_daemon_cpu_ticks(cfg->d);
	hs_cpu0 = thread_cpu_s();
	s->t0 = xsb_now_s();
	for (int k = 0; k < TS_CONNS && !s->failed; k++)
		toolstack_next(s, &s->ts[k]);
	storm_loop(s);
	res->storm_s = xsb_now_s() - s->t0;
	res->client_cpu_s = thread_cpu_s() - hs_cpu0;
	{
		long long ticks1 = xst_daemon_cpu_ticks(cfg->d);

		res->storm_ticks = ticks0 < 0 || ticks1 < 0 ? -1 : ticks1 - ticks0;
	}
	if (prob == 0) {
		xsb_prober_stop(&pr);
		if (pr.err[0])
			sfail(s, "%s", pr.err);
		res->lat_n = (unsigned)pr.n;
		xsb_prober_stats(&pr, &res->lat_p50_us, &res->lat_p99_us, &res->lat_max_us);
		xsb_prober_free(&pr);
		prob = -1;
	} else {
		sfail(s, "prober: %s", strerror(errno));
	}
	if (s->failed)
		goto out;
	if (cfg->guests) {
		double *hs = malloc(s->n * sizeof(double));

		if (hs) {
			for (unsigned i = 0; i < s->n; i++)
				hs[i] = (s->g[i].t.t_done - s->g[i].t.t_intro) * 1e3;
			res->hs_p50_ms = xsb_quantile(hs, s->n, 0.5);
			res->hs_p99_ms = xsb_quantile(hs, s->n, 0.99);
			free(hs);
		}
	}

	/* After: every domain alive. A round trip first, so the daemon is idle when measured. */
	if (sync_call(s, admin, XS_READ, 0, (const char *const[]){XSB_PROBE_PATH, NULL}) < 0)
		goto out;
	xsb_sleep_s(0.2);
	res->rss1 = xst_daemon_rss_kb(cfg->d);
	res->anon1 = xsb_rss_anon_kb(cfg->d);
	res->file1 = xsb_tdb_files_kb(cfg->d);
	if (!cfg->guests)
		goto out;

	destroy_all(s, admin, base, blen);
	if (s->failed)
		goto out;
	remove_backends(s, admin);
	/* The backend's watches go with its connection, as when a dom0 kernel's backend closes. */
	s->draining = 0;
	xst_wire_close(s->bch.c);
	s->bch.c = NULL;
	if (s->failed || (res->nodes_after = count_nodes(s, admin)) < 0)
		goto out;
	res->rss2 = xst_daemon_rss_kb(cfg->d);
	res->anon2 = xsb_rss_anon_kb(cfg->d);

out:
	/* Nothing left behind: the prober joined, every domain destroyed, every connection closed. */
	if (prob == 0)
		xsb_prober_free(&pr);
	if (s->g)
		for (unsigned i = 0; i < s->n; i++) {
			if (s->g[i].ch.c)
				xst_wire_close(s->g[i].ch.c);
			xsl_simdom_destroy(s->g[i].dom);
			free(s->g[i].ch.out);
		}
	if (s->bch.c)
		xst_wire_close(s->bch.c);
	free(s->bch.out);
	for (int k = 0; k < TS_CONNS; k++) {
		if (s->tsch[k].c)
			xst_wire_close(s->tsch[k].c);
		free(s->tsch[k].out);
	}
	xst_wire_close(admin);
	if (s->ep >= 0)
		close(s->ep);
	free(s->g);
	free(s->bdev);
	free(s->m);
	return s->failed ? -1 : 0;
}

/* ---------------------------------------------------------------- the domain groups */

/*
 * Issue 4's scale workload, the storm above: xsb_scaled(--domains) simulated
 * guests introduced at once, each bringing up a vif with a dom0 backend, a
 * dom0 prober timing one READ per millisecond meanwhile; then all destroyed
 * at once. Any failure of a handshake is an error: this is a large host's
 * normal load. Our daemon only: the reference daemons' rings are idle pages.
 */
int xsb_grp_domstorm(struct xst_daemon *d, int dk)
{
	struct xsb_dom_cfg cfg = {d, xsb_scaled(xsb_opt.domains), 1, 1, xsb_opt.timeout_ms,
				  xsb_opt.loop_cap_s, xsb_opt.verbose};
	struct xsb_dom_res *r = calloc(1, sizeof(*r));
	double n = cfg.ndomains;
	int rc = -1;

	if (!r) {
		xsb_fail("out of memory");
		return -1;
	}
	if (xsb_domains_run(&cfg, r) < 0) {
		xsb_fail("%s", r->err);
		goto out;
	}
	xsb_progress("    %u domains: %lu requests, %lu events, %u commit EAGAIN; client loop CPU"
		     " %.2f s of %.2f s; dom0 READs sampled %u\n",
		     cfg.ndomains, r->requests, r->events, r->txn_eagain, r->client_cpu_s, r->storm_s,
		     r->lat_n);
	xsb_progress("    RSS %ld -> %ld KiB (anon %ld -> %ld), tdb %ld -> %ld KiB; after destroy and"
		     " clean-up RSS %ld KiB (anon %ld); %u @releaseDomain events;"
		     " backend clean-up %.0f ms\n",
		     r->rss0, r->rss1, r->anon0, r->anon1, r->file0, r->file1, r->rss2, r->anon2,
		     r->release_events, r->cleanup_s * 1e3);
	xsb_fig_set(F_DS_CREATE, dk, r->create_s * 1e3);
	xsb_fig_set(F_DS_STORM, dk, r->storm_s * 1e3);
	xsb_fig_set(F_DS_TOOLSTACK, dk, r->toolstack_s * 1e3);
	xsb_fig_set(F_DS_HS_P50, dk, r->hs_p50_ms);
	xsb_fig_set(F_DS_HS_P99, dk, r->hs_p99_ms);
	xsb_fig_set(F_DS_LAT_IDLE, dk, r->idle_p50_us);
	xsb_fig_set(F_DS_LAT_P50, dk, r->lat_p50_us);
	xsb_fig_set(F_DS_LAT_P99, dk, r->lat_p99_us);
	xsb_fig_set(F_DS_LAT_MAX, dk, r->lat_max_us);
	xsb_cpu_fig(F_DS_CPU, dk, r->storm_ticks, n, "domain storm");
	xsb_cpu_fig(F_DS_CPU_REQ, dk, r->storm_ticks, (double)r->requests, "domain storm requests");
	xsb_fig_set(F_DS_MEM, dk, (double)((r->rss1 + r->file1) - (r->rss0 + r->file0)) / n);
	if (r->anon0 >= 0 && r->anon1 >= 0)
		xsb_fig_set(F_DS_MEM_ANON, dk,
			    (double)((r->anon1 + r->file1) - (r->anon0 + r->file0)) / n);
	xsb_fig_set(F_DS_DESTROY_ONE, dk, r->destroy_one_ms);
	xsb_fig_set(F_DS_DESTROY, dk, r->destroy_s * 1e3);
	xsb_fig_set(F_DS_DESTROY_P99, dk, r->destroy_lat_p99_us);
	xsb_fig_set(F_DS_LEAK, dk, (double)(r->nodes_after - r->nodes_before));
	if (r->nodes_after != r->nodes_before) {
		char note[96];

		snprintf(note, sizeof(note), "%ld nodes before the storm, %ld after the clean-up",
			 r->nodes_before, r->nodes_after);
		xsb_fig_state(F_DS_LEAK, dk, ST_ERROR, note);
		xsb_fail("%s", note);
		goto out;
	}
	rc = 0;
out:
	free(r);
	return rc;
}

/*
 * The dom0 side of the same creations, which every daemon can serve over
 * its socket: the toolstack's transactions and INTRODUCEs and the backend
 * up to waiting for its frontend. Our daemon introduces only domains that
 * exist, so there they are registered first, untimed; on the reference
 * daemons INTRODUCE maps an idle page (their shim).
 */
int xsb_grp_domcreate(struct xst_daemon *d, int dk)
{
	struct xsb_dom_cfg cfg = {d, xsb_scaled(xsb_opt.domains), 0, dk == D_OURS,
				  xsb_opt.timeout_ms, xsb_opt.loop_cap_s, xsb_opt.verbose};
	struct xsb_dom_res *r = calloc(1, sizeof(*r));
	double n = cfg.ndomains;
	int rc = -1;

	if (!r) {
		xsb_fail("out of memory");
		return -1;
	}
	if (xsb_domains_run(&cfg, r) < 0) {
		/*
		 * A reference daemon that cannot do it under its shim (oxenstored
		 * stops answering INTRODUCE once enough domains exist) is reported,
		 * not counted as an error of the run; ours failing is one.
		 */
		if (dk != D_OURS) {
			for (int f = 0; f < F_COUNT; f++)
				if (xsb_figs[f].grp == G_DOMCREATE)
					xsb_fig_state(f, dk, ST_NA, r->err);
			xsb_progress("    %s\n", r->err);
			rc = 0;
			goto out;
		}
		xsb_fail("%s", r->err);
		goto out;
	}
	xsb_progress("    %u domains: %lu requests, %lu events, %u commit EAGAIN; RSS %ld -> %ld KiB,"
		     " tdb %ld -> %ld KiB\n",
		     cfg.ndomains, r->requests, r->events, r->txn_eagain, r->rss0, r->rss1, r->file0,
		     r->file1);
	xsb_fig_set(F_DC_TIME, dk, r->storm_s * 1e3);
	xsb_cpu_fig(F_DC_CPU, dk, r->storm_ticks, n, "dom0 side of domain creation");
	xsb_fig_set(F_DC_LAT_P99, dk, r->lat_p99_us);
	xsb_fig_set(F_DC_MEM, dk, (double)((r->rss1 + r->file1) - (r->rss0 + r->file0)) / n);
	rc = 0;
out:
	free(r);
	return rc;
}
