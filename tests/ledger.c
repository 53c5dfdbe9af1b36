/*
 * ledger - reads hvd's run ledgers (hypervisor/ledger.c, docs/run-ledger.md).
 *
 *   ledger check [-r VM[,VM...]] HOST=FILE...
 *       merges the ledgers of all hosts and proves that no VM's running
 *       intervals on two hosts overlap, and (-r) that each named VM runs on
 *       exactly one host at the end.  Prints a verdict; exits 1 when either
 *       fails, 2 on a bad ledger.
 *   ledger down FILE
 *       a host was powered off: waits until the process of every interval
 *       still open in FILE is gone, then closes the interval with a "stop"
 *       line, so the ledger of a dead host says when its VMs stopped at the
 *       latest.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPEN_END UINT64_MAX

struct interval {
	char vm[72], host[32];
	uint64_t start, end;
	int pid;
};

static struct interval *iv;
static size_t niv, cap;

static struct interval *add(void)
{
	if (niv == cap) {
		cap = cap ? cap * 2 : 64;
		if (!(iv = realloc(iv, cap * sizeof(*iv)))) {
			fprintf(stderr, "ledger: out of memory\n");
			exit(2);
		}
	}
	memset(&iv[niv], 0, sizeof(*iv));
	return &iv[niv++];
}

/* the open interval of vm on host, if any */
static struct interval *open_of(const char *host, const char *vm)
{
	for (size_t i = niv; i-- > 0;)
		if (iv[i].end == OPEN_END && !strcmp(iv[i].vm, vm) && !strcmp(iv[i].host, host))
			return &iv[i];
	return NULL;
}

static int load(const char *host, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[4096];
	int ln = 0;
	if (!f) {
		if (errno == ENOENT)	/* a host that never ran a domain */
			return 0;
		fprintf(stderr, "ledger: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long t;
		char ev[8], vm[72];
		int pid;
		ln++;
		if (sscanf(line, "%llu %7s %71s %d", &t, ev, vm, &pid) != 4 ||
		    (strcmp(ev, "run") && strcmp(ev, "stop"))) {
			fprintf(stderr, "ledger: %s:%d: not a ledger line: %s", path, ln, line);
			fclose(f);
			return -1;
		}
		struct interval *o = open_of(host, vm);
		if (!strcmp(ev, "run") && !o) {
			o = add();
			snprintf(o->vm, sizeof(o->vm), "%s", vm);
			snprintf(o->host, sizeof(o->host), "%s", host);
			o->start = t;
			o->end = OPEN_END;
			o->pid = pid;
		} else if (!strcmp(ev, "stop") && o)
			o->end = t;	/* a stop of a paused domain closes nothing */
	}
	fclose(f);
	return 0;
}

static int check(int argc, char **argv)
{
	char *running = NULL;
	int c;
	while ((c = getopt(argc, argv, "r:")) != -1) {
		if (c != 'r')
			return 2;
		running = optarg;
	}
	int nhost = 0;
	for (int i = optind; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		if (!eq || eq == argv[i] || eq - argv[i] >= 32) {
			fprintf(stderr, "ledger: '%s' is not HOST=FILE\n", argv[i]);
			return 2;
		}
		*eq = 0;
		if (load(argv[i], eq + 1) < 0)
			return 2;
		nhost++;
	}
	int overlaps = 0, bad = 0, nvm = 0;
	for (size_t i = 0; i < niv; i++) {
		int first = 1;
		for (size_t k = 0; k < i; k++)
			first &= strcmp(iv[k].vm, iv[i].vm) != 0;
		nvm += first;
		for (size_t k = i + 1; k < niv; k++) {
			struct interval *a = &iv[i], *b = &iv[k];
			if (strcmp(a->vm, b->vm) || !strcmp(a->host, b->host))
				continue;
			if (a->start < b->end && b->start < a->end) {
				uint64_t lo = a->start > b->start ? a->start : b->start;
				uint64_t hi = a->end < b->end ? a->end : b->end;
				if (hi == OPEN_END)
					printf("OVERLAP %s: runs on %s and %s at once since %llu ns, "
					    "still\n", a->vm, a->host, b->host, (unsigned long long)lo);
				else
					printf("OVERLAP %s: ran on %s and %s at once for %.3f ms "
					    "(from %llu ns)\n", a->vm, a->host, b->host,
					    (double)(hi - lo) / 1e6, (unsigned long long)lo);
				overlaps++;
			}
		}
	}
	char where[2048] = "";
	size_t wl = 0;
	for (char *save = NULL, *v = running ? strtok_r(running, ",", &save) : NULL; v;
	    v = strtok_r(NULL, ",", &save)) {
		int n = 0;
		for (size_t i = 0; i < niv; i++)
			if (iv[i].end == OPEN_END && !strcmp(iv[i].vm, v)) {
				n++;
				wl += (size_t)snprintf(where + wl, wl < sizeof(where) ? sizeof(where) - wl : 0,
				    " %s@%s", v, iv[i].host);
				if (wl >= sizeof(where))
					wl = sizeof(where) - 1;
			}
		if (n != 1) {
			printf("NOT RUNNING ONCE %s: runs on %d hosts at the end\n", v, n);
			bad++;
		}
	}
	printf("%d hosts, %zu running intervals of %d VMs, %d overlaps%s%s%s\n", nhost, niv, nvm,
	    overlaps, running ? "; running at the end:" : "", where, bad ? "; NOT ALL RUNNING" : "");
	return overlaps || bad ? 1 : 0;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* alive and not a zombie */
static int alive(int pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	return !(p && p[1] == ' ' && p[2] == 'Z');
}

static int down(const char *path)
{
	if (load("this", path) < 0)
		return 2;
	FILE *f = NULL;
	for (size_t i = 0; i < niv; i++) {
		if (iv[i].end != OPEN_END)
			continue;
		for (int k = 0; k < 1000 && alive(iv[i].pid); k++)
			usleep(10000);
		if (alive(iv[i].pid)) {
			fprintf(stderr, "ledger: %s: process %d of %s is still alive\n", path, iv[i].pid,
			    iv[i].vm);
			return 1;
		}
		if (!f && !(f = fopen(path, "a"))) {
			fprintf(stderr, "ledger: %s: %s\n", path, strerror(errno));
			return 2;
		}
		fprintf(f, "%llu stop %s %d host powered off\n", (unsigned long long)mono_ns(),
		    iv[i].vm, iv[i].pid);
		fflush(f);
	}
	if (f)
		fclose(f);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "check"))
		return check(argc - 1, argv + 1);
	if (argc == 3 && !strcmp(argv[1], "down"))
		return down(argv[2]);
	fprintf(stderr, "usage: ledger check [-r VM,...] HOST=FILE...\n       ledger down FILE\n");
	return 2;
}
