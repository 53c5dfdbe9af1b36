/*
 * fuzz_config.c - libFuzzer target for tandem.conf's parser
 * (common/config.c): any bytes as a configuration file, read through a
 * memfd; a file it accepts must hold what the grammar allows (hosts with
 * node ids, sorted fence levels whose hosts= bits name configured hosts),
 * and a refused one must say FILE:LINE.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fconf c;
	char path[64], err[512];
	int fd = memfd_create("fuzz-tandem.conf", MFD_CLOEXEC);
	if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (conf_load(&c, path, err, sizeof(err)) == 0) {
		if (c.nhosts > CF_MAX_HOSTS || c.nlevels > CF_MAX_LEVELS)
			abort();
		for (size_t i = 0; i < c.nhosts; i++)
			if (!c.hosts[i].node || !c.hosts[i].name[0])
				abort();
		for (size_t i = 0; i < c.nlevels; i++) {
			if (i && c.levels[i - 1].n > c.levels[i].n)
				abort();
			if (c.nhosts < 64 && c.levels[i].hosts >> c.nhosts)
				abort();	/* a bit beyond the configured hosts */
		}
	} else if (!strstr(err, path))
		abort();		/* an error that does not say where */
	close(fd);
	return 0;
}
