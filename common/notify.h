/* notify.h - readiness and status for a service manager (systemd's
 * sd_notify protocol, spoken directly: no libsystemd). */
#ifndef TANDEM_NOTIFY_H
#define TANDEM_NOTIFY_H

/* Sends "READY=1", "RELOADING=1", "STOPPING=1" or "STATUS=..." lines (one
 * datagram) to $NOTIFY_SOCKET; nothing when it is unset.  0 or -1. */
int notify(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
