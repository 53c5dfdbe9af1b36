/*
 * store.h - the ownership table on disk (store.c): every host keeps the
 * last table it held while synced, so a cold start of the whole cluster
 * takes up where it stopped instead of from an empty table.
 */
#ifndef FENCED_STORE_H
#define FENCED_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

#define STORE_MAGIC	"TANDEMTB"
#define STORE_FORMAT	1
#define STORE_MAX	(4u << 20)	/* a full table is ~250 KiB */

/* The file's bytes for t: malloc'd, *len set; NULL on ENOMEM. */
uint8_t *store_encode(const struct table *t, size_t *len);
/* Checks the whole file (magic, format, length, crc32c, the table's own
 * checks) before t changes: 0 and t loaded, or -1 with err and t as it was.
 * t must hold the configured hosts (table_init). */
int store_decode(const uint8_t *buf, size_t len, struct table *t, char *err, size_t errlen);
/* DIR/table written atomically: DIR/table.tmp, fsync, rename, fsync of DIR.
 * 0, or -1 with err. */
int store_save(const char *dir, const struct table *t, char *err, size_t errlen);
/* the same for bytes store_encode made */
int store_write(const char *dir, const uint8_t *p, size_t len, char *err, size_t errlen);
/* 1 loaded, 0 no file (t unchanged), -1 refused with err (t unchanged; the
 * file is kept as DIR/table.refused for the admin). */
int store_load(const char *dir, struct table *t, char *err, size_t errlen);

#endif
