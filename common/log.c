/*
 * log.c - logging for the daemons and tools, after OpenBSD's log.c.
 *
 * In the foreground lines go to stderr with a timestamp; as a daemon they go
 * to syslog.  Under systemd (stderr is the journal: $JOURNAL_STREAM) each
 * line goes to the journal's socket instead, with structured fields: the
 * thread's context (log_context: TANDEM_VM, TANDEM_MIGRATION, ...) and a
 * state change's TANDEM_STATE (log_state), so `journalctl TANDEM_VM=web`
 * shows one VM's story.  log_warn appends strerror(errno); fatal and fatalx
 * log and exit(1).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "log.h"

static const char *log_name = "tandem";
static char log_prefix[64];
static int log_fg = 1, log_verbose;
static int journal_fd = -1;
static struct sockaddr_un journal_sa;
static __thread char log_ctx[256];	/* "VM=web MIGRATION=3" */
static __thread const char *log_st;	/* TANDEM_STATE of the line being logged */

/* The journal's socket ($TANDEM_JOURNAL_SOCKET for tests) when stderr is
 * the journal. */
static void journal_open(void)
{
	const char *path = getenv("TANDEM_JOURNAL_SOCKET");
	if (!getenv("JOURNAL_STREAM"))
		return;
	if (!path)
		path = "/run/systemd/journal/socket";
	if (strlen(path) >= sizeof(journal_sa.sun_path))
		return;
	journal_sa.sun_family = AF_UNIX;
	snprintf(journal_sa.sun_path, sizeof(journal_sa.sun_path), "%s", path);
	journal_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
}

void log_init(const char *progname, int foreground, int verbose)
{
	log_name = progname;
	log_fg = foreground;
	log_verbose = verbose;
	if (!foreground)
		openlog(progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else
		journal_open();
}

void log_context(const char *fmt, ...)
{
	va_list ap;
	if (!fmt) {
		log_ctx[0] = 0;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(log_ctx, sizeof(log_ctx), fmt, ap);
	va_end(ap);
}

/* one journal entry: 0, or -1 to fall back to stderr */
static int journal_send(int pri, const char *msg)
{
	char buf[2048], ctx[256];
	int n = snprintf(buf, sizeof(buf), "PRIORITY=%d\nSYSLOG_IDENTIFIER=%s\nMESSAGE=%s%s%s\n", pri,
	    log_name, log_prefix, log_prefix[0] ? ": " : "", msg);
	snprintf(ctx, sizeof(ctx), "%s", log_ctx);
	char *save = NULL;
	for (char *kv = strtok_r(ctx, " ", &save); kv && n > 0 && (size_t)n < sizeof(buf);
	    kv = strtok_r(NULL, " ", &save))
		if (strchr(kv, '='))
			n += snprintf(buf + n, sizeof(buf) - (size_t)n, "TANDEM_%s\n", kv);
	if (log_st && n > 0 && (size_t)n < sizeof(buf))
		n += snprintf(buf + n, sizeof(buf) - (size_t)n, "TANDEM_STATE=%s\n", log_st);
	if (n <= 0 || (size_t)n >= sizeof(buf))
		return -1;
	return sendto(journal_fd, buf, (size_t)n, MSG_NOSIGNAL, (struct sockaddr *)&journal_sa,
	    sizeof(journal_sa)) == n ? 0 : -1;
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
	if (journal_fd >= 0) {
		char full[1100];
		snprintf(full, sizeof(full), "%s%s%s", msg, with_errno ? ": " : "",
		    with_errno ? strerror(saved) : "");
		if (journal_send(pri, full) == 0) {
			errno = saved;
			return;
		}
	}
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

/* fields ("K=v K2=v") has key ("K=") */
static int has_key(const char *fields, const char *key)
{
	size_t n = strlen(key);
	for (const char *p = fields; p; p = strchr(p, ' ') ? strchr(p, ' ') + 1 : NULL)
		if (!strncmp(p, key, n))
			return 1;
	return 0;
}

void log_state(int warn, const char *state, const char *extra, const char *fmt, ...)
{
	va_list ap;
	char saved[sizeof(log_ctx)];
	snprintf(saved, sizeof(saved), "%s", log_ctx);
	if (extra) {	/* the context's fields but those extra gives again, then extra's */
		char joined[2 * sizeof(log_ctx)] = "", ctx[sizeof(log_ctx)], *save = NULL;
		size_t o = 0;
		snprintf(ctx, sizeof(ctx), "%s", saved);
		for (char *kv = strtok_r(ctx, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
			char key[40];
			snprintf(key, sizeof(key), "%.*s=", (int)strcspn(kv, "="), kv);
			if (!has_key(extra, key))
				o += (size_t)snprintf(joined + o, sizeof(joined) - o, "%s ", kv);
		}
		snprintf(joined + o, sizeof(joined) - o, "%s", extra);
		memcpy(log_ctx, joined, sizeof(log_ctx) - 1);	/* cut where it must */
		log_ctx[sizeof(log_ctx) - 1] = 0;
	}
	log_st = state;
	va_start(ap, fmt);
	vlog(warn ? LOG_WARNING : LOG_INFO, fmt, ap, 0);
	va_end(ap);
	log_st = NULL;
	snprintf(log_ctx, sizeof(log_ctx), "%s", saved);
}

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
