/* test_sv_sei.c - the signed-video SEI byte for byte: a hand-built vector
 * (with emulation-prevention bytes) that the writer must produce and the
 * reader must decode, damaged variants the reader must refuse, a signed SEI
 * whose signature covers exactly the document, and NAL/Annex-B splitting. */
#include "signed-video/sv.h"
#include "signed-video/sv_internal.h"
#include "tests/unit/shared/check.h"

#include <wolfssl/wolfcrypt/asn_public.h>

#include <stdlib.h>
#include <string.h>

/* ---- emulation prevention ---- */

static size_t put_all(const uint8_t *in, size_t n, int epb, uint8_t *out, size_t cap)
{
	struct sv_wr w = { .p = out, .cap = cap, .last2 = SV_LAST2_INIT };

	for (size_t i = 0; i < n; i++)
		sv_put(&w, in[i], epb);
	return w.len;
}

static void test_epb(void)
{
	static const struct {
		uint8_t in[8];
		size_t n;
		uint8_t out[12];
		size_t m;
	} v[] = {
		{ { 0, 0, 0 }, 3, { 0, 0, 3, 0 }, 4 },
		{ { 0, 0, 1 }, 3, { 0, 0, 3, 1 }, 4 },
		{ { 0, 0, 2 }, 3, { 0, 0, 3, 2 }, 4 },
		{ { 0, 0, 3 }, 3, { 0, 0, 3, 3 }, 4 },       /* a data 03 is escaped too */
		{ { 0, 0, 4 }, 3, { 0, 0, 4 }, 3 },          /* above 03: nothing */
		{ { 0, 0, 0, 0 }, 4, { 0, 0, 3, 0, 0 }, 5 }, /* the 03 restarts the count */
		{ { 0, 0, 0, 0, 0 }, 5, { 0, 0, 3, 0, 0, 3, 0 }, 7 },
		{ { 5, 0, 7, 0, 0, 9 }, 6, { 5, 0, 7, 0, 0, 9 }, 6 },
	};
	uint8_t out[16];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t m = put_all(v[i].in, v[i].n, 1, out, sizeof(out));
		CHECK(m == v[i].m && memcmp(out, v[i].out, m) == 0);
		CHECK(put_all(v[i].in, v[i].n, 0, out, sizeof(out)) == v[i].n);   /* epb off */
	}
}

/* ---- the hand-built SEI ----
 * general TLV (GOP 1, 2 NAL units hashed, code version 2.3.8, no timestamps,
 * linked hash all zeros, GOP hash 00 01 .. 1f) and a hash list of two hashes
 * (32 x aa; 00 00 00 00 + 28 x bb). No public key, product info or signature. */
static uint8_t vector[512];
static size_t vector_len;

static void add(const uint8_t *b, size_t n)
{
	memcpy(vector + vector_len, b, n);
	vector_len += n;
}

static void add_rep(uint8_t byte, size_t n)
{
	memset(vector + vector_len, byte, n);
	vector_len += n;
}

static void make_vector(void)
{
	static const uint8_t head[] = {
		0x06, 0x05, 0xa2,   /* SEI, user data unregistered, 162 payload bytes */
		0x53, 0x69, 0x67, 0x6e, 0x65, 0x64, 0x20, 0x56, 0x69, 0x64, 0x65, 0x6f, 0x2e, 0x2e,
		0x2e, 0x30,         /* UUID "Signed Video...0" */
		0xb0,               /* flags: EPB, linked hash, GOP hash */
		0x01, 0x4b,         /* general, 75 bytes */
		0x04,               /* version 4 */
		0x00, 0x00, 0x03, 0x00, 0x01,   /* GOP counter 1: 00 00 00 01 with an EPB */
		0x00, 0x02,         /* 2 NAL units hashed */
		0x02, 0x03, 0x08,   /* code version */
	};
	uint8_t gop_hash[33];

	vector_len = 0;
	add(head, sizeof(head));
	/* flags byte 00 and the 32 zero bytes of the linked hash: 33 zeros, an
	 * EPB before every third */
	add_rep(0, 2);
	for (int i = 0; i < 15; i++)
		add((const uint8_t[]){ 0x03, 0x00, 0x00 }, 3);
	add((const uint8_t[]){ 0x03, 0x00 }, 2);
	/* GOP hash 00 01 02 ..: the 01 follows two zeros */
	gop_hash[0] = 0x00;
	gop_hash[1] = 0x03;
	for (int i = 1; i < 32; i++)
		gop_hash[i + 1] = (uint8_t)i;
	add(gop_hash, sizeof(gop_hash));
	add((const uint8_t[]){ 0x04, 0x00, 0x41, 0x01 }, 4);   /* hash list, 65 bytes, version 1 */
	add_rep(0xaa, 32);
	add((const uint8_t[]){ 0x00, 0x00, 0x03, 0x00, 0x00 }, 5);
	add_rep(0xbb, 28);
	add((const uint8_t[]){ 0x80 }, 1);   /* stop bit */
}

