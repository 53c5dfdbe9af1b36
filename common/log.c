/*
 * log.c - logging for the daemons and tools, after OpenBSD's log.c.
 *
 * In the foreground lines go to stderr with a timestamp; as a daemon they go
 * to syslog (and so the journal).  log_warn appends strerror(errno); fatal
 * and fatalx log and exit(1).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_name = "tandem";
static char log_prefix[64];
static int log_fg = 1, log_verbose;

void log_init(const char *progname, int foreground, int verbose)
{
	log_name = progname;
	log_fg = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void log_setprefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

static void vlog(int pri, const char *fmt, va_list ap, int with_errno)
{
	char msg[1024];
	int saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_fg) {
		struct timespec ts;
		struct tm tm;
		clock_gettime(CLOCK_REALTIME, &ts);
		localtime_r(&ts.tv_sec, &tm);
		fprintf(stderr, "%02d:%02d:%02d.%03ld %s%s%s: %s%s%s\n", tm.tm_hour, tm.tm_min,
		    tm.tm_sec, ts.tv_nsec / 1000000, log_name, log_prefix[0] ? " " : "", log_prefix,
		    msg, with_errno ? ": " : "", with_errno ? strerror(saved) : "");
		fflush(stderr);
	} else {
		syslog(pri, "%s%s%s%s%s", log_prefix, log_prefix[0] ? ": " : "", msg,
		    with_errno ? ": " : "", with_errno ? strerror(saved) : "");
	}
	errno = saved;
}

#define LOGFN(name, pri, err)                    \
	void name(const char *fmt, ...)          \
	{                                        \
		va_list ap;                      \
		va_start(ap, fmt);               \
		vlog(pri, fmt, ap, err);         \
		va_end(ap);                      \
	}
LOGFN(log_warn, LOG_WARNING, 1)
LOGFN(log_warnx, LOG_WARNING, 0)
LOGFN(log_info, LOG_INFO, 0)

void log_debug(const char *fmt, ...)
{
	va_list ap;
	if (!log_verbose)
		return;
	va_start(ap, fmt);
	vlog(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
