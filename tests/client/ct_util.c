/* Helpers of the client tests: recording watch events, pumping until they come, the scripted server. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

long long ct_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ct_sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void ct_record(struct xsl *h, struct xsl_watch *w, const struct xsl_event *ev, void *arg)
{
	struct ct_events *e = arg;

	(void)h;
	(void)w;
	if (e->n < CT_EVENTS_MAX) {
		snprintf(e->path[e->n], sizeof(e->path[0]), "%s", ev->path);
		e->flags[e->n] = ev->flags;
	}
	e->n++;
}

void ct_pump_for(struct xsl *h, struct ct_events *e, unsigned n)
{
	long long end = ct_now_ms() + CT_WAIT_MS;

	while (e->n < n) {
		int r = xsl_pump(h, 200);

		ck_assert_msg(r >= 0, "xsl_pump: %s", strerror(-r));
		ck_assert_msg(ct_now_ms() < end, "only %u of %u events came", e->n, n);
	}
}

unsigned ct_pump_quiet(struct xsl *h, struct ct_events *e, int ms)
{
	long long end = ct_now_ms() + ms;
	unsigned before = e->n;

	while (ct_now_ms() < end)
		ck_assert_int_ge(xsl_pump(h, 50), 0);
	return e->n - before;
}

bool ct_seen(const struct ct_events *e, const char *path)
{
	for (unsigned i = 0; i < e->n && i < CT_EVENTS_MAX; i++)
		if (strcmp(e->path[i], path) == 0)
			return true;
	return false;
}

/* ---- the scripted server ---- */

#define FSRV_MAX 4096

struct fsrv {
	int fd;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned n;
	struct fsrv_req *reqs;
};

static void *fsrv_main(void *arg)
{
	struct fsrv *s = arg;
	struct xs_framer fr;
	unsigned char buf[8192];

	xs_framer_init(&fr);
	for (;;) {
		ssize_t n = recv(s->fd, buf, sizeof(buf), 0);
		size_t off = 0;

		if (n <= 0)
			break;
		while (off < (size_t)n) {
			size_t used;
			enum xs_framer_state st = xs_framer_feed(&fr, buf + off, (size_t)n - off, &used);

			off += used;
			if (st != XS_FRAMER_MESSAGE)
				continue;
			pthread_mutex_lock(&s->lock);
			if (s->n < FSRV_MAX) {
				s->reqs[s->n].hdr = fr.hdr;
				memcpy(s->reqs[s->n].payload, xs_framer_payload(&fr), fr.hdr.len);
				s->reqs[s->n].payload[fr.hdr.len] = '\0';
				s->n++;
			}
			pthread_cond_broadcast(&s->cond);
			pthread_mutex_unlock(&s->lock);
		}
	}
	return NULL;
}

struct fsrv *fsrv_start(int *client_fd)
{
	struct fsrv *s = calloc(1, sizeof(*s));
	int sv[2];

	ck_assert_ptr_nonnull(s);
	s->reqs = calloc(FSRV_MAX, sizeof(*s->reqs));
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	s->fd = sv[0];
	*client_fd = sv[1];
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	ck_assert_int_eq(pthread_create(&s->thread, NULL, fsrv_main, s), 0);
	return s;
}

bool fsrv_wait(struct fsrv *s, unsigned n, int ms)
{
	long long end = ct_now_ms() + ms;
	bool ok;

	pthread_mutex_lock(&s->lock);
	while (s->n < n && ct_now_ms() < end) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 20 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&s->cond, &s->lock, &ts);
	}
	ok = s->n >= n;
	pthread_mutex_unlock(&s->lock);
	return ok;
}

unsigned fsrv_count(struct fsrv *s)
{
	unsigned n;

	pthread_mutex_lock(&s->lock);
	n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

const struct fsrv_req *fsrv_req(struct fsrv *s, unsigned i)
{
	ck_assert_uint_lt(i, fsrv_count(s));
	return &s->reqs[i];
}

void fsrv_raw(struct fsrv *s, const void *bytes, size_t len)
{
	const char *p = bytes;

	while (len) {
		ssize_t n = send(s->fd, p, len, MSG_NOSIGNAL);

		ck_assert_int_gt(n, 0);
		p += n;
		len -= (size_t)n;
	}
}

void fsrv_send(struct fsrv *s, uint32_t type, uint32_t req_id, const void *payload, size_t len)
{
	unsigned char buf[XS_MSG_MAX];
	struct xs_header h = {type, req_id, 0, (uint32_t)len};

	xs_header_encode(&h, buf);
	memcpy(buf + XS_HEADER_SIZE, payload, len);
	fsrv_raw(s, buf, XS_HEADER_SIZE + len);
}

void fsrv_reply(struct fsrv *s, unsigned i, const char *payload, int len)
{
	const struct fsrv_req *r = fsrv_req(s, i);

	fsrv_send(s, r->hdr.type, r->hdr.req_id, payload, len < 0 ? strlen(payload) + 1 : (size_t)len);
}

void fsrv_error(struct fsrv *s, unsigned i, const char *name)
{
	fsrv_send(s, XS_ERROR, fsrv_req(s, i)->hdr.req_id, name, strlen(name) + 1);
}

void fsrv_event(struct fsrv *s, const char *path, const char *token)
{
	char buf[512];
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;

	memcpy(buf, path, pl);
	memcpy(buf + pl, token, tl);
	fsrv_send(s, XS_WATCH_EVENT, 0, buf, pl + tl);
}

void fsrv_close(struct fsrv *s)
{
	shutdown(s->fd, SHUT_WR);
}

void fsrv_stop(struct fsrv *s)
{
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->thread, NULL);
	close(s->fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->reqs);
	free(s);
}