static uint8_t hashes[2][SV_HASH_LEN];

static void vector_sei(struct sv_sei *s)
{
	memset(s, 0, sizeof(*s));
	s->reserved = 0xb0;
	s->gop_counter = 1;
	s->num_hashed = 2;
	memcpy(s->code_version, (const uint8_t[]){ 2, 3, 8 }, 3);
	for (int i = 0; i < 32; i++)
		s->gop_hash[i] = (uint8_t)i;
	memset(hashes[0], 0xaa, SV_HASH_LEN);
	memset(hashes[1], 0xbb, SV_HASH_LEN);
	memset(hashes[1], 0x00, 4);
	s->n_hashes = 2;
	s->hashes = hashes;
}

static void test_write_vector(void)
{
	struct sv_sei s;
	uint8_t out[512];
	size_t len = 0;

	vector_sei(&s);
	CHECK(sv_sei_build(&s, NULL, NULL, out, sizeof(out), &len) == SV_OK);
	CHECK(len == vector_len);
	CHECK(len == vector_len && memcmp(out, vector, len) == 0);
	if (len != vector_len || memcmp(out, vector, len) != 0)
		for (size_t i = 0; i < len && i < vector_len; i++)
			if (out[i] != vector[i]) {
				fprintf(stderr, "first difference at byte %zu: %02x, want %02x\n", i,
					out[i], vector[i]);
				break;
			}
	CHECK(sv_sei_build(&s, NULL, NULL, out, vector_len - 1, &len) == SV_E_INPUT);
}

static void test_read_vector(void)
{
	struct sv_sei s;
	uint8_t zero[SV_HASH_LEN] = { 0 };

	CHECK(sv_nal_kind(vector, vector_len, NULL) == SV_NAL_SV_SEI);
	CHECK(sv_sei_parse(vector, vector_len, &s) == SV_OK);
	CHECK(s.gop_counter == 1 && s.num_hashed == 2 && s.n_hashes == 2);
	CHECK(memcmp(s.code_version, (const uint8_t[]){ 2, 3, 8 }, 3) == 0);
	CHECK(!s.has_timestamps && !s.has_signature && !s.has_pubkey && !s.has_product);
	CHECK(memcmp(s.linked_hash, zero, SV_HASH_LEN) == 0);
	CHECK(s.gop_hash[0] == 0x00 && s.gop_hash[1] == 0x01 && s.gop_hash[31] == 0x1f);
	CHECK(s.hashes && s.hashes[0][31] == 0xaa);
	CHECK(s.hashes && memcmp(s.hashes[1], "\0\0\0\0\xbb", 5) == 0 && s.hashes[1][31] == 0xbb);
	sv_sei_clear(&s);
	/* trailing zero bytes (Annex-B trailing_zero_8bits) are not part of the NAL unit */
	memset(vector + vector_len, 0, 2);
	CHECK(sv_sei_parse(vector, vector_len + 2, &s) == SV_OK);
	sv_sei_clear(&s);
}

