/* sei.c - H.264 NAL units, emulation prevention, and the signed-video SEI:
 * its TLVs written and read byte for byte as FORMAT.md describes. */
#include "signed-video/sv.h"
#include "signed-video/sv_internal.h"

#include <wolfssl/wolfcrypt/sha256.h>

#include <stdlib.h>
#include <string.h>

/* "Signed Video...0" */
const uint8_t sv_uuid[SV_UUID_LEN] = { 0x53, 0x69, 0x67, 0x6e, 0x65, 0x64, 0x20, 0x56,
				       0x69, 0x64, 0x65, 0x6f, 0x2e, 0x2e, 0x2e, 0x30 };

/* DER of OID 2.16.840.1.101.3.4.2.1 (SHA-256) */
static const uint8_t sha256_oid[] = { 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
				      0x01 };

enum { TAG_GENERAL = 1, TAG_PUBKEY = 2, TAG_PRODUCT = 3, TAG_HASH_LIST = 4, TAG_SIGNATURE = 5,
       TAG_ARBITRARY = 6, TAG_CRYPTO = 7, TAG_VENDOR_AXIS = 129 };

#define GENERAL_VERSION 4
#define PUBKEY_VERSION 2
#define PRODUCT_VERSION 2
#define HASH_LIST_VERSION 1
#define SIGNATURE_VERSION 2
#define CRYPTO_VERSION 1
#define RESERVED_EPB 0x80       /* TLVs carry emulation prevention; hashed as stored */
#define RESERVED_GOLDEN 0x40
#define RESERVED_LINKED 0x20    /* general TLV holds the linked hash */
#define RESERVED_GOP_HASH 0x10  /* general TLV holds the GOP hash */
#define STOP_BYTE 0x80
#define SEI_PAYLOAD_USER_DATA_UNREGISTERED 5

const char *sv_strerror(int err)
{
	switch (err) {
	case SV_OK: return "success";
	case SV_E_NOMEM: return "out of memory";
	case SV_E_INPUT: return "bad argument";
	case SV_E_NOT_SV: return "not a signed-video SEI";
	case SV_E_FORMAT: return "malformed signed-video SEI";
	case SV_E_VERSION: return "unknown signed-video TLV version";
	case SV_E_GOP_LONG: return "GOP too long to sign (more than 1024 NAL units)";
	case SV_E_CRYPTO: return "cryptographic operation failed";
	default: return "unknown error";
	}
}

int sv_sha256(const void *a, size_t alen, const void *b, size_t blen, uint8_t out[SV_HASH_LEN])
{
	wc_Sha256 sha;
	int r = wc_InitSha256(&sha);

	if (r == 0)
		r = wc_Sha256Update(&sha, a, (word32)alen);
	if (r == 0 && b)
		r = wc_Sha256Update(&sha, b, (word32)blen);
	if (r == 0)
		r = wc_Sha256Final(&sha, out);
	wc_Sha256Free(&sha);
	return r == 0 ? SV_OK : SV_E_CRYPTO;
}

size_t sv_nal_trim(const uint8_t *nal, size_t len)
{
	while (len > 0 && nal[len - 1] == 0)
		len--;
	return len;
}

/* Offset of the UUID in an SEI NAL whose first message is user data
 * unregistered, with its payload size; 0 if it is not one. */
static size_t sei_payload(const uint8_t *nal, size_t len, size_t *ret_size)
{
	size_t i = 1, type = 0, size = 0;

	while (i < len && nal[i] == 0xff)
		type += nal[i++];
	if (i >= len)
		return 0;
	type += nal[i++];
	while (i < len && nal[i] == 0xff)
		size += nal[i++];
	if (i >= len)
		return 0;
	size += nal[i++];
	if (type != SEI_PAYLOAD_USER_DATA_UNREGISTERED || i + SV_UUID_LEN > len)
		return 0;
	*ret_size = size;
	return i;
}

enum sv_nal_kind sv_nal_kind(const uint8_t *nal, size_t len, int *ret_primary)
{
	size_t off, size;
	int type;

	if (ret_primary)
		*ret_primary = 0;
	if (!nal || len < 2 || (nal[0] & 0x80))
		return SV_NAL_INVALID;
	type = nal[0] & 0x1f;
	if (type == 1 || type == 5) {
		if (ret_primary)
			*ret_primary = (nal[1] & 0x80) != 0;   /* first_mb_in_slice == 0 */
		if (type == 5 && (nal[0] & 0x60) == 0)
			return SV_NAL_INVALID;
		return type == 5 ? SV_NAL_I : SV_NAL_P;
	}
	if (type == 6 && (off = sei_payload(nal, len, &size)) &&
	    memcmp(nal + off, sv_uuid, SV_UUID_LEN) == 0)
		return SV_NAL_SV_SEI;
	return SV_NAL_OTHER;
}

