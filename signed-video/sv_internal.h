/* sv_internal.h - helpers shared by the signed-video library's files (and its
 * unit tests): the emulation-prevention writer and SHA-256. */
#ifndef BWC_SV_INTERNAL_H
#define BWC_SV_INTERNAL_H

#include "signed-video/sv.h"

#define SV_LAST2_INIT 0x0101u   /* "last two bytes written": anything but 00 00 */

struct sv_wr {
	uint8_t *p;
	size_t cap, len;   /* len may exceed cap: the caller checks */
	unsigned last2;
};
/* Appends b; with epb, a 0x03 goes first when b <= 3 follows two zero bytes. */
void sv_put(struct sv_wr *w, uint8_t b, int epb);

/* SHA-256 over a, then b (b may be NULL). */
int sv_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[SV_HASH_LEN]);

/* The code version the general TLV carries: the framework release whose
 * format we follow (validators select their rules by it; FORMAT.md). */
#define SV_CODE_VERSION { 2, 3, 8 }

#endif
