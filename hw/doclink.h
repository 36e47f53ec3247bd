/* doclink.h - is the camera in a dock? The dock is an Ethernet link: docked
 * means the dock interface has carrier. Backend: rtnetlink link events and
 * /sys/class/net state; the rig's veth links are real links, so the rig uses
 * the same backend (undock = the bridge side of the veth goes down). */
#ifndef BWC_DOCLINK_H
#define BWC_DOCLINK_H

#include <net/if.h>

struct doclink {
	char ifname[IF_NAMESIZE];
	int nl;      /* rtnetlink socket, link group (not an IP socket: listens to the kernel only) */
};

int doclink_open(struct doclink *d, const char *ifname);
void doclink_close(struct doclink *d);
/* 1 docked (carrier), 0 not docked, <0 error (e.g. no such interface). */
int doclink_docked(struct doclink *d);
/* Waits until doclink_docked() == want or timeout_ms passes (-1 forever) or a
 * signal arrives. Returns the current state (1/0), or <0 on error/-EINTR. */
int doclink_wait(struct doclink *d, int want, int timeout_ms);
/* fd that becomes readable on link changes (to watch while transferring). */
int doclink_fd(const struct doclink *d);

#endif
