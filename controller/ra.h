/* ra.h - controller discovery: IPv6 Router Advertisements on the dock link.
 * Cameras never listen: their kernel turns our advertisement into a default
 * route, and the camera connects to that router address (PROTOCOL.md §2). */
#ifndef BWC_RA_H
#define BWC_RA_H

#include <uv.h>

struct ra {
	uv_poll_t poll;
	uv_timer_t timer;
	int fd;
	unsigned ifindex;
	int interval_ms;
	uint64_t last_sent_ms;
	unsigned long sent, solicited;
};

/* Opens the raw ICMPv6 socket (needs CAP_NET_RAW: call before dropping it). */
int ra_open(struct ra *ra, uv_loop_t *loop, const char *ifname, int interval_ms);
void ra_close(struct ra *ra);

#endif