/* Each damage, applied to a copy of the vector, must be refused. */
static void test_read_damaged(void)
{
	static const struct {
		const char *what;
		size_t at;     /* byte to change */
		int value;     /* new value, or -1: cut the vector at 'at' */
		int want;
	} d[] = {
		{ "payload size one more", 2, 0xa3, SV_E_FORMAT },
		{ "payload size one less", 2, 0xa1, SV_E_FORMAT },
		{ "no EPB flag", 19, 0x30, SV_E_FORMAT },
		{ "reserved low bits", 19, 0xb1, SV_E_FORMAT },
		{ "unknown tag", 20, 0x09, SV_E_FORMAT },
		{ "general version 3", 22, 0x03, SV_E_VERSION },
		{ "general too long", 21, 0x4c, SV_E_FORMAT },
		{ "cut in the hash list", 150, -1, SV_E_FORMAT },
		{ "stop byte missing", 0, -2, SV_E_FORMAT },
		{ "other UUID", 3, 0x54, SV_E_NOT_SV },
		{ "other SEI payload type", 1, 0x04, SV_E_NOT_SV },
		{ "nal_ref_idc set", 0, 0x26, SV_E_FORMAT },
	};
	uint8_t buf[512];
	struct sv_sei s;

	for (size_t i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		size_t len = vector_len;
		int r;
		memcpy(buf, vector, vector_len);
		if (d[i].value == -1)
			len = d[i].at;
		else if (d[i].value == -2)
			buf[len - 1] = 0x81;
		else
			buf[d[i].at] = (uint8_t)d[i].value;
		r = sv_sei_parse(buf, len, &s);
		if (r != d[i].want)
			fprintf(stderr, "damage \"%s\": %d, want %d\n", d[i].what, r, d[i].want);
		CHECK(r == d[i].want);
		if (r == SV_OK)
			sv_sei_clear(&s);
	}
	/* the stop byte cut off */
	CHECK(sv_sei_parse(vector, vector_len - 1, &s) == SV_E_FORMAT);
	CHECK(sv_sei_parse(NULL, 5, &s) == SV_E_INPUT && sv_sei_parse(buf, 0, &s) == SV_E_INPUT);
}

/* ---- a signed SEI ---- */

static void test_signed(void)
{
	struct sv_sei s, got;
	ecc_key key;
	WC_RNG rng;
	uint8_t plain[512], signed_nal[1024], doc_hash[SV_HASH_LEN], spki[128];
	size_t plain_len, signed_len;
	int verified = 0, n;

	CHECK(wc_InitRng(&rng) == 0);
	CHECK(wc_ecc_init(&key) == 0 && wc_ecc_make_key(&rng, 32, &key) == 0);
	n = wc_EccPublicKeyToDer(&key, spki, sizeof(spki), 1);
	CHECK(n > 0);
	vector_sei(&s);
	CHECK(sv_sei_build(&s, NULL, NULL, plain, sizeof(plain), &plain_len) == SV_OK);
	CHECK(sv_sei_build(&s, &key, &rng, signed_nal, sizeof(signed_nal), &signed_len) == SV_OK);
	/* the signed SEI is the unsigned one (without its stop byte) + the signature TLV
	 * (3 + 4 + 72 bytes before emulation prevention) + the stop byte */
	CHECK(signed_len >= plain_len + 79);
	CHECK(memcmp(signed_nal + 3, plain + 3, plain_len - 4) == 0);   /* size byte differs */
	CHECK(signed_nal[2] == plain[2] + 79);
	CHECK(sv_sei_parse(signed_nal, signed_len, &got) == SV_OK);
	CHECK(got.has_signature && got.signature_len == s.signature_len &&
	      memcmp(got.signature, s.signature, s.signature_len) == 0);
	/* the document: NAL header up to the signature tag, as stored */
	CHECK(sv_sha256(signed_nal, plain_len - 1, NULL, 0, doc_hash) == SV_OK);
	CHECK(memcmp(doc_hash, got.document_hash, SV_HASH_LEN) == 0);
	CHECK(wc_ecc_verify_hash(got.signature, (word32)got.signature_len, got.document_hash,
				 SV_HASH_LEN, &verified, &key) == 0 && verified == 1);
	sv_sei_clear(&got);
	/* a changed hash inside the signed part: parses, but the document hash moves */
	signed_nal[plain_len - 10] ^= 0x40;
	CHECK(sv_sei_parse(signed_nal, signed_len, &got) == SV_OK);
	CHECK(memcmp(doc_hash, got.document_hash, SV_HASH_LEN) != 0);
	sv_sei_clear(&got);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
}

/* Product info, crypto info and public key round-trip; the payload passes
 * 255 bytes, so its size takes two bytes (ff + rest). */