const uint8_t *sv_annexb_next(const uint8_t *buf, size_t len, size_t *pos, size_t *ret_len)
{
	size_t i = *pos, start, end;

	while (i + 3 <= len && !(buf[i] == 0 && buf[i + 1] == 0 && buf[i + 2] == 1))
		i++;
	if (i + 3 > len) {
		*pos = len;
		return NULL;
	}
	start = i + 3;
	for (end = start; end + 3 <= len; end++)
		if (buf[end] == 0 && buf[end + 1] == 0 && (buf[end + 2] == 1 || buf[end + 2] == 0))
			break;
	if (end + 3 > len)
		end = len;
	*pos = end;
	*ret_len = sv_nal_trim(buf + start, end - start);
	return buf + start;
}

/* ---- writing with emulation prevention ---- */

void sv_put(struct sv_wr *w, uint8_t b, int epb)
{
	if (epb && (b & ~0x03) == 0 && (w->last2 & 0xffff) == 0) {
		if (w->len < w->cap)
			w->p[w->len] = 0x03;
		w->len++;
		w->last2 = (w->last2 << 8) | 0x03;
	}
	if (w->len < w->cap)
		w->p[w->len] = b;
	w->len++;
	w->last2 = (w->last2 << 8) | b;
}

static void put_n(struct sv_wr *w, const void *src, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sv_put(w, ((const uint8_t *)src)[i], 1);
}

static void put_be(struct sv_wr *w, uint64_t v, int bytes)
{
	while (bytes-- > 0)
		sv_put(w, (uint8_t)(v >> (8 * bytes)), 1);
}

static void put_text(struct sv_wr *w, const char *s)
{
	size_t n = strnlen(s, SV_TEXT_MAX - 1);

	sv_put(w, (uint8_t)n, 1);
	put_n(w, s, n);
}

/* Value lengths (before emulation prevention) of each TLV we write. */
static size_t general_len(const struct sv_sei *s)
{
	return 1 + 4 + 2 + 3 + 1 + (s->has_timestamps ? 16 : 0) + 2 * SV_HASH_LEN;
}

static size_t product_len(const struct sv_product *p)
{
	return 1 + 5 + strnlen(p->hardware_id, SV_TEXT_MAX - 1) + strnlen(p->firmware, SV_TEXT_MAX - 1) +
	       strnlen(p->serial, SV_TEXT_MAX - 1) + strnlen(p->manufacturer, SV_TEXT_MAX - 1) +
	       strnlen(p->address, SV_TEXT_MAX - 1);
}

static void put_tl(struct sv_wr *w, int tag, size_t len, int len_bytes)
{
	sv_put(w, (uint8_t)tag, 1);
	put_be(w, len, len_bytes);
}

static size_t tlvs_len(const struct sv_sei *s, int with_signature)
{
	size_t n = 0;

	if (s->has_pubkey)
		n += 3 + 1 + s->pubkey_len;
	if (s->has_product)
		n += 3 + product_len(&s->product);
	if (s->has_crypto)
		n += 2 + 2 + sizeof(sha256_oid);
	n += 2 + general_len(s);
	if (s->n_hashes)
		n += 3 + 1 + s->n_hashes * SV_HASH_LEN;
	if (with_signature)
		n += 3 + 4 + SV_SIG_MAX;
	return n;
}

static void put_document(struct sv_wr *w, const struct sv_sei *s)
{
	if (s->has_pubkey) {
		put_tl(w, TAG_PUBKEY, 1 + s->pubkey_len, 2);
		sv_put(w, PUBKEY_VERSION, 1);
		put_n(w, s->pubkey_pem, s->pubkey_len);
	}
	if (s->has_product) {
		put_tl(w, TAG_PRODUCT, product_len(&s->product), 2);
		sv_put(w, PRODUCT_VERSION, 1);
		put_text(w, s->product.hardware_id);
		put_text(w, s->product.firmware);
		put_text(w, s->product.serial);
		put_text(w, s->product.manufacturer);
		put_text(w, s->product.address);
	}
	if (s->has_crypto) {
		put_tl(w, TAG_CRYPTO, 2 + sizeof(sha256_oid), 1);
		sv_put(w, CRYPTO_VERSION, 1);
		sv_put(w, sizeof(sha256_oid), 1);
		put_n(w, sha256_oid, sizeof(sha256_oid));
	}
	put_tl(w, TAG_GENERAL, general_len(s), 1);
	sv_put(w, GENERAL_VERSION, 1);
	put_be(w, s->gop_counter, 4);
	put_be(w, s->num_hashed, 2);
	put_n(w, s->code_version, 3);
	sv_put(w, (uint8_t)((s->general_flags & ~0x01) | (s->has_timestamps ? 0x01 : 0)), 1);
	if (s->has_timestamps) {
		put_be(w, (uint64_t)s->start_ts, 8);
		put_be(w, (uint64_t)s->end_ts, 8);
	}
	put_n(w, s->linked_hash, SV_HASH_LEN);
	put_n(w, s->gop_hash, SV_HASH_LEN);
	if (s->n_hashes) {
		put_tl(w, TAG_HASH_LIST, 1 + s->n_hashes * SV_HASH_LEN, 2);
		sv_put(w, HASH_LIST_VERSION, 1);
		put_n(w, s->hashes, s->n_hashes * SV_HASH_LEN);
	}
}

