/* verify.c - the verification core: recomputes every picture hash, checks
 * each SEI's signature, hash list, GOP hash, counter and link to the GOP
 * before, and says which GOPs and pictures fail or are not covered. */
#include "signed-video/sv.h"
#include "signed-video/sv_internal.h"

#include <wolfssl/wolfcrypt/asn_public.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
	uint8_t hash[SV_HASH_LEN];
	long frame;
	int gop_start;   /* primary slice of an I-frame */
	int primary;
};

struct sv_verifier {
	struct entry *pending;   /* picture hashes not yet covered by a SEI */
	size_t n, cap;
	uint8_t ref[SV_HASH_LEN];
	long frame;              /* number of the last picture seen */
	ecc_key key;
	int has_key;
	uint8_t expect_link[SV_HASH_LEN];
	uint32_t last_counter;
	int truncated;
	struct sv_report rep;
};

const char *sv_verdict_name(enum sv_verdict v)
{
	static const char *const names[] = { "valid", "invalid", "unsigned", "incomplete" };

	return (unsigned)v < 4 ? names[v] : "unknown";
}

int sv_verifier_create(sv_verifier_t **ret)
{
	sv_verifier_t *v;

	if (!ret)
		return SV_E_INPUT;
	v = calloc(1, sizeof(*v));
	if (!v)
		return SV_E_NOMEM;
	v->frame = -1;
	*ret = v;
	return SV_OK;
}

void sv_verifier_free(sv_verifier_t *v)
{
	if (!v)
		return;
	if (v->has_key)
		wc_ecc_free(&v->key);
	free(v->pending);
	free(v);
}

static void problem(sv_verifier_t *v, int invalid, long gop, long first, long last,
		    const char *fmt, ...)
{
	struct sv_report *r = &v->rep;
	struct sv_problem *p;
	va_list ap;

	if (r->n_problems >= SV_MAX_PROBLEMS) {
		r->problems_dropped = 1;
		if (invalid)
			r->problems[SV_MAX_PROBLEMS - 1].invalid = 1;
		return;
	}
	p = &r->problems[r->n_problems++];
	p->invalid = invalid;
	p->gop = gop;
	p->first_frame = first;
	p->last_frame = last;
	va_start(ap, fmt);
	vsnprintf(p->text, sizeof(p->text), fmt, ap);
	va_end(ap);
}

static int push(sv_verifier_t *v, const uint8_t hash[SV_HASH_LEN], int gop_start, int primary)
{
	if (v->n == v->cap) {
		size_t c = v->cap ? v->cap * 2 : 256;
		struct entry *p = realloc(v->pending, c * sizeof(*p));
		if (!p)
			return SV_E_NOMEM;
		v->pending = p;
		v->cap = c;
	}
	memcpy(v->pending[v->n].hash, hash, SV_HASH_LEN);
	v->pending[v->n].frame = v->frame;
	v->pending[v->n].gop_start = gop_start;
	v->pending[v->n].primary = primary;
	v->n++;
	return SV_OK;
}

static int add_picture(sv_verifier_t *v, enum sv_nal_kind kind, int primary, const uint8_t *nal,
		       size_t len)
{
	uint8_t h[SV_HASH_LEN], linked[SV_HASH_LEN];
	int r;

	if (primary) {
		v->frame++;
		v->rep.frames++;
	} else if (v->frame < 0) {
		v->frame = 0;   /* a stream starting mid-picture */
	}
	if ((r = sv_sha256(nal, len, NULL, 0, h)) != SV_OK)
		return r;
	if (kind == SV_NAL_I && primary) {
		memcpy(v->ref, h, SV_HASH_LEN);
		return push(v, h, 1, 1);
	}
	if ((r = sv_sha256(v->ref, SV_HASH_LEN, h, SV_HASH_LEN, linked)) != SV_OK)
		return r;
	return push(v, linked, 0, primary);
}

