/* signer.c - hashes every picture NAL unit of a stream, linked to its GOP's
 * I-frame, and emits one signed SEI per GOP when the next GOP starts. */
#include "signed-video/sv.h"
#include "signed-video/sv_internal.h"

#include <wolfssl/wolfcrypt/asn_public.h>

#include <stdlib.h>
#include <string.h>

struct sv_signer {
	ecc_key *key;
	WC_RNG rng;
	struct sv_sei sei;                 /* template: key, product info, crypto */
	uint8_t ref[SV_HASH_LEN];          /* hash of this GOP's I-frame */
	uint8_t prev_ref[SV_HASH_LEN];     /* ... of the previous GOP's (zeros before) */
	uint8_t (*list)[SV_HASH_LEN];
	size_t n;
	uint32_t gops;
	uint8_t *out;                      /* the last SEI built */
};

static int pubkey_pem(const uint8_t *spki, size_t len, char *out, size_t cap, size_t *ret_len)
{
	int n = wc_DerToPem(spki, (word32)len, (byte *)out, (word32)cap, PUBLICKEY_TYPE);

	if (n <= 0)
		return SV_E_CRYPTO;
	*ret_len = (size_t)n;
	return SV_OK;
}

int sv_signer_create(ecc_key *key, const uint8_t *spki, size_t spki_len,
		     const struct sv_product *product, sv_signer_t **ret)
{
	static const uint8_t code_version[3] = SV_CODE_VERSION;
	sv_signer_t *s;
	int r;

	if (!key || !spki || !spki_len || !product || !ret)
		return SV_E_INPUT;
	s = calloc(1, sizeof(*s));
	if (!s)
		return SV_E_NOMEM;
	s->list = malloc(SV_MAX_GOP_HASHES * SV_HASH_LEN);
	s->out = malloc(SV_SEI_MAX);
	if (!s->list || !s->out) {
		sv_signer_free(s);
		return SV_E_NOMEM;
	}
	if (wc_InitRng(&s->rng) != 0) {
		free(s->list);
		free(s->out);
		free(s);
		return SV_E_CRYPTO;
	}
	s->key = key;
	s->sei.reserved = 0x80 | 0x20 | 0x10;   /* EPB, linked hash, GOP hash */
	memcpy(s->sei.code_version, code_version, 3);
	s->sei.has_pubkey = s->sei.has_product = s->sei.has_crypto = 1;
	s->sei.product = *product;
	r = pubkey_pem(spki, spki_len, s->sei.pubkey_pem, sizeof(s->sei.pubkey_pem),
		       &s->sei.pubkey_len);
	if (r != SV_OK) {
		sv_signer_free(s);
		return r;
	}
	*ret = s;
	return SV_OK;
}

void sv_signer_free(sv_signer_t *s)
{
	if (!s)
		return;
	wc_FreeRng(&s->rng);
	free(s->list);
	free(s->out);
	free(s);
}

/* Builds and signs the SEI of the open GOP, then starts an empty one. */
static int close_gop(sv_signer_t *s, const uint8_t **ret_sei, size_t *ret_len)
{
	struct sv_sei *e = &s->sei;
	int r;

	e->gop_counter = ++s->gops;
	e->num_hashed = (uint16_t)s->n;
	e->n_hashes = s->n;
	e->hashes = s->list;
	memcpy(e->linked_hash, s->prev_ref, SV_HASH_LEN);
	r = sv_sha256(s->list, s->n * SV_HASH_LEN, NULL, 0, e->gop_hash);
	if (r == SV_OK)
		r = sv_sei_build(e, s->key, &s->rng, s->out, SV_SEI_MAX, ret_len);
	e->hashes = NULL;
	if (r != SV_OK)
		return r;
	memcpy(s->prev_ref, s->ref, SV_HASH_LEN);
	s->n = 0;
	*ret_sei = s->out;
	return SV_OK;
}

int sv_signer_add(sv_signer_t *s, const uint8_t *nal, size_t len, const uint8_t **ret_sei,
		  size_t *ret_len)
{
	uint8_t h[SV_HASH_LEN];
	int primary, r;
	enum sv_nal_kind kind;

	if (!s || !nal || !ret_sei || !ret_len)
		return SV_E_INPUT;
	*ret_len = 0;
	len = sv_nal_trim(nal, len);
	kind = sv_nal_kind(nal, len, &primary);
	if (kind != SV_NAL_I && kind != SV_NAL_P)
		return SV_OK;   /* parameter sets, AUDs, other SEIs: not hashed */
	if (s->n >= SV_MAX_GOP_HASHES)
		return SV_E_GOP_LONG;
	if (kind == SV_NAL_I && primary) {
		if (s->n > 0 && (r = close_gop(s, ret_sei, ret_len)) != SV_OK)
			return r;
		if ((r = sv_sha256(nal, len, NULL, 0, s->ref)) != SV_OK)
			return r;
		memcpy(s->list[s->n++], s->ref, SV_HASH_LEN);
		return SV_OK;
	}
	/* Every other slice: hash(reference || hash(slice)). */
	if ((r = sv_sha256(nal, len, NULL, 0, h)) != SV_OK ||
	    (r = sv_sha256(s->ref, SV_HASH_LEN, h, SV_HASH_LEN, s->list[s->n])) != SV_OK)
		return r;
	s->n++;
	return SV_OK;
}

int sv_signer_finish(sv_signer_t *s, const uint8_t **ret_sei, size_t *ret_len)
{
	if (!s || !ret_sei || !ret_len)
		return SV_E_INPUT;
	*ret_len = 0;
	return s->n > 0 ? close_gop(s, ret_sei, ret_len) : SV_OK;
}

static int append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *nal, size_t n)
{
	if (*len + n + 4 > *cap) {
		size_t c = (*len + n + 4) * 2;
		uint8_t *p = realloc(*buf, c);
		if (!p)
			return SV_E_NOMEM;
		*buf = p;
		*cap = c;
	}
	memcpy(*buf + *len, "\0\0\0\1", 4);
	memcpy(*buf + *len + 4, nal, n);
	*len += n + 4;
	return SV_OK;
}

int sv_signer_annexb(sv_signer_t *s, const uint8_t *in, size_t in_len, int final,
		     uint8_t **ret, size_t *ret_len)
{
	size_t pos = 0, n, sei_len, len = 0, cap = in_len + 2048;
	const uint8_t *nal, *sei;
	uint8_t *out;
	int r = SV_OK;

	if (!s || (!in && in_len) || !ret || !ret_len)
		return SV_E_INPUT;
	out = malloc(cap);
	if (!out)
		return SV_E_NOMEM;
	while (r == SV_OK && (nal = sv_annexb_next(in, in_len, &pos, &n))) {
		if (n == 0)
			continue;
		r = sv_signer_add(s, nal, n, &sei, &sei_len);
		if (r == SV_OK && sei_len)
			r = append(&out, &len, &cap, sei, sei_len);
		if (r == SV_OK)
			r = append(&out, &len, &cap, nal, n);
	}
	if (r == SV_OK && final && (r = sv_signer_finish(s, &sei, &sei_len)) == SV_OK && sei_len)
		r = append(&out, &len, &cap, sei, sei_len);
	if (r != SV_OK) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = len;
	return SV_OK;
}
