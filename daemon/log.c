/* Logging (stderr in the foreground, syslog when daemonised), fatal exits, and the trace file in the C daemon's format. */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "../proto/wire.h"

static bool log_syslog;
static bool log_verbose;
static FILE *trace_file;
static char trace_path[4096];
/* Bit per enum log_trace_class; the C daemon's default is obj and io. */
static unsigned trace_classes = 1u << LOG_TRACE_OBJ | 1u << LOG_TRACE_IO;

static const char *const trace_class_names[LOG_TRACE_CLASSES] = {"obj", "io", "wrl", "acc", "tdb"};

void log_init(bool to_syslog, bool verbose)
{
	log_syslog = to_syslog;
	log_verbose = verbose;
	if (to_syslog)
		openlog("xenstored", LOG_PID, LOG_DAEMON);
}

size_t log_escape(char *dst, size_t size, const void *src, size_t len, bool nul_as_space)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = src;
	size_t o = 0;

	if (!size)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = s[i];
		char e[4];
		size_t n = 2;

		e[0] = '\\';
		if (ch == '\\')
			e[1] = '\\';
		else if (ch == '\n')
			e[1] = 'n';
		else if (ch == '\r')
			e[1] = 'r';
		else if (ch == '\t')
			e[1] = 't';
		else if (ch == '\0' && nul_as_space) {
			e[0] = ' ';
			n = 1;
		} else if (ch < 0x20 || ch == 0x7f) {
			e[1] = 'x';
			e[2] = hex[ch >> 4];
			e[3] = hex[ch & 15];
			n = 4;
		} else {
			e[0] = (char)ch;
			n = 1;
		}
		if (o + n >= size)
			break;
		memcpy(dst + o, e, n);
		o += n;
	}
	dst[o] = '\0';
	return o;
}

/*
 * The message is formatted and escaped first and written in one call, so
 * that a line is never split nor forged; err (an errno value, 0 for none)
 * adds its text. errno survives, for a caller that logs and then reports it.
 */
static void vlog(int prio, int err, const char *fmt, va_list ap)
{
	char msg[4096], line[4 * sizeof(msg)];
	int saved = errno;
	int n = vsnprintf(msg, sizeof(msg), fmt, ap);

	if (n < 0)
		n = 0;
	log_escape(line, sizeof(line), msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1, false);
	if (log_syslog) {
		if (err)
			syslog(prio, "%s: %s", line, strerror(err));
		else
			syslog(prio, "%s", line);
	} else if (err) {
		fprintf(stderr, "xenstored: %s: %s\n", line, strerror(err));
	} else {
		fprintf(stderr, "xenstored: %s\n", line);
	}
	errno = saved;
}

void log_warn(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, err, fmt, ap);
	va_end(ap);
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int err = errno;
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, err, fmt, ap);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vlog(LOG_CRIT, 0, fmt, ap);
	va_end(ap);
	exit(1);
}

/* As the C daemon: appended to, created 0600, a "***" line at each opening. */
int log_trace_open(const char *path)
{
	int fd;

	if (path && path != trace_path) {
		if (path[0] && path[0] != '/')
			snprintf(trace_path, sizeof(trace_path), "%s/%s", LOG_TRACE_DIR, path);
		else
			snprintf(trace_path, sizeof(trace_path), "%s", path);
	}
	log_trace_close();
	if (!trace_path[0])
		return 0;
	fd = open(trace_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	trace_file = fdopen(fd, "a");
	if (!trace_file) {
		int saved = errno;

		close(fd);
		errno = saved;
		return -1;
	}
	setvbuf(trace_file, NULL, _IOLBF, 0);
	fputs("\n***\n", trace_file);
	return 0;
}

void log_trace_close(void)
{
	if (trace_file)
		fclose(trace_file);
	trace_file = NULL;
}

bool log_tracing(void)
{
	return trace_file != NULL;
}

const char *log_trace_path(void)
{
	return trace_path;
}

const char *log_trace_class_name(enum log_trace_class c)
{
	return trace_class_names[c];
}

bool log_trace_class_on(enum log_trace_class c)
{
	return trace_classes & 1u << c;
}

unsigned log_trace_classes(void)
{
	return trace_classes;
}

void log_trace_classes_set(unsigned mask)
{
	trace_classes = mask & ((1u << LOG_TRACE_CLASSES) - 1);
}

int log_trace_switch(const char *arg)
{
	if (arg[0] != '+' && arg[0] != '-')
		return -1;
	for (int c = 0; c < LOG_TRACE_CLASSES; c++) {
		if (strcmp(arg + 1, trace_class_names[c]) != 0)
			continue;
		if (arg[0] == '+')
			trace_classes |= 1u << c;
		else
			trace_classes &= ~(1u << c);
		return 0;
	}
	return -1;
}

bool log_tracing_class(enum log_trace_class c)
{
	return trace_file && log_trace_class_on(c);
}

void log_trace(const char *fmt, ...)
{
	char msg[4096], line[4 * sizeof(msg) + 1];
	va_list ap;
	int n;
	size_t len;

	if (!trace_file)
		return;
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	len = log_escape(line, sizeof(line) - 1, msg, (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1,
			 false);
	line[len++] = '\n';
	fwrite(line, 1, len, trace_file);
}

void log_trace_io(const char *dir, uint64_t conn, unsigned domid, const char *type, const void *payload,
		  size_t len)
{
	/* The header, then a payload of at most 4096 bytes, each byte at most 4 escaped. */
	char line[160 + 4 * XS_PAYLOAD_MAX + 3];
	struct tm tm;
	time_t now;
	int n;

	if (!log_tracing_class(LOG_TRACE_IO))
		return;
	now = time(NULL);
	localtime_r(&now, &tm);
	n = snprintf(line, 160, "io: %s 0x%llx (d%u) %04d%02d%02d %02d:%02d:%02d %s (", dir,
		     (unsigned long long)conn, domid, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, type);
	if (n < 0 || n >= 160)
		return;
	n += (int)log_escape(line + n, sizeof(line) - 3 - (size_t)n, payload,
			     len < XS_PAYLOAD_MAX ? len : XS_PAYLOAD_MAX, true);
	line[n++] = ')';
	line[n++] = '\n';
	fwrite(line, 1, (size_t)n, trace_file);
}

void log_trace_obj(const char *what, const char *kind, uint64_t id)
{
	if (log_tracing_class(LOG_TRACE_OBJ))
		fprintf(trace_file, "obj: %s %s 0x%llx\n", what, kind, (unsigned long long)id);
}

bool log_limited(struct log_limit *l, unsigned long *unsaid)
{
	long now = (long)time(NULL), period = l->period > 0 ? l->period : 1;

	/* A clock set back logs at once rather than never. */
	if (now >= l->last && now - l->last < period) {
		l->quiet++;
		return false;
	}
	l->last = now;
	*unsaid = l->quiet;
	l->quiet = 0;
	return true;
}
