/* tap.h - a tiny check macro set for unit tests: prints failures, counts. */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>
static int tap_fail, tap_n;
#define CHECK(cond) do { tap_n++; if (!(cond)) { tap_fail++; \
	fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define TAP_DONE() (printf("%s: %d checks, %d failed\n", __FILE__, tap_n, tap_fail), tap_fail ? 1 : 0)
#endif
