/* sv.h - signed video: the camera signs its H.264 stream inside the stream,
 * in the public format of Axis's signed-video framework (FORMAT.md), and
 * anyone verifies it. Pure library: no logging, no files. */
#ifndef BWC_SV_H
#define BWC_SV_H

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stddef.h>
#include <stdint.h>

#define SV_HASH_LEN 32
#define SV_UUID_LEN 16
#define SV_SIG_MAX 72          /* DER ECDSA P-256 signature, longest form */
#define SV_TEXT_MAX 256        /* product info strings: length byte */
#define SV_PUBKEY_PEM_MAX 512  /* PEM SubjectPublicKeyInfo of a P-256 key is 178 bytes */
#define SV_MAX_GOP_HASHES 1024 /* hashes per SEI: longer GOPs are refused by the signer */
#define SV_SEI_MAX (8 * 1024 + SV_MAX_GOP_HASHES * SV_HASH_LEN * 4 / 3)

extern const uint8_t sv_uuid[SV_UUID_LEN];

enum sv_err {
	SV_OK = 0,
	SV_E_NOMEM = -1,
	SV_E_INPUT = -10,     /* NULL, empty or oversized argument */
	SV_E_NOT_SV = -11,    /* a NAL unit, but not a signed-video SEI */
	SV_E_FORMAT = -12,    /* a signed-video SEI that breaks the format */
	SV_E_VERSION = -13,   /* a TLV version we do not know */
	SV_E_GOP_LONG = -14,  /* more than SV_MAX_GOP_HASHES NAL units in one GOP */
	SV_E_CRYPTO = -30,    /* wolfCrypt failed (hash, key, signing) */
};
const char *sv_strerror(int err);

/* ---- NAL units (H.264) ---- */
enum sv_nal_kind {
	SV_NAL_OTHER = 0,   /* SPS, PPS, AUD, other SEIs...: not hashed */
	SV_NAL_I,           /* IDR slice: starts a GOP */
	SV_NAL_P,           /* non-IDR slice */
	SV_NAL_SV_SEI,      /* a signed-video SEI */
	SV_NAL_INVALID,     /* forbidden bit, or empty */
};
/* Kind of one NAL unit (no start code); *ret_primary: first slice of a
 * picture (first_mb_in_slice == 0). */
enum sv_nal_kind sv_nal_kind(const uint8_t *nal, size_t len, int *ret_primary);
/* Length without trailing zero bytes (what is hashed). */
size_t sv_nal_trim(const uint8_t *nal, size_t len);

/* Splits an Annex-B buffer: returns the next NAL unit after *pos (without
 * start code and trailing zeros) or NULL at the end; *pos advances. */
const uint8_t *sv_annexb_next(const uint8_t *buf, size_t len, size_t *pos, size_t *ret_len);

/* ---- SEI payload ---- */
struct sv_product {
	char hardware_id[SV_TEXT_MAX], firmware[SV_TEXT_MAX], serial[SV_TEXT_MAX];
	char manufacturer[SV_TEXT_MAX], address[SV_TEXT_MAX];
};

/* Everything a signed-video SEI carries, decoded (parse) or to encode (build). */
struct sv_sei {
	uint8_t reserved;                  /* flags byte after the UUID */
	uint32_t gop_counter;
	uint16_t num_hashed;               /* NAL units hashed in the GOP */
	uint8_t code_version[3];
	uint8_t general_flags;
	int has_timestamps;
	int64_t start_ts, end_ts;
	uint8_t linked_hash[SV_HASH_LEN];  /* first hash of the previous GOP (zeros: none) */
	uint8_t gop_hash[SV_HASH_LEN];     /* SHA-256 over the hash list */
	int has_pubkey;
	char pubkey_pem[SV_PUBKEY_PEM_MAX];
	size_t pubkey_len;
	int has_product;
	struct sv_product product;
	int has_crypto;                    /* hash algorithm OID: SHA-256 is the only one */
	size_t n_hashes;
	uint8_t (*hashes)[SV_HASH_LEN];    /* parse: owned, free with sv_sei_clear */
	int has_signature;
	uint8_t encoding_status;
	uint8_t signature[SV_SIG_MAX];
	size_t signature_len;
	/* parse only: the NAL bytes the signature covers (NAL header up to the
	 * signature TLV, as in the stream) */
	uint8_t document_hash[SV_HASH_LEN];
};
void sv_sei_clear(struct sv_sei *s);

