/* receipt.c - the camera's judgement of a controller receipt (PROTOCOL.md
 * §9.6): it must name exactly the clip that was sent (camera, system,
 * recording, clip, size, SHA-256) and be signed by a certificate of the
 * pinned system. A receipt replayed from another clip, recording, camera or
 * system, or altered after signing, is refused: the clip stays. */
#include "bwc/bwc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int receipt_check(const struct bwc_system *sys, const char *serial, const char *recording_id,
		  const char *clip_id, uint64_t size, const uint8_t sha256[32],
		  const struct dock_receipt *rc, char *why, size_t whylen)
{
	char tbs[1024];
	int n;

	if (!sys || !serial || !recording_id || !clip_id || !sha256 || !rc)
		return -EINVAL;
	if (strcmp(rc->serial, serial) || strcmp(rc->system_id, sys->system_id) ||
	    strcmp(rc->recording_id, recording_id) || strcmp(rc->clip_id, clip_id) ||
	    rc->size != size || memcmp(rc->sha256, sha256, 32) != 0) {
		snprintf(why, whylen, "receipt for %s/%s does not match the clip sent (size, hash, "
			 "ids or system)", recording_id, clip_id);
		return -EBADMSG;
	}
	if (!identity_pinned(sys, rc->signer, rc->signer_len)) {
		snprintf(why, whylen, "receipt for %s/%s is signed by a certificate not of the "
			 "pinned system", recording_id, clip_id);
		return -EPERM;
	}
	n = dock_receipt_tbs(rc, tbs, sizeof(tbs));
	if (n < 0 || certs_verify_signature(rc->signer, rc->signer_len, tbs, (size_t)n, rc->sig,
					    rc->sig_len) != CERTS_OK) {
		snprintf(why, whylen, "receipt for %s/%s has an invalid signature", recording_id,
			 clip_id);
		return -EPERM;
	}
	return 0;
}