static int sign_document(struct sv_sei *s, const uint8_t *doc, size_t len, ecc_key *key,
			 WC_RNG *rng)
{
	uint8_t hash[SV_HASH_LEN];
	word32 sig_len = sizeof(s->signature);

	if (sv_sha256(doc, len, NULL, 0, hash) != SV_OK)
		return SV_E_CRYPTO;
	if (wc_ecc_sign_hash(hash, sizeof(hash), s->signature, &sig_len, rng, key) != 0)
		return SV_E_CRYPTO;
	s->signature_len = sig_len;
	s->has_signature = 1;
	return SV_OK;
}

int sv_sei_build(struct sv_sei *s, ecc_key *sign_key, WC_RNG *rng, uint8_t *out, size_t cap,
		 size_t *ret_len)
{
	struct sv_wr w = { .p = out, .cap = cap, .last2 = SV_LAST2_INIT };
	size_t payload;
	int r;

	if (!s || !out || (sign_key && !rng) || s->pubkey_len > sizeof(s->pubkey_pem) ||
	    s->n_hashes > SV_MAX_GOP_HASHES || (s->n_hashes && !s->hashes))
		return SV_E_INPUT;
	payload = SV_UUID_LEN + 1 + tlvs_len(s, sign_key != NULL);
	sv_put(&w, 0x06, 0);   /* nal_ref_idc 0, nal_unit_type 6 (SEI) */
	sv_put(&w, SEI_PAYLOAD_USER_DATA_UNREGISTERED, 0);
	for (size_t left = payload; ; left -= 0xff) {
		if (left < 0xff) {
			sv_put(&w, (uint8_t)left, 0);
			break;
		}
		sv_put(&w, 0xff, 0);
	}
	for (size_t i = 0; i < SV_UUID_LEN; i++)
		sv_put(&w, sv_uuid[i], 0);
	sv_put(&w, s->reserved, 0);
	put_document(&w, s);
	if (w.len > cap)
		return SV_E_INPUT;
	if (sign_key) {
		if ((r = sign_document(s, out, w.len, sign_key, rng)) != SV_OK)
			return r;
		put_tl(&w, TAG_SIGNATURE, 4 + SV_SIG_MAX, 2);
		sv_put(&w, SIGNATURE_VERSION, 1);
		sv_put(&w, s->encoding_status, 1);
		put_be(&w, s->signature_len, 2);
		for (size_t i = 0; i < SV_SIG_MAX; i++)
			sv_put(&w, i < s->signature_len ? s->signature[i] : 0x01, 1);
	}
	sv_put(&w, STOP_BYTE, 0);
	if (w.len > cap)
		return SV_E_INPUT;
	*ret_len = w.len;
	return SV_OK;
}

/* ---- reading ---- */

struct rd {
	const uint8_t *p;
	size_t len, pos;
	unsigned last2;
	size_t raw;   /* unescaped bytes read */
};

static int get(struct rd *r, uint8_t *b)
{
	if (r->pos >= r->len)
		return -1;
	if (r->p[r->pos] == 0x03 && (r->last2 & 0xffff) == 0) {
		r->last2 = (r->last2 << 8) | 0x03;
		if (++r->pos >= r->len)
			return -1;
	}
	*b = r->p[r->pos++];
	r->last2 = (r->last2 << 8) | *b;
	r->raw++;
	return 0;
}

static int get_n(struct rd *r, uint8_t *out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (get(r, &out[i]) < 0)
			return -1;
	return 0;
}

static uint64_t be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	while (n-- > 0)
		v = (v << 8) | *p++;
	return v;
}

