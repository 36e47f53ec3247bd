/* test_sv_stream.c - signer and verifier on a synthetic H.264 NAL stream
 * (3 GOPs of 5 pictures): intact is valid with every picture covered; each
 * attack (altered, dropped, inserted pictures, GOPs swapped or removed, the
 * final SEI removed, pictures appended, another key mid-stream) gives the
 * verdict and names the place; a late SEI (slow signer) stays valid. */
#include "signed-video/sv.h"
#include "tests/unit/shared/check.h"
#include "svfix.h"

#include <wolfssl/wolfcrypt/asn_public.h>

#include <stdlib.h>
#include <string.h>

#define GOPS SVFIX_GOPS
#define PICS SVFIX_PICS

static struct svfix_stream plain, signed_s;
static ecc_key key, other_key;
static WC_RNG rng;

static int make_key(ecc_key *k, uint8_t *spki, size_t cap, size_t *len)
{
	int n;

	if (wc_ecc_init(k) != 0 || wc_ecc_make_key(&rng, 32, k) != 0)
		return -1;
	n = wc_EccPublicKeyToDer(k, spki, (word32)cap, 1);
	*len = n > 0 ? (size_t)n : 0;
	return n > 0 ? 0 : -1;
}

/* Signs plain with k into out; returns 0. */
static int sign_stream(ecc_key *k, struct svfix_stream *out)
{
	uint8_t spki[128];
	int n = wc_EccPublicKeyToDer(k, spki, sizeof(spki), 1);

	return n > 0 ? svfix_sign(&plain, k, spki, (size_t)n, out) : -1;
}

static int mentions(const struct sv_report *r, long frame, const char *text)
{
	for (size_t i = 0; i < r->n_problems; i++)
		if ((frame < 0 || r->problems[i].first_frame == frame) &&
		    strstr(r->problems[i].text, text))
			return 1;
	for (size_t i = 0; i < r->n_problems; i++)
		fprintf(stderr, "  problem: %s\n", r->problems[i].text);
	return 0;
}

/* Index in signed_s of picture p (stream order, 0-based). */
static size_t pic_index(const struct svfix_stream *s, int p)
{
	int seen = -1;

	for (size_t i = 0; i < s->count; i++) {
		enum sv_nal_kind k = sv_nal_kind(s->n[i].b, s->n[i].len, NULL);
		if ((k == SV_NAL_I || k == SV_NAL_P) && ++seen == p)
			return i;
	}
	abort();
}

static void remove_at(struct svfix_stream *s, size_t i, size_t n)
{
	memmove(&s->n[i], &s->n[i + n], (s->count - i - n) * sizeof(s->n[0]));
	s->count -= n;
}

/* NALs of GOP g: from its SPS to the next GOP's SPS (the SEI of GOP g-1 sits
 * inside it, before the I-frame, as the recorder writes it). */
static void gop_range(const struct svfix_stream *s, int g, size_t *first, size_t *n)
{
	int seen = -1;
	size_t i;

	for (i = 0; i < s->count; i++)
		if ((s->n[i].b[0] & 0x1f) == 7 && ++seen == g)
			break;
	*first = i;
	for (i = *first + 1; i < s->count && (s->n[i].b[0] & 0x1f) != 7; i++)
		;
	*n = i - *first;
}

static void test_intact(void)
{
	struct sv_report r = svfix_verify(&signed_s);

	CHECK(r.verdict == SV_VALID);
	CHECK(r.frames == GOPS * PICS && r.frames_covered == GOPS * PICS);
	CHECK(r.gops == GOPS && r.gops_valid == GOPS && r.n_problems == 0);
	CHECK(strcmp(r.product.serial, "RIG00001") == 0 && r.has_key && !r.key_changed);
	r = svfix_verify(&plain);
	CHECK(r.verdict == SV_UNSIGNED && r.frames == GOPS * PICS && r.frames_covered == 0);
}

static void test_altered(void)
{
	static struct svfix_stream t;
	struct sv_report r;

	t = signed_s;
	t.n[pic_index(&t, 7)].b[20] ^= 0x01;
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && mentions(&r, 7, "frame 7 differs"));
	CHECK(r.gops_valid == GOPS - 1 && r.frames_covered == GOPS * PICS - PICS);
	/* the second SEI altered (a byte of its hash list): its signature fails, the
	 * GOPs after it still verify, and nothing else is reported */
	t = signed_s;
	{
		size_t i, seen = 0;
		for (i = 0; i < t.count; i++)
			if (sv_nal_kind(t.n[i].b, t.n[i].len, NULL) == SV_NAL_SV_SEI && ++seen == 2)
				break;
		t.n[i].b[t.n[i].len - 100] ^= 0x10;
	}
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && mentions(&r, -1, "GOP 2: signature does not verify"));
	CHECK(r.n_problems == 1 && r.gops_valid == GOPS - 1);
}

static void test_dropped_inserted(void)
{
	static struct svfix_stream t;
	struct sv_report r;
	size_t i;

	t = signed_s;
	remove_at(&t, pic_index(&t, 7), 1);
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && mentions(&r, -1, "missing before frame 7"));
	t = signed_s;
	i = pic_index(&t, 8);
	memmove(&t.n[i + 1], &t.n[i], (t.count - i) * sizeof(t.n[0]));
	t.count++;
	t.n[i].b[25] ^= 0x20;   /* a picture that was never signed */
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && mentions(&r, 8, "not signed (inserted)"));
}

