/* svfix.c - see svfix.h. */
#include "svfix.h"

#include <stdlib.h>
#include <string.h>

const struct sv_product svfix_product = { .hardware_id = "BWC-1000", .firmware = "0.1.0",
					  .serial = "RIG00001", .manufacturer = "Rig Manufacturer" };

void svfix_push(struct svfix_stream *s, const uint8_t *b, size_t len)
{
	if (s->count >= SVFIX_MAXN || len > sizeof(s->n[0].b))
		abort();
	memcpy(s->n[s->count].b, b, len);
	s->n[s->count++].len = len;
}

/* Picture p's bytes depend on p; no 00 00 0x runs, so Annex-B framing is safe. */
void svfix_plain(struct svfix_stream *out)
{
	uint8_t b[40];

	memset(out, 0, sizeof(*out));
	for (int g = 0; g < SVFIX_GOPS; g++) {
		svfix_push(out, (const uint8_t[]){ 0x67, 0x42, 0xc0, 0x28 }, 4);
		svfix_push(out, (const uint8_t[]){ 0x68, 0xce, 0x3c, 0x80 }, 4);
		for (int i = 0; i < SVFIX_PICS; i++) {
			int p = g * SVFIX_PICS + i;
			b[0] = i == 0 ? 0x65 : 0x41;
			b[1] = 0x88;   /* first_mb_in_slice = 0 */
			for (size_t k = 2; k < sizeof(b); k++)
				b[k] = (uint8_t)(p * 31 + (int)k * 7 + 1) | 0x10;
			svfix_push(out, b, sizeof(b));
		}
	}
}

int svfix_sign(const struct svfix_stream *plain, ecc_key *key, const uint8_t *spki,
	       size_t spki_len, struct svfix_stream *out)
{
	const uint8_t *sei;
	size_t sei_len;
	sv_signer_t *s;
	int r = 0;

	memset(out, 0, sizeof(*out));
	if (sv_signer_create(key, spki, spki_len, &svfix_product, &s) != SV_OK)
		return -1;
	for (size_t i = 0; i < plain->count && r == 0; i++) {
		r = sv_signer_add(s, plain->n[i].b, plain->n[i].len, &sei, &sei_len);
		if (r == 0 && sei_len)
			svfix_push(out, sei, sei_len);
		svfix_push(out, plain->n[i].b, plain->n[i].len);
	}
	if (r == 0 && (r = sv_signer_finish(s, &sei, &sei_len)) == 0 && sei_len)
		svfix_push(out, sei, sei_len);
	sv_signer_free(s);
	return r == 0 ? 0 : -1;
}

struct sv_report svfix_verify(const struct svfix_stream *s)
{
	static struct sv_report rep;
	sv_verifier_t *v;

	memset(&rep, 0, sizeof(rep));
	if (sv_verifier_create(&v) != SV_OK)
		abort();
	for (size_t i = 0; i < s->count; i++)
		if (sv_verifier_add(v, s->n[i].b, s->n[i].len) != SV_OK)
			abort();
	sv_verifier_finish(v, &rep);
	sv_verifier_free(v);
	return rep;
}
