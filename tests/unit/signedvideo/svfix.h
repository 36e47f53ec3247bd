/* svfix.h - the synthetic H.264 stream of the signed-video tests (3 GOPs of
 * 5 pictures, SPS/PPS before each IDR), signing it and verifying it. */
#ifndef BWC_TEST_SVFIX_H
#define BWC_TEST_SVFIX_H

#include "signed-video/sv.h"

#define SVFIX_GOPS 3
#define SVFIX_PICS 5   /* per GOP: I P P P P */
#define SVFIX_MAXN 64

struct svfix_nal {
	uint8_t b[4096];
	size_t len;
};

struct svfix_stream {
	struct svfix_nal n[SVFIX_MAXN];
	size_t count;
};

extern const struct sv_product svfix_product;

void svfix_push(struct svfix_stream *s, const uint8_t *b, size_t len);
/* The unsigned stream. */
void svfix_plain(struct svfix_stream *out);
/* plain through a signer with key (its SubjectPublicKeyInfo spki): 0 or -1. */
int svfix_sign(const struct svfix_stream *plain, ecc_key *key, const uint8_t *spki,
	       size_t spki_len, struct svfix_stream *out);
/* The verifier's report of s (static storage). */
struct sv_report svfix_verify(const struct svfix_stream *s);

#endif
