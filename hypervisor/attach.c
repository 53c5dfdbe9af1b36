/*
 * attach.c - domain processes outlive hvd.  Once created, a domain process
 * listens on STATE/dom/NAME.sock (SOCK_SEQPACKET, mode 0700 directory) and
 * writes its PID to STATE/dom/NAME.pid.  While hvd runs, the domain serves
 * it over the socketpair it was started with; when hvd goes away the guest
 * runs on, and the next hvd on the same state directory connects to every
 * NAME.sock it finds and adopts the domain (domain.c), as libvirtd does with
 * the QEMU processes of a restarted daemon.  The files go when the domain
 * does: hvd removes them once it has killed and reaped (or seen the end of)
 * the process; a socket nobody answers is a domain that died while no hvd
 * ran.  The PID file lets an operator (and the lab's teardown) find the
 * domain processes of a host without hvd.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hvd.h"
#include "log.h"
#include "sock.h"

void attach_paths(const char *state_dir, const char *name, char *sockp, char *pidp, size_t cap)
{
	snprintf(sockp, cap, "%s/%s/%s.sock", state_dir, DOM_DIR, name);
	snprintf(pidp, cap, "%s/%s/%s.pid", state_dir, DOM_DIR, name);
}

int attach_listen(const struct vm *vm, const char *state_dir)
{
	char dir[600], sockp[700], pidp[700], pid[24];
	snprintf(dir, sizeof(dir), "%s/%s", state_dir, DOM_DIR);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -1;
	attach_paths(state_dir, vm->name, sockp, pidp, sizeof(sockp));
	int fd = sock_listen(sockp);
	if (fd < 0)
		return -1;
	int pf = open(pidp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (pf < 0 || write(pf, pid, (size_t)n) != n) {
		int e = errno;
		if (pf >= 0)
			close(pf);
		close(fd);
		unlink(sockp);
		errno = e;
		return -1;
	}
	close(pf);
	return fd;
}

void attach_forget(const char *state_dir, const char *name)
{
	char sockp[700], pidp[700];
	attach_paths(state_dir, name, sockp, pidp, sizeof(sockp));
	unlink(sockp);
	unlink(pidp);
}