static int take_text(const uint8_t **p, const uint8_t *end, char out[SV_TEXT_MAX])
{
	size_t n;

	if (*p >= end)
		return -1;
	n = *(*p)++;
	if ((size_t)(end - *p) < n || memchr(*p, 0, n))
		return -1;
	memcpy(out, *p, n);
	out[n] = 0;
	*p += n;
	return 0;
}

static int decode_general(struct sv_sei *s, const uint8_t *v, size_t n)
{
	const uint8_t *p = v + 11;

	if (n < 1 || v[0] != GENERAL_VERSION)
		return n < 1 ? SV_E_FORMAT : SV_E_VERSION;
	if (n < 11)
		return SV_E_FORMAT;
	s->gop_counter = (uint32_t)be(v + 1, 4);
	s->num_hashed = (uint16_t)be(v + 5, 2);
	memcpy(s->code_version, v + 7, 3);
	s->general_flags = v[10];
	s->has_timestamps = v[10] & 0x01;
	if (n != 11 + (s->has_timestamps ? 16u : 0u) + 2 * SV_HASH_LEN)
		return SV_E_FORMAT;
	if (s->has_timestamps) {
		s->start_ts = (int64_t)be(p, 8);
		s->end_ts = (int64_t)be(p + 8, 8);
		p += 16;
	}
	memcpy(s->linked_hash, p, SV_HASH_LEN);
	memcpy(s->gop_hash, p + SV_HASH_LEN, SV_HASH_LEN);
	return SV_OK;
}

static int decode_product(struct sv_sei *s, const uint8_t *v, size_t n)
{
	const uint8_t *p = v + 1, *end = v + n;
	struct sv_product *pi = &s->product;

	if (n < 1 || v[0] != PRODUCT_VERSION)
		return n < 1 ? SV_E_FORMAT : SV_E_VERSION;
	if (take_text(&p, end, pi->hardware_id) || take_text(&p, end, pi->firmware) ||
	    take_text(&p, end, pi->serial) || take_text(&p, end, pi->manufacturer) ||
	    take_text(&p, end, pi->address) || p != end)
		return SV_E_FORMAT;
	s->has_product = 1;
	return SV_OK;
}

static int decode_pubkey(struct sv_sei *s, const uint8_t *v, size_t n)
{
	if (n < 1 || v[0] != PUBKEY_VERSION)
		return n < 1 ? SV_E_FORMAT : SV_E_VERSION;
	if (n - 1 == 0 || n - 1 >= sizeof(s->pubkey_pem))
		return SV_E_FORMAT;
	memcpy(s->pubkey_pem, v + 1, n - 1);
	s->pubkey_pem[n - 1] = 0;
	s->pubkey_len = n - 1;
	s->has_pubkey = 1;
	return SV_OK;
}

static int decode_crypto(struct sv_sei *s, const uint8_t *v, size_t n)
{
	if (n < 1 || v[0] != CRYPTO_VERSION)
		return n < 1 ? SV_E_FORMAT : SV_E_VERSION;
	/* SHA-256 is the only hash we verify with. */
	if (n != 2 + sizeof(sha256_oid) || v[1] != sizeof(sha256_oid) ||
	    memcmp(v + 2, sha256_oid, sizeof(sha256_oid)) != 0)
		return SV_E_FORMAT;
	s->has_crypto = 1;
	return SV_OK;
}

static int decode_hash_list(struct sv_sei *s, const uint8_t *v, size_t n)
{
	if (n < 1 || v[0] != HASH_LIST_VERSION)
		return n < 1 ? SV_E_FORMAT : SV_E_VERSION;
	if ((n - 1) % SV_HASH_LEN || (n - 1) / SV_HASH_LEN > SV_MAX_GOP_HASHES || n == 1)
		return SV_E_FORMAT;
	s->n_hashes = (n - 1) / SV_HASH_LEN;
	s->hashes = malloc(n - 1);
	if (!s->hashes)
		return SV_E_NOMEM;
	memcpy(s->hashes, v + 1, n - 1);
	return SV_OK;
}

static int decode_signature(struct sv_sei *s, const uint8_t *v, size_t n)
{
	size_t sig_len;

	if (n < 1 || v[0] != SIGNATURE_VERSION)
		return n < 1 ? SV_E_FORMAT : SV_E_VERSION;
	if (n < 4)
		return SV_E_FORMAT;
	sig_len = (size_t)be(v + 2, 2);
	if (sig_len == 0 || sig_len > n - 4 || sig_len > SV_SIG_MAX)
		return SV_E_FORMAT;
	s->encoding_status = v[1];
	memcpy(s->signature, v + 4, sig_len);
	s->signature_len = sig_len;
	s->has_signature = 1;
	return SV_OK;
}