/* The SEI's key: the first one is kept, a different one later is a failure. */
static int check_key(sv_verifier_t *v, const struct sv_sei *s, long gop)
{
	uint8_t der[256];
	size_t len;
	word32 idx = 0;
	int n;

	if (!s->has_pubkey) {
		if (!v->has_key)
			problem(v, 1, gop, -1, -1, "GOP %ld: SEI without a public key: cannot verify", gop);
		return v->has_key ? 0 : -1;
	}
	n = wc_PubKeyPemToDer((const unsigned char *)s->pubkey_pem, (int)s->pubkey_len, der,
			      sizeof(der));
	len = n > 0 ? (size_t)n : 0;
	if (n <= 0 || len > sizeof(v->rep.spki)) {
		problem(v, 1, gop, -1, -1, "GOP %ld: public key in the SEI unreadable", gop);
		return -1;
	}
	if (v->has_key) {
		if (len == v->rep.spki_len && memcmp(der, v->rep.spki, len) == 0)
			return 0;
		v->rep.key_changed = 1;
		problem(v, 1, gop, -1, -1, "GOP %ld: signed with a different key than the GOPs before", gop);
		return -1;
	}
	if (wc_ecc_init(&v->key) != 0)
		return -1;
	if (wc_EccPublicKeyDecode(der, &idx, &v->key, (word32)len) != 0 ||
	    wc_ecc_get_curve_id(v->key.idx) != ECC_SECP256R1) {
		wc_ecc_free(&v->key);
		problem(v, 1, gop, -1, -1, "GOP %ld: public key is not an ECDSA P-256 key", gop);
		return -1;
	}
	v->has_key = 1;
	v->rep.has_key = 1;
	memcpy(v->rep.spki, der, len);
	v->rep.spki_len = len;
	return 0;
}

/* How many pending entries the SEI covers: up to the second GOP start (a SEI
 * that arrives late sits after the first pictures of the next GOP). */
static size_t gop_extent(const sv_verifier_t *v)
{
	for (size_t i = 1; i < v->n; i++)
		if (v->pending[i].gop_start)
			return i;
	return v->n;
}

static long frame_at(const sv_verifier_t *v, size_t i, size_t k)
{
	if (i < k)
		return v->pending[i].frame;
	return k ? v->pending[k - 1].frame : -1;
}

/* Compares the signed hash list with the k pictures seen; a problem for each
 * difference. Returns the number of matching entries. */
static size_t match(sv_verifier_t *v, const struct sv_sei *s, size_t k, long gop)
{
	size_t i = 0, j = 0, same = 0;
	const struct entry *p = v->pending;

	while (i < s->n_hashes || j < k) {
		long f = frame_at(v, j, k);
		if (i < s->n_hashes && j < k && memcmp(s->hashes[i], p[j].hash, SV_HASH_LEN) == 0) {
			i++, j++, same++;
		} else if (j >= k || (i + 1 < s->n_hashes && j < k &&
				      memcmp(s->hashes[i + 1], p[j].hash, SV_HASH_LEN) == 0)) {
			problem(v, 1, gop, f, f, "GOP %ld: a signed picture is missing %s frame %ld "
				"(dropped or cut)", gop, j < k ? "before" : "after", f);
			i++;
		} else if (i >= s->n_hashes || (j + 1 < k &&
						memcmp(s->hashes[i], p[j + 1].hash, SV_HASH_LEN) == 0)) {
			problem(v, 1, gop, f, f, "GOP %ld: frame %ld was not signed (inserted)", gop, f);
			j++;
		} else {
			problem(v, 1, gop, f, f, "GOP %ld: frame %ld differs from the signed picture "
				"(altered or replaced)", gop, f);
			i++, j++;
		}
	}
	return same;
}

static void consume(sv_verifier_t *v, size_t k, int covered)
{
	for (size_t i = 0; i < k; i++)
		v->rep.frames_covered += covered && v->pending[i].primary;
	if (k == 0)
		return;   /* nothing pending (pending may still be NULL) */
	memmove(v->pending, v->pending + k, (v->n - k) * sizeof(*v->pending));
	v->n -= k;
}

/* The next SEI must follow this one. */
static void advance_chain(sv_verifier_t *v, const struct sv_sei *s)
{
	v->last_counter = s->gop_counter;
	if (s->n_hashes)
		memcpy(v->expect_link, s->hashes[0], SV_HASH_LEN);
}

static int check_chain(sv_verifier_t *v, const struct sv_sei *s, long gop)
{
	int ok = 1;

	if (s->gop_counter != v->last_counter + 1) {
		problem(v, 1, gop, -1, -1, "GOP %ld follows GOP %lu: GOPs missing, repeated or "
			"reordered", gop, (unsigned long)v->last_counter);
		ok = 0;
	}
	if (memcmp(s->linked_hash, v->expect_link, SV_HASH_LEN) != 0) {
		problem(v, 1, gop, -1, -1, "GOP %ld is not linked to the GOP before it (GOPs "
			"removed or reordered, or the clip does not start at the recording's start)", gop);
		ok = 0;
	}
	advance_chain(v, s);
	return ok;
}