static void test_gops(void)
{
	static struct svfix_stream t, u;
	struct sv_report r;
	size_t f1, n1, f2, n2;

	/* swap GOPs 1 and 2 (GOP 2 ends with the final SEI) */
	u = signed_s;
	gop_range(&u, 1, &f1, &n1);
	gop_range(&u, 2, &f2, &n2);
	CHECK(f2 == f1 + n1);
	t = u;
	memcpy(&t.n[f1], &u.n[f2], n2 * sizeof(t.n[0]));
	memcpy(&t.n[f1 + n2], &u.n[f1], n1 * sizeof(t.n[0]));
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && mentions(&r, -1, "GOP"));
	/* remove GOP 1 */
	t = signed_s;
	remove_at(&t, f1, n1);
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && mentions(&r, -1, "not linked"));
}

static void test_end(void)
{
	static struct svfix_stream t;
	struct sv_report r;

	t = signed_s;
	CHECK(sv_nal_kind(t.n[t.count - 1].b, t.n[t.count - 1].len, NULL) == SV_NAL_SV_SEI);
	t.count--;   /* the final SEI removed */
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INCOMPLETE && r.frames_covered == (GOPS - 1) * PICS);
	CHECK(mentions(&r, (GOPS - 1) * PICS, "after the last signature"));
	t = signed_s;
	svfix_push(&t, plain.n[3].b, plain.n[3].len);   /* two pictures appended */
	svfix_push(&t, plain.n[4].b, plain.n[4].len);
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INCOMPLETE && r.frames == GOPS * PICS + 2 &&
	      mentions(&r, GOPS * PICS, "after the last signature"));
}

/* A slow (TPM) signer: each SEI two pictures late is still valid. */
static void test_late_sei(void)
{
	static struct svfix_stream t;
	struct sv_report r;
	struct svfix_nal sei;

	t = signed_s;
	for (size_t i = 0; i + 3 < t.count; i++) {
		if (sv_nal_kind(t.n[i].b, t.n[i].len, NULL) != SV_NAL_SV_SEI)
			continue;
		sei = t.n[i];
		memmove(&t.n[i], &t.n[i + 1], 3 * sizeof(t.n[0]));   /* after I and one P */
		t.n[i + 3] = sei;
		i += 3;
	}
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_VALID && r.frames_covered == GOPS * PICS);
}

/* The last GOP signed by another camera's key: a key change is invalid. */
static void test_other_key(void)
{
	static struct svfix_stream t, o;
	struct sv_report r;
	size_t first, n, of, on;

	CHECK(sign_stream(&other_key, &o) == 0);
	t = signed_s;
	gop_range(&t, 2, &first, &n);
	gop_range(&o, 2, &of, &on);
	/* GOP 2's pictures and the final SEI from the other camera's stream */
	t.count = first;
	for (size_t i = of; i < o.count; i++)
		svfix_push(&t, o.n[i].b, o.n[i].len);
	r = svfix_verify(&t);
	CHECK(r.verdict == SV_INVALID && r.key_changed && mentions(&r, -1, "different key"));
	r = svfix_verify(&o);
	CHECK(r.verdict == SV_VALID);
}

static void test_inputs(void)
{
	const uint8_t *sei;
	size_t len;
	sv_signer_t *s = NULL;
	uint8_t spki[128] = { 0 };
	size_t spki_len;

	CHECK(sv_signer_create(NULL, spki, 1, &svfix_product, &s) == SV_E_INPUT);
	CHECK(sv_signer_create(&key, NULL, 1, &svfix_product, &s) == SV_E_INPUT);
	CHECK(sv_signer_create(&key, spki, 0, &svfix_product, &s) == SV_E_INPUT);
	CHECK(sv_signer_create(&key, spki, 1, NULL, &s) == SV_E_INPUT);
	spki_len = (size_t)wc_EccPublicKeyToDer(&key, spki, sizeof(spki), 1);
	CHECK(sv_signer_create(&key, spki, spki_len, &svfix_product, &s) == SV_OK);
	CHECK(sv_signer_add(s, NULL, 3, &sei, &len) == SV_E_INPUT);
	CHECK(sv_signer_finish(s, &sei, &len) == SV_OK && len == 0);   /* nothing to sign */
	sv_signer_free(s);
	sv_signer_free(NULL);
	/* a SEI with no picture before it (found by fuzzing: nothing pending) */
	{
		static struct svfix_stream t;
		struct sv_report r;
		size_t i = 0;
		while (sv_nal_kind(signed_s.n[i].b, signed_s.n[i].len, NULL) != SV_NAL_SV_SEI)
			i++;
		memset(&t, 0, sizeof(t));
		svfix_push(&t, signed_s.n[i].b, signed_s.n[i].len);
		r = svfix_verify(&t);
		CHECK(r.verdict == SV_INVALID && r.frames == 0 && r.gops == 1);
	}
	sv_verifier_free(NULL);
	CHECK(sv_verifier_create(NULL) == SV_E_INPUT);
	CHECK(sv_verifier_finish(NULL, NULL) == SV_E_INPUT);
}

int main(void)
{
	uint8_t spki[128];
	size_t len;

	if (wc_InitRng(&rng) != 0 || make_key(&key, spki, sizeof(spki), &len) != 0 ||
	    make_key(&other_key, spki, sizeof(spki), &len) != 0)
		return 1;
	svfix_plain(&plain);
	CHECK(sign_stream(&key, &signed_s) == 0);
	CHECK(signed_s.count == plain.count + GOPS);
	test_intact();
	test_altered();
	test_dropped_inserted();
	test_gops();
	test_end();
	test_late_sei();
	test_other_key();
	test_inputs();
	wc_ecc_free(&key);
	wc_ecc_free(&other_key);
	wc_FreeRng(&rng);
	return check_done();
}
