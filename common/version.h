/* version.h - what every Tandem program prints for --version (GNU style). */
#ifndef TANDEM_VERSION_H
#define TANDEM_VERSION_H

#include <stdio.h>
#include <stdlib.h>

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif

static inline void __attribute__((noreturn)) print_version(const char *prog)
{
	printf("%s (Tandem) %s\n"
	    "Copyright (C) 2026 the Tandem authors.\n"
	    "This is free software; see the source for copying conditions.\n", prog, PACKAGE_VERSION);
	exit(0);
}

#endif