static int check_sei(sv_verifier_t *v, const uint8_t *nal, size_t len)
{
	struct sv_sei s;
	uint8_t gop_hash[SV_HASH_LEN];
	size_t k = gop_extent(v), same;
	long gop;
	int ok, verified = 0, r;

	v->rep.gops++;
	r = sv_sei_parse(nal, len, &s);
	if (r == SV_E_NOMEM)
		return r;
	if (r != SV_OK) {
		problem(v, 1, -1, frame_at(v, k, k), -1, "signed-video SEI after frame %ld "
			"unreadable: %s", frame_at(v, k, k), sv_strerror(r));
		consume(v, k, 0);
		return SV_OK;
	}
	gop = (long)s.gop_counter;
	if (s.has_product && !v->rep.product.serial[0])
		v->rep.product = s.product;
	ok = check_key(v, &s, gop) == 0;
	if (ok && !s.has_signature) {
		problem(v, 0, gop, -1, -1, "GOP %ld: SEI carries no signature", gop);
		ok = 0;
	}
	if (ok && (wc_ecc_verify_hash(s.signature, (word32)s.signature_len, s.document_hash,
				      SV_HASH_LEN, &verified, &v->key) != 0 || !verified)) {
		problem(v, 1, gop, -1, -1, "GOP %ld: signature does not verify (SEI altered or not "
			"made with this key)", gop);
		ok = 0;
	}
	if (ok && (sv_sha256(s.hashes, s.n_hashes * SV_HASH_LEN, NULL, 0, gop_hash) != SV_OK ||
		   memcmp(gop_hash, s.gop_hash, SV_HASH_LEN) != 0)) {
		problem(v, 1, gop, -1, -1, "GOP %ld: GOP hash does not match its hash list", gop);
		ok = 0;
	}
	if (ok) {
		ok = check_chain(v, &s, gop);
		same = match(v, &s, k, gop);
		if (same == 0 && k > 0)
			problem(v, 1, gop, v->pending[0].frame, v->pending[k - 1].frame,
				"GOP %ld: none of frames %ld-%ld is a picture it signed", gop,
				v->pending[0].frame, v->pending[k - 1].frame);
		ok = ok && same == s.n_hashes && same == k;
	} else {
		advance_chain(v, &s);   /* already failed: no second report for the next GOP */
	}
	v->rep.gops_valid += ok;
	consume(v, k, ok);
	sv_sei_clear(&s);
	return SV_OK;
}

int sv_verifier_add(sv_verifier_t *v, const uint8_t *nal, size_t len)
{
	enum sv_nal_kind kind;
	int primary;

	if (!v || !nal)
		return SV_E_INPUT;
	len = sv_nal_trim(nal, len);
	kind = sv_nal_kind(nal, len, &primary);
	if (kind == SV_NAL_I || kind == SV_NAL_P)
		return add_picture(v, kind, primary, nal, len);
	if (kind == SV_NAL_SV_SEI)
		return check_sei(v, nal, len);
	return SV_OK;
}

void sv_verifier_truncated(sv_verifier_t *v, const char *why)
{
	if (!v)
		return;
	v->truncated = 1;
	problem(v, 0, -1, v->frame, -1, "the file ends early after frame %ld: %s", v->frame,
		why ? why : "unreadable");
}

int sv_verifier_finish(sv_verifier_t *v, struct sv_report *ret)
{
	struct sv_report *r;
	int invalid = 0, incomplete = 0;

	if (!v || !ret)
		return SV_E_INPUT;
	r = &v->rep;
	if (v->n > 0 && r->gops > 0)
		problem(v, 0, -1, v->pending[0].frame, v->pending[v->n - 1].frame,
			"frames %ld-%ld after the last signature are not covered (final signature "
			"missing, or pictures appended)", v->pending[0].frame,
			v->pending[v->n - 1].frame);
	for (size_t i = 0; i < r->n_problems; i++) {
		invalid |= r->problems[i].invalid;
		incomplete |= !r->problems[i].invalid;
	}
	if (invalid)
		r->verdict = SV_INVALID;
	else if (r->gops == 0)
		r->verdict = v->truncated ? SV_INCOMPLETE : SV_UNSIGNED;
	else if (incomplete || r->frames_covered != r->frames)
		r->verdict = SV_INCOMPLETE;
	else
		r->verdict = SV_VALID;
	*ret = *r;
	return SV_OK;
}