static void test_optional_tlvs(void)
{
	struct sv_sei s, got;
	uint8_t out[1024];
	size_t len;

	vector_sei(&s);
	s.has_product = s.has_crypto = s.has_pubkey = 1;
	snprintf(s.product.serial, sizeof(s.product.serial), "RIG00001");
	snprintf(s.product.manufacturer, sizeof(s.product.manufacturer), "Rig Manufacturer");
	snprintf(s.product.hardware_id, sizeof(s.product.hardware_id), "BWC-1000");
	snprintf(s.product.firmware, sizeof(s.product.firmware), "0.1.0");
	s.pubkey_len = (size_t)snprintf(s.pubkey_pem, sizeof(s.pubkey_pem),
		"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
	CHECK(sv_sei_build(&s, NULL, NULL, out, sizeof(out), &len) == SV_OK);
	/* 162 + public key (3 + 1 + 57) + product (3 + 1 + 5 + 8 + 5 + 8 + 16) + crypto (2 + 13) */
	CHECK(out[2] == 0xff && out[3] == 162 + 61 + 46 + 15 - 255);
	CHECK(out[4 + 16] == 0xb0 && out[21] == 0x02 && out[22] == 0x00 && out[23] == 58 &&
	      out[24] == 0x02);   /* public key TLV first: tag 2, 2-byte length, version 2 */
	CHECK(sv_sei_parse(out, len, &got) == SV_OK);
	CHECK(got.has_product && strcmp(got.product.serial, "RIG00001") == 0 &&
	      strcmp(got.product.manufacturer, "Rig Manufacturer") == 0 &&
	      strcmp(got.product.hardware_id, "BWC-1000") == 0 &&
	      strcmp(got.product.firmware, "0.1.0") == 0 && got.product.address[0] == 0);
	CHECK(got.has_crypto && got.has_pubkey && got.pubkey_len == s.pubkey_len &&
	      memcmp(got.pubkey_pem, s.pubkey_pem, s.pubkey_len) == 0);
	sv_sei_clear(&got);
}

/* ---- NAL units and Annex-B ---- */

static void test_nal(void)
{
	static const uint8_t stream[] = {
		0, 0, 0, 1, 0x67, 0x42, 0x00,           /* SPS (ends in a zero byte: trimmed) */
		0, 0, 1, 0x68, 0xce,                    /* PPS, 3-byte start code */
		0, 0, 0, 1, 0x65, 0x88, 0x84, 0, 0,     /* IDR, first slice, 2 trailing zeros */
		0, 0, 0, 1, 0x41, 0x9a, 0x02,           /* P, first slice */
		0, 0, 1, 0x41, 0x1a,                    /* P, not the first slice */
	};
	const uint8_t *nal;
	size_t pos = 0, len, lens[8], n = 0;
	int primary;

	while ((nal = sv_annexb_next(stream, sizeof(stream), &pos, &len)) && n < 8)
		lens[n++] = len;
	CHECK(n == 5 && lens[0] == 2 && lens[1] == 2 && lens[2] == 3 && lens[3] == 3 && lens[4] == 2);
	CHECK(sv_nal_kind(stream + 4, 2, &primary) == SV_NAL_OTHER);
	CHECK(sv_nal_kind((const uint8_t[]){ 0x65, 0x88 }, 2, &primary) == SV_NAL_I && primary);
	CHECK(sv_nal_kind((const uint8_t[]){ 0x41, 0x1a }, 2, &primary) == SV_NAL_P && !primary);
	CHECK(sv_nal_kind((const uint8_t[]){ 0x05, 0x88 }, 2, &primary) == SV_NAL_INVALID);
	CHECK(sv_nal_kind((const uint8_t[]){ 0xe5, 0x88 }, 2, &primary) == SV_NAL_INVALID);
	CHECK(sv_nal_kind((const uint8_t[]){ 0x65 }, 1, &primary) == SV_NAL_INVALID);
	CHECK(sv_nal_trim((const uint8_t[]){ 1, 0, 0 }, 3) == 1);
}

int main(void)
{
	make_vector();
	test_epb();
	test_write_vector();
	test_read_vector();
	test_read_damaged();
	test_signed();
	test_optional_tlvs();
	test_nal();
	return check_done();
}
