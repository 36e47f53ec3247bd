/* discover.c - controller candidates are the default routers the kernel
 * learnt from router advertisements on the dock link (/proc/net/ipv6_route).
 * Reading a kernel table needs no socket, so the camera still listens on
 * nothing. Anyone on the link can advertise: the TLS pin decides. */
#include "bwc/bwc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int hex_addr(const char *hex, struct in6_addr *out)
{
	for (int i = 0; i < 16; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		out->s6_addr[i] = (uint8_t)v;
	}
	return 0;
}

int discover_routers(const char *ifname, struct in6_addr *out, int max)
{
	char dst[33], src[33], hop[33], dev[IF_NAMESIZE + 1];
	unsigned dplen, splen, metric, refcnt, use, flags;
	FILE *f = fopen("/proc/net/ipv6_route", "re");
	int n = 0;

	if (!f)
		return -errno;
	while (n < max && fscanf(f, "%32s %x %32s %x %32s %x %x %x %x %16s", dst, &dplen, src,
				 &splen, hop, &metric, &refcnt, &use, &flags, dev) == 10) {
		struct in6_addr a;
		if (dplen != 0 || strcmp(dev, ifname) != 0 || hex_addr(hop, &a) < 0 ||
		    !IN6_IS_ADDR_LINKLOCAL(&a))
			continue;
		for (int i = 0; i < n; i++)
			if (memcmp(&out[i], &a, sizeof(a)) == 0)
				goto next;
		out[n++] = a;
	next:;
	}
	fclose(f);
	return n;
}
