/* ra.c - periodic and solicited Router Advertisements (RFC 4861) on the dock
 * interface. They carry nothing secret: a rogue may send them too, and the
 * camera's pin decides whom it talks to. */
#include "controller/ra.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "shared/log.h"

static int ra_lifetime_s(const struct ra *ra)
{
	int s = 3 * ra->interval_ms / 1000;

	return s < 3 ? 3 : s > 1800 ? 1800 : s;
}

static void ra_send(struct ra *ra)
{
	struct nd_router_advert adv;
	struct sockaddr_in6 dst = { .sin6_family = AF_INET6, .sin6_scope_id = ra->ifindex };

	memset(&adv, 0, sizeof(adv));
	adv.nd_ra_type = ND_ROUTER_ADVERT;
	adv.nd_ra_curhoplimit = 64;
	adv.nd_ra_router_lifetime = htons((uint16_t)ra_lifetime_s(ra));
	inet_pton(AF_INET6, "ff02::1", &dst.sin6_addr);
	if (sendto(ra->fd, &adv, sizeof(adv), 0, (struct sockaddr *)&dst, sizeof(dst)) < 0) {
		/* The link may be down (no dock yet): not an error worth more than debug. */
		log_debug("router advertisement not sent: %s", strerror(errno));
		return;
	}
	ra->sent++;
	ra->last_sent_ms = uv_now(ra->timer.loop);
}

static void on_ra_timer(uv_timer_t *t)
{
	ra_send(t->data);
}

static void on_ra_readable(uv_poll_t *p, int status, int events)
{
	struct ra *ra = p->data;
	uint8_t buf[1500];
	ssize_t n;

	if (status < 0)
		return;
	while ((n = recv(ra->fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		if ((size_t)n < sizeof(struct nd_router_solicit) || buf[0] != ND_ROUTER_SOLICIT)
			continue;
		ra->solicited++;
		/* Answer at most every 200 ms, however many cameras ask. */
		if (uv_now(ra->timer.loop) - ra->last_sent_ms >= 200)
			ra_send(ra);
	}
}

int ra_open(struct ra *ra, uv_loop_t *loop, const char *ifname, int interval_ms)
{
	struct icmp6_filter filter;
	struct ipv6_mreq mreq = { 0 };
	int hops = 255, r;

	memset(ra, 0, sizeof(*ra));
	ra->interval_ms = interval_ms;
	ra->ifindex = if_nametoindex(ifname);
	if (ra->ifindex == 0)
		return -errno;
	ra->fd = socket(AF_INET6, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_ICMPV6);
	if (ra->fd < 0)
		return -errno;
	ICMP6_FILTER_SETBLOCKALL(&filter);
	ICMP6_FILTER_SETPASS(ND_ROUTER_SOLICIT, &filter);
	mreq.ipv6mr_interface = ra->ifindex;
	inet_pton(AF_INET6, "ff02::2", &mreq.ipv6mr_multiaddr);
	if (setsockopt(ra->fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) < 0 ||
	    setsockopt(ra->fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(ra->fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &hops, sizeof(hops)) < 0 ||
	    setsockopt(ra->fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0 ||
	    setsockopt(ra->fd, IPPROTO_IPV6, IPV6_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) < 0) {
		r = -errno;
		close(ra->fd);
		return r;
	}
	if ((r = uv_poll_init(loop, &ra->poll, ra->fd)) < 0 ||
	    (r = uv_timer_init(loop, &ra->timer)) < 0)
		return r;
	ra->poll.data = ra;
	ra->timer.data = ra;
	uv_poll_start(&ra->poll, UV_READABLE, on_ra_readable);
	uv_timer_start(&ra->timer, on_ra_timer, 0, (uint64_t)interval_ms);
	return 0;
}

void ra_close(struct ra *ra)
{
	uv_poll_stop(&ra->poll);
	uv_close((uv_handle_t *)&ra->poll, NULL);
	uv_close((uv_handle_t *)&ra->timer, NULL);
	close(ra->fd);
}
