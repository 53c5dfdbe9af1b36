/*
 * tap.c - the host side of a VM's NIC: a tap device (IFF_TAP, no packet
 * information, non-blocking) that the kernel names from "tdm%d", joined to
 * the bridge the VM's config names and brought up.  The tap lives as long
 * as its file descriptor: when the domain process ends, the kernel removes
 * it from the bridge and deletes it.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include "hvd.h"

int tap_open(const char *bridge, char ifname[IFNAMSIZ], char *err, size_t errlen)
{
	struct ifreq ifr;
	int fd, s = -1;
	unsigned br;

	if (!(br = if_nametoindex(bridge))) {
		snprintf(err, errlen, "bridge %s: %s (create it first, e.g. ip link add %s type "
		    "bridge)", bridge, strerror(errno), bridge);
		return -1;
	}
	if ((fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC)) < 0) {
		snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	snprintf(ifr.ifr_name, IFNAMSIZ, "tdm%%d");
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		snprintf(err, errlen, "creating a tap: %s", strerror(errno));
		goto fail;
	}
	snprintf(ifname, IFNAMSIZ, "%s", ifr.ifr_name);
	if ((s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", bridge);
	ifr.ifr_ifindex = (int)if_nametoindex(ifname);
	if (ioctl(s, SIOCBRADDIF, &ifr) < 0) {
		snprintf(err, errlen, "adding %s to bridge %s: %s%s", ifname, bridge,
		    strerror(errno), errno == EOPNOTSUPP || errno == EINVAL ? " (is it a bridge?)" :
		    "");
		goto fail;
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", ifname);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr) < 0)) {
		snprintf(err, errlen, "bringing %s up: %s", ifname, strerror(errno));
		goto fail;
	}
	close(s);
	return fd;
fail:
	if (s >= 0)
		close(s);
	close(fd);
	return -1;
}
