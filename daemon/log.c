/* Logging (stderr in the foreground, syslog when daemonised), fatal exits, and the optional trace file. */
#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

static bool log_syslog;
static bool log_verbose;
static FILE *trace_file;
static char trace_path[4096];

void log_init(bool to_syslog, bool verbose)
{
	log_syslog = to_syslog;
	log_verbose = verbose;
	if (to_syslog)
		openlog("xenstored", LOG_PID, LOG_DAEMON);
}

/*
 * The message is formatted first and written in one call, so that a line is
 * never split; err (an errno value, 0 for none) adds its text. errno survives,
 * for a caller that logs and then reports it.
 */
static void vlog(int prio, int err, const char *fmt, va_list ap)
{
	char msg[4096];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (err)
			syslog(prio, "%s: %s", msg, strerror(err));
		else
			syslog(prio, "%s", msg);
	} else if (err) {
		fprintf(stderr, "xenstored: %s: %s\n", msg, strerror(err));
	} else {
		fprintf(stderr, "xenstored: %s\n", msg);
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

/* log_warnx under its old name, until every caller uses log_warnx. */
void log_error(const char *fmt, ...) __attribute__((alias("log_warnx")));

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

int log_trace_open(const char *path)
{
	if (path && path != trace_path)
		snprintf(trace_path, sizeof(trace_path), "%s", path);
	log_trace_close();
	if (!trace_path[0])
		return 0;
	trace_file = fopen(trace_path, "a");
	if (!trace_file)
		return -1;
	setvbuf(trace_file, NULL, _IOLBF, 0);
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

void log_trace(const char *fmt, ...)
{
	va_list ap;
	struct timespec ts;

	if (!trace_file)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	fprintf(trace_file, "%lld.%06ld ", (long long)ts.tv_sec, ts.tv_nsec / 1000);
	va_start(ap, fmt);
	vfprintf(trace_file, fmt, ap);
	va_end(ap);
	fputc('\n', trace_file);
}