typedef int (*decoder_t)(struct sv_sei *, const uint8_t *, size_t);

static const struct {
	uint8_t len_bytes;
	decoder_t decode;
} tlv_table[] = {
	[TAG_GENERAL] = { 1, decode_general },
	[TAG_PUBKEY] = { 2, decode_pubkey },
	[TAG_PRODUCT] = { 2, decode_product },
	[TAG_HASH_LIST] = { 2, decode_hash_list },
	[TAG_SIGNATURE] = { 2, decode_signature },
	[TAG_CRYPTO] = { 1, decode_crypto },
};

/* Reads one TLV; the vendor tag of Axis is skipped. */
static int read_tlv(struct rd *rd, struct sv_sei *s, unsigned *seen, uint8_t *buf)
{
	uint8_t tag, lb[2];
	size_t len;
	int len_bytes;

	if (get(rd, &tag) < 0)
		return SV_E_FORMAT;
	if (tag == TAG_VENDOR_AXIS)
		len_bytes = 2;
	else if (tag < sizeof(tlv_table) / sizeof(tlv_table[0]) && tlv_table[tag].decode)
		len_bytes = tlv_table[tag].len_bytes;
	else
		return SV_E_FORMAT;
	if (tag != TAG_VENDOR_AXIS && (*seen & (1u << tag)))
		return SV_E_FORMAT;   /* a tag twice */
	if (get_n(rd, lb, (size_t)len_bytes) < 0)
		return SV_E_FORMAT;
	len = (size_t)be(lb, len_bytes);
	if (get_n(rd, buf, len) < 0)
		return SV_E_FORMAT;
	if (tag == TAG_VENDOR_AXIS)
		return SV_OK;
	*seen |= 1u << tag;
	return tlv_table[tag].decode(s, buf, len);
}

int sv_sei_parse(const uint8_t *nal, size_t len, struct sv_sei *ret)
{
	struct sv_sei s;
	struct rd rd;
	size_t off, payload, sig_at = 0;
	unsigned seen = 0;
	uint8_t *buf;
	int r = SV_OK;

	if (!nal || !ret || len == 0)
		return SV_E_INPUT;
	if (sv_nal_kind(nal, len, NULL) != SV_NAL_SV_SEI)
		return SV_E_NOT_SV;
	if ((nal[0] & 0x60) != 0)
		return SV_E_FORMAT;
	len = sv_nal_trim(nal, len);
	off = sei_payload(nal, len, &payload);
	memset(&s, 0, sizeof(s));
	if (off + SV_UUID_LEN + 1 >= len || payload < SV_UUID_LEN + 1)
		return SV_E_FORMAT;
	s.reserved = nal[off + SV_UUID_LEN];
	if (!(s.reserved & RESERVED_EPB) || (s.reserved & RESERVED_GOLDEN) ||
	    (s.reserved & 0x0f))
		return SV_E_FORMAT;
	buf = malloc(len);
	if (!buf)
		return SV_E_NOMEM;
	rd = (struct rd){ .p = nal, .len = len - 1, .pos = off + SV_UUID_LEN + 1,
			  .last2 = SV_LAST2_INIT };
	while (r == SV_OK && rd.raw < payload - SV_UUID_LEN - 1) {
		if (s.has_signature) {
			r = SV_E_FORMAT;   /* the signature TLV is the last */
			break;
		}
		size_t at = rd.pos;
		r = read_tlv(&rd, &s, &seen, buf);
		if (r == SV_OK && s.has_signature)
			sig_at = at;
	}
	free(buf);
	/* Exactly the announced payload, then the stop byte and nothing else. */
	if (r == SV_OK && (rd.raw != payload - SV_UUID_LEN - 1 || rd.pos != len - 1 ||
			   nal[len - 1] != STOP_BYTE || !(seen & (1u << TAG_GENERAL))))
		r = SV_E_FORMAT;
	if (r == SV_OK && s.num_hashed != s.n_hashes)
		r = SV_E_FORMAT;
	if (r == SV_OK && s.has_signature)
		r = sv_sha256(nal, sig_at, NULL, 0, s.document_hash);
	if (r != SV_OK) {
		sv_sei_clear(&s);
		return r;
	}
	*ret = s;
	return SV_OK;
}

void sv_sei_clear(struct sv_sei *s)
{
	if (!s)
		return;
	free(s->hashes);
	s->hashes = NULL;
	s->n_hashes = 0;
}
