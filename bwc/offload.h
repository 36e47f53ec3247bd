/* offload.h - pipelined clip transfer on the camera's uplink (PROTOCOL.md
 * §9.1): a chunk PUT is sent, and its answer read, as two steps, so that the
 * next chunk can be on its way while the controller makes one durable. */
#ifndef BWC_OFFLOAD_H
#define BWC_OFFLOAD_H

#include "bwc/bwc.h"

/* Sends a PUT of len bytes of fd from offset (application/octet-stream);
 * keep_going is asked between blocks (NULL: always). Returns UPLINK_OK or an
 * UPLINK_* error; the answer is read later with uplink_read_answer. */
int uplink_send_file(struct uplink *u, const char *path, int fd, uint64_t offset, uint64_t len,
		     int (*keep_going)(void *), void *ud, char *why, size_t whylen);
/* Reads the next answer (to the oldest unanswered request) into *h. */
int uplink_read_answer(struct uplink *u, const char *path, int *ret_status, struct dock_http *h,
		       char *why, size_t whylen);

#endif
