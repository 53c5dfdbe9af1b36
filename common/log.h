/* log.h - the one logging interface of every Tandem program. */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stdarg.h>

void log_init(const char *progname, int foreground, int verbose);
void log_setprefix(const char *prefix);
/* "KEY=value ..." fields of what this thread logs next (journal fields
 * TANDEM_KEY: VM, MIGRATION, ROLE, HOST); NULL clears */
void log_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* a line about a state change: its TANDEM_STATE is state, and extra (NULL
 * or "KEY=value ...") adds fields to the thread's context for this line */
void log_state(int warn, const char *state, const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
