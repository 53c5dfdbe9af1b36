/*
 * ledger.c - the run ledger: every domain state change that starts or stops
 * guest execution is appended to <state_dir>/ledger as one line
 *
 *   <CLOCK_MONOTONIC ns> run|stop <domain> <pid> <why>
 *
 * by whichever process knows it first: the domain process when its state
 * machine enters or leaves "running" (a pause is written once every vCPU is
 * parked, so a "stop" is never earlier than the guest's last instruction),
 * hvd's parent when it has killed and reaped a domain process or reaped one
 * that died.  Lines are shorter than PIPE_BUF and written with one write(2)
 * to an O_APPEND file, so the processes of one host never interleave.  All
 * hosts of a lab share the machine's monotonic clock, which lets the checker
 * (tests/ledger.c, docs/run-ledger.md) prove that no VM's running intervals
 * on different hosts ever overlap.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"

int ledger_open(const char *state_dir)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/ledger", state_dir);
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		log_warn("run ledger %s", path);
	return fd;
}

void ledger_note(int fd, const char *event, const char *name, pid_t pid, const char *why)
{
	char line[PIPE_BUF];
	if (fd < 0)
		return;
	int n = snprintf(line, sizeof(line), "%llu %s %s %d %s\n", (unsigned long long)now_ns(),
	    event, name, (int)pid, why && why[0] ? why : "-");
	if (n >= (int)sizeof(line)) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	for (char *p = line + strlen(event) + 1; p < line + n - 1; p++)
		if (*p == '\n')
			*p = ' ';
	if (write(fd, line, (size_t)n) != n)
		log_warn("run ledger: write");
}
