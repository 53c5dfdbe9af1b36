/* log.h - the one logging interface of every Tandem program. */
#ifndef TANDEM_LOG_H
#define TANDEM_LOG_H

#include <stdarg.h>

void log_init(const char *progname, int foreground, int verbose);
void log_setprefix(const char *prefix);
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
