/* lib.c - the few libc pieces the freestanding guest needs. */
#include "guest.h"

void *memset(void *d, int c, size_t n)
{
	unsigned char *p = d;
	while (n--)
		*p++ = (unsigned char)c;
	return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

/* Returns the length of prefix when s starts with it, else 0. */
int strncmp_prefix(const char *s, const char *prefix)
{
	int i;
	for (i = 0; prefix[i]; i++)
		if (s[i] != prefix[i])
			return 0;
	return i;
}

uint64_t parse_u64(const char **s)
{
	uint64_t v = 0;
	while (**s >= '0' && **s <= '9')
		v = v * 10 + (uint64_t)(*(*s)++ - '0');
	return v;
}
