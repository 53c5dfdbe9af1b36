/*
 * fcall.h - one request to this host's fenced (proto/fencectl.h) on a fresh
 * connection, with a timeout: migrated and remusd ask the ownership table
 * through it.  A transport failure is "unknown" (errno EIO), never an answer.
 */
#ifndef TANDEM_FCALL_H
#define TANDEM_FCALL_H

#include <stddef.h>
#include <stdint.h>

#include "fencectl.h"

/* Sends o (and frees it); 0 with the reply in in (parsed from buf), or -1
 * with errno EIO (no answer) or the refusal's errno and err. */
int fcall(const char *path, int timeout_s, struct msg_out *o, uint8_t *buf, size_t cap,
    struct msg_in *in, char *err, size_t errlen);

#endif
