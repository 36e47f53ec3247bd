/* doclink.c - dock presence from the kernel's link state (carrier). */
#include "hw/doclink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/rtnetlink.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/util.h"

int doclink_open(struct doclink *d, const char *ifname)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };

	memset(d, 0, sizeof(*d));
	if (!ifname || !ifname[0] || strlen(ifname) >= sizeof(d->ifname))
		return -EINVAL;
	strcpy(d->ifname, ifname);
	d->nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
	if (d->nl < 0)
		return -errno;
	if (bind(d->nl, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int r = -errno;
		close(d->nl);
		d->nl = -1;
		return r;
	}
	return 0;
}

void doclink_close(struct doclink *d)
{
	if (d->nl >= 0)
		close(d->nl);
	d->nl = -1;
}

int doclink_fd(const struct doclink *d)
{
	return d->nl;
}

/* /sys/class/net/IF/carrier reads "1" with carrier, "0" without, and fails
 * with EINVAL while the interface is administratively down. */
int doclink_docked(struct doclink *d)
{
	char path[64], buf[4] = "";
	int fd, n;

	snprintf(path, sizeof(path), "/sys/class/net/%s/carrier", d->ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;
	n = (int)read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return errno == EINVAL ? 0 : -errno;
	return buf[0] == '1';
}

static void drain(int fd)
{
	char buf[8192];

	while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

int doclink_wait(struct doclink *d, int want, int timeout_ms)
{
	long deadline = timeout_ms < 0 ? -1 : util_monotonic_ms() + timeout_ms;

	for (;;) {
		struct pollfd p = { .fd = d->nl, .events = POLLIN };
		int state = doclink_docked(d), wait_ms, r;

		if (state < 0 || state == want)
			return state;
		wait_ms = deadline < 0 ? 1000 : (int)(deadline - util_monotonic_ms());
		if (deadline >= 0 && wait_ms <= 0)
			return state;
		/* Poll at most a second at a time: a missed event costs one second. */
		r = poll(&p, 1, wait_ms > 1000 ? 1000 : wait_ms);
		if (r < 0)
			return -errno;
		drain(d->nl);
	}
}