/* Parses a NAL unit (no start code). SV_E_NOT_SV for any other NAL unit.
 * On success *ret owns its hash list. */
int sv_sei_parse(const uint8_t *nal, size_t len, struct sv_sei *ret);

/* Writes the SEI NAL unit (no start code) of s into out, signature TLV
 * included only when sign_key is given (then s->signature is filled in).
 * Emulation prevention is applied to the TLVs. */
int sv_sei_build(struct sv_sei *s, ecc_key *sign_key, WC_RNG *rng, uint8_t *out, size_t cap,
		 size_t *ret_len);

/* ---- signer: one per clip ---- */
typedef struct sv_signer sv_signer_t;
/* key: P-256 signing key (may be a keystore/TPM key), borrowed for the signer's
 * life; spki: its SubjectPublicKeyInfo DER, copied. */
int sv_signer_create(ecc_key *key, const uint8_t *spki, size_t spki_len,
		     const struct sv_product *product, sv_signer_t **ret);
void sv_signer_free(sv_signer_t *s);
/* Feeds the next NAL unit (no start code). When it starts a GOP and a GOP is
 * open, *ret_sei and *ret_len are the signed SEI of the closed GOP, to be put
 * before this NAL unit (valid until the next call); else *ret_len = 0. */
int sv_signer_add(sv_signer_t *s, const uint8_t *nal, size_t len, const uint8_t **ret_sei,
		  size_t *ret_len);
/* End of stream: the SEI of the last GOP (after the last picture), or 0 bytes. */
int sv_signer_finish(sv_signer_t *s, const uint8_t **ret_sei, size_t *ret_len);
/* Signs every NAL unit of an Annex-B access unit: returns a new Annex-B buffer
 * (malloc'd) with the SEIs inserted; final != 0 also appends the last GOP's SEI. */
int sv_signer_annexb(sv_signer_t *s, const uint8_t *in, size_t in_len, int final,
		     uint8_t **ret, size_t *ret_len);

/* ---- verifier ---- */
enum sv_verdict {
	SV_VALID = 0,        /* every picture covered by a verified signature, chain unbroken */
	SV_INVALID,          /* a signature, hash or GOP link failed */
	SV_UNSIGNED,         /* no signed-video SEI at all */
	SV_INCOMPLETE,       /* no failure, but pictures not covered (missing final SEI, cut) */
};
const char *sv_verdict_name(enum sv_verdict v);

#define SV_MAX_PROBLEMS 32
struct sv_problem {
	int invalid;                  /* 1: invalid, 0: incomplete */
	long gop;                     /* GOP counter of the SEI concerned, -1 none */
	long first_frame, last_frame; /* picture numbers (0-based, stream order), -1 none */
	char text[160];
};

struct sv_report {
	enum sv_verdict verdict;
	long frames;                  /* pictures in the stream */
	long frames_covered;          /* pictures whose hash a verified signature covers */
	long gops, gops_valid;        /* signed-video SEIs seen / fully verified */
	int has_key;
	uint8_t spki[128];            /* the signing key (first SEI), SubjectPublicKeyInfo DER */
	size_t spki_len;
	int key_changed;
	struct sv_product product;
	size_t n_problems;
	int problems_dropped;         /* more than SV_MAX_PROBLEMS */
	struct sv_problem problems[SV_MAX_PROBLEMS];
};

typedef struct sv_verifier sv_verifier_t;
int sv_verifier_create(sv_verifier_t **ret);
void sv_verifier_free(sv_verifier_t *v);
/* Feeds every NAL unit of the stream in order (no start code). */
int sv_verifier_add(sv_verifier_t *v, const uint8_t *nal, size_t len);
/* The stream could not be read to its end (truncated or damaged container). */
void sv_verifier_truncated(sv_verifier_t *v, const char *why);
/* Ends the stream and fills *ret. */
int sv_verifier_finish(sv_verifier_t *v, struct sv_report *ret);

#endif
