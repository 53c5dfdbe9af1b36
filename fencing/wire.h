/* wire.h - fenced's CPG payloads (wire.c). */
#ifndef FENCED_WIRE_H
#define FENCED_WIRE_H

#include "cluster.h"

/* Frames m (finished with msg_end) as a CPG payload: malloc'd, *len set. */
void *cluster_frame(const struct msg_out *m, size_t *len);
/* Checks the crc and decodes; the msg_in points into buf. */
int cluster_parse(const void *buf, size_t len, struct msg_in *m, char *err, size_t errlen);

#endif
