/* sv_sei.c - libFuzzer target: the signed-video SEI reader (sv_sei_parse:
 * payload size, emulation prevention, TLVs) and the verifier that feeds on
 * whole streams. Byte 0 bit 0 clear: the rest is one NAL unit; set: an
 * Annex-B stream through sv_verifier_add. */
#include "tests/fuzz/fuzz.h"
#include "signed-video/sv.h"

static void same_fields(const struct sv_sei *a, const struct sv_sei *b)
{
	FZ_CHECK(a->reserved == b->reserved && a->gop_counter == b->gop_counter);
	FZ_CHECK(a->num_hashed == b->num_hashed && a->n_hashes == b->n_hashes);
	FZ_CHECK(memcmp(a->code_version, b->code_version, 3) == 0);
	FZ_CHECK(a->general_flags == b->general_flags && a->has_timestamps == b->has_timestamps);
	FZ_CHECK(!a->has_timestamps || (a->start_ts == b->start_ts && a->end_ts == b->end_ts));
	FZ_CHECK(memcmp(a->linked_hash, b->linked_hash, SV_HASH_LEN) == 0);
	FZ_CHECK(memcmp(a->gop_hash, b->gop_hash, SV_HASH_LEN) == 0);
	FZ_CHECK(a->n_hashes == 0 || memcmp(a->hashes, b->hashes, a->n_hashes * SV_HASH_LEN) == 0);
	FZ_CHECK(a->has_pubkey == b->has_pubkey && a->pubkey_len == b->pubkey_len &&
		 memcmp(a->pubkey_pem, b->pubkey_pem, a->pubkey_len) == 0);
	FZ_CHECK(a->has_product == b->has_product &&
		 memcmp(&a->product, &b->product, sizeof(a->product)) == 0);
	FZ_CHECK(a->has_crypto == b->has_crypto);
}

/* An accepted SEI is well-formed: rewritten without its signature it parses
 * to the same fields. */
static void one_nal(const uint8_t *data, size_t size)
{
	struct sv_sei s, again;
	static uint8_t out[SV_SEI_MAX];
	size_t len;

	if (sv_sei_parse(data, size, &s) != SV_OK)
		return;
	FZ_CHECK(s.n_hashes == s.num_hashed && s.n_hashes <= SV_MAX_GOP_HASHES);
	FZ_CHECK(s.signature_len <= SV_SIG_MAX && (s.has_signature || s.signature_len == 0));
	FZ_CHECK(s.pubkey_len < sizeof(s.pubkey_pem));
	FZ_CHECK(memchr(s.product.serial, 0, SV_TEXT_MAX) && memchr(s.product.address, 0, SV_TEXT_MAX));
	s.has_signature = 0;
	FZ_CHECK(sv_sei_build(&s, NULL, NULL, out, sizeof(out), &len) == SV_OK);
	memset(&again, 0, sizeof(again));
	FZ_CHECK(sv_sei_parse(out, len, &again) == SV_OK);
	same_fields(&s, &again);
	sv_sei_clear(&again);
	sv_sei_clear(&s);
}

static void stream(const uint8_t *data, size_t size)
{
	sv_verifier_t *v;
	struct sv_report r;
	const uint8_t *nal;
	size_t pos = 0, len;

	FZ_CHECK(sv_verifier_create(&v) == SV_OK);
	while ((nal = sv_annexb_next(data, size, &pos, &len)))
		if (len)
			FZ_CHECK(sv_verifier_add(v, nal, len) == SV_OK);
	FZ_CHECK(sv_verifier_finish(v, &r) == SV_OK);
	FZ_CHECK(r.frames_covered <= r.frames && r.gops_valid <= r.gops);
	FZ_CHECK(r.n_problems <= SV_MAX_PROBLEMS && (unsigned)r.verdict <= SV_INCOMPLETE);
	FZ_CHECK(r.verdict != SV_VALID || (r.n_problems == 0 && r.frames_covered == r.frames));
	for (size_t i = 0; i < r.n_problems; i++)
		FZ_CHECK(memchr(r.problems[i].text, 0, sizeof(r.problems[i].text)) != NULL);
	sv_verifier_free(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (data[0] & 1)
		stream(data + 1, size - 1);
	else
		one_nal(data + 1, size - 1);
	return 0;
}
