/* json.c - a small JSON writer for --json output: escaped strings, key/values. */
#include <stdio.h>

#include "ctl.h"

void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

void json_kv_str(FILE *f, const char *k, const char *v, int comma)
{
	fprintf(f, "%s\"%s\":", comma ? "," : "", k);
	json_str(f, v);
}

void json_kv_u64(FILE *f, const char *k, uint64_t v, int comma)
{
	fprintf(f, "%s\"%s\":%llu", comma ? "," : "", k, (unsigned long long)v);
}

void json_kv_f(FILE *f, const char *k, double v, int comma)
{
	fprintf(f, "%s\"%s\":%.3f", comma ? "," : "", k, v);
}
