/* dock.h - the dock protocol (version 1) shared by camera and controller:
 * message bodies (JSON) and HTTP/1.1 framing. Pure code, no I/O, no keys:
 * everything here parses untrusted bytes and is fuzzable. Spec: PROTOCOL.md. */
#ifndef BWC_DOCK_H
#define BWC_DOCK_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <http_parser.h>

#define DOCK_VERSION 1
#define DOCK_PORT 4433
#define DOCK_MAX_HEADER_BYTES 8192  /* request/status line + all headers */
#define DOCK_MAX_HEADERS 32
#define DOCK_MAX_BODY 65536         /* JSON bodies */
#define DOCK_MAX_PATH 256
#define DOCK_MAX_DER 4096
#define DOCK_MAX_CA 2               /* current system CA + the next one (rotation) */
#define DOCK_MAX_PINS 4
#define DOCK_TEXT_MAX 64
#define DOCK_MAX_CHUNK (8u << 20)   /* bytes of clip data in one PUT */
#define DOCK_PIPELINE 2             /* unanswered chunk PUTs a camera may have (§9.1) */
#define DOCK_MAX_RECORDING_JSON (1u << 20)
#define DOCK_ID_LEN 36              /* recording id: lower-case UUID text */
#define DOCK_CLIP_ID_LEN 4          /* "0001".."9999" */
#define DOCK_MAX_SIG 80             /* DER ECDSA P-256 signature */
#define DOCK_KEY_ID_MAX 512         /* destination PublicKeyId: 128 UTF-8 characters */

/* Wire error codes (the "error" member of an error body). */
enum dock_code {
	DOCK_C_OK = 0,
	DOCK_C_BAD_REQUEST,        /* 400 malformed framing or body */
	DOCK_C_NOT_FOUND,          /* 404 unknown path */
	DOCK_C_METHOD,             /* 405 */
	DOCK_C_TOO_LARGE,          /* 413 header or body over the limits */
	DOCK_C_IDENTITY,           /* 403 certificate kind not allowed for this request */
	DOCK_C_PENDING,            /* 403 waiting for admission (bwcctl camera enroll) */
	DOCK_C_HELD,               /* 403 beyond grace: re-accept with the master key */
	DOCK_C_LOST,               /* 403 reported lost */
	DOCK_C_CSR,                /* 422 CSR invalid: signature, serial mismatch */
	DOCK_C_KEY,                /* 422 CSR key is weak, of the wrong type, or reused */
	DOCK_C_INTERNAL,           /* 500 */
	DOCK_C_UNAVAILABLE,        /* 503 try again later */
	DOCK_C_OFFSET,             /* 409 chunk offset is not the durable size */
	DOCK_C_COMMITTED,          /* 409 clip already committed (answer has the receipt) */
	DOCK_C_UNKNOWN_RECORDING,  /* 404 send the recording's metadata first */
	DOCK_C_HASH_MISMATCH,      /* 422 size/SHA-256 of the staged bytes differ: resend from 0 */
	DOCK_C_NO_SPACE,           /* 507 staging reserve reached: keep the data, retry later */
	DOCK_C__COUNT
};

const char *dock_code_name(enum dock_code c);     /* "held" */
int dock_code_status(enum dock_code c);           /* 403 */
enum dock_code dock_code_parse(const char *name); /* DOCK_C_BAD_REQUEST if unknown */

/* A camera's standing at the controller (PROTOCOL.md, "Standing"). */
enum dock_standing {
	DOCK_S_UNKNOWN = 0, DOCK_S_PENDING, DOCK_S_ENROLLED, DOCK_S_VALID,
	DOCK_S_GRACE, DOCK_S_HELD, DOCK_S_LOST,
};
const char *dock_standing_name(enum dock_standing s);
enum dock_standing dock_standing_parse(const char *name);

/* POST /v1/enrol and POST /v1/renew request body. */
struct dock_csr_req {
	uint8_t csr[DOCK_MAX_DER];
	size_t csr_len;
	char model[DOCK_TEXT_MAX];
	char firmware[DOCK_TEXT_MAX];
};

/* 200 answer to enrol/renew. */
struct dock_cert_resp {
	enum dock_standing standing;   /* standing at this dock, before renewal */
	char system_id[DOCK_TEXT_MAX];
	uint8_t cert[DOCK_MAX_DER];
	size_t cert_len;
	uint8_t ca[DOCK_MAX_CA][DOCK_MAX_DER];
	size_t ca_len[DOCK_MAX_CA];
	size_t n_ca;
	uint8_t pins[DOCK_MAX_PINS][32];   /* SHA-256 of each acceptable CA SPKI */
	size_t n_pins;
	/* Optional: the content destination's public key, so that recordings
	 * made from now on are encrypted in the camera (PROTOCOL.md §9.7). */
	uint8_t dest_key[DOCK_MAX_DER];    /* RSA SubjectPublicKeyInfo or PKCS#1 DER */
	size_t dest_key_len;               /* 0: none */
	char dest_key_id[DOCK_KEY_ID_MAX + 1];
};

/* Error answer. */
struct dock_error_resp {
	enum dock_code code;
	enum dock_standing standing;
	char message[256];
};

/* Encoders return a malloc'd NUL-terminated JSON string in *ret (caller frees). */
int dock_encode_csr_req(const struct dock_csr_req *m, char **ret);
int dock_encode_cert_resp(const struct dock_cert_resp *m, char **ret);
int dock_encode_error(const struct dock_error_resp *m, char **ret);

/* Decoders: 0 or -EBADMSG with a reason in why (for the log / error body). */
int dock_decode_csr_req(const char *json, size_t len, struct dock_csr_req *ret,
			char *why, size_t whylen);
int dock_decode_cert_resp(const char *json, size_t len, struct dock_cert_resp *ret,
			  char *why, size_t whylen);
int dock_decode_error(const char *json, size_t len, struct dock_error_resp *ret,
		      char *why, size_t whylen);

/* ---- offload (PROTOCOL.md §9) ---- */

enum dock_route_kind {
	DOCK_R_NONE = 0, DOCK_R_ENROL, DOCK_R_RENEW, DOCK_R_PLAN, DOCK_R_RECORDING,
	DOCK_R_CLIP, DOCK_R_CLIP_COMMIT,
};

struct dock_route {
	enum dock_route_kind kind;
	char recording_id[DOCK_ID_LEN + 1];
	char clip_id[DOCK_CLIP_ID_LEN + 1];
	int has_offset;
	uint64_t offset;           /* ?offset=N of a clip PUT */
};

/* Parses a request path. Ids are checked character by character, so no path
 * built from them can leave its directory. -EINVAL when unknown/malformed. */
int dock_parse_route(const char *path, struct dock_route *ret);
int dock_check_recording_id(const char *id);   /* 0 or -EINVAL */
int dock_check_clip_id(const char *id);        /* 0 or -EINVAL */

/* POST /v1/offload/plan: what the camera is about to send. */
struct dock_plan { uint64_t recordings, clips, bytes; };
int dock_encode_plan(const struct dock_plan *m, char **ret);
int dock_decode_plan(const char *json, size_t len, struct dock_plan *ret, char *why, size_t whylen);

/* A clip of the recording metadata document (PUT /v1/recordings/ID). */
struct dock_clip_meta {
	char clip_id[DOCK_CLIP_ID_LEN + 1];
	char container[8];             /* "mkv" | "mp4" */
	uint64_t size;
	uint8_t sha256[32];
	int complete;
	int encrypted;                 /* encrypted in the camera for the destination */
};

struct dock_recording {
	char recording_id[DOCK_ID_LEN + 1];
	char serial[DOCK_TEXT_MAX];
	size_t n_clips;
	struct dock_clip_meta *clips;  /* malloc'd, dock_recording_free */
	uint64_t total_bytes;
	int closed;                    /* trigger_off present: no more clips */
	char *canonical;               /* the document re-serialised compactly (malloc'd) */
};
/* Validates the whole document (PROTOCOL.md §9.2) and summarises it. */
int dock_decode_recording(const char *json, size_t len, struct dock_recording *ret, char *why,
			  size_t whylen);
void dock_recording_free(struct dock_recording *r);
const struct dock_clip_meta *dock_recording_clip(const struct dock_recording *r,
						 const char *clip_id);

/* POST .../commit */
struct dock_commit { uint64_t size; uint8_t sha256[32]; int complete; };
int dock_encode_commit(const struct dock_commit *m, char **ret);
int dock_decode_commit(const char *json, size_t len, struct dock_commit *ret, char *why,
		       size_t whylen);

/* The controller's signed receipt for a committed clip. */
struct dock_receipt {
	char system_id[DOCK_TEXT_MAX];
	char serial[DOCK_TEXT_MAX];
	char recording_id[DOCK_ID_LEN + 1];
	char clip_id[DOCK_CLIP_ID_LEN + 1];
	uint64_t size;
	uint8_t sha256[32];
	int complete;
	time_t time;
	uint8_t signer[DOCK_MAX_DER];  /* controller certificate (issued by the system CA) */
	size_t signer_len;
	uint8_t sig[DOCK_MAX_SIG];     /* ECDSA over SHA-256 of dock_receipt_tbs() */
	size_t sig_len;
};
/* 32 bytes as 64 lower-case hex digits (+ NUL). */
void dock_hex32_text(const uint8_t in[32], char out[65]);
/* The exact bytes that are signed (PROTOCOL.md §9.6). Returns length or -ENOSPC. */
int dock_receipt_tbs(const struct dock_receipt *r, char *out, size_t cap);
/* Receipt as a JSON object; *ret malloc'd. */
int dock_encode_receipt(const struct dock_receipt *r, char **ret);
int dock_decode_receipt(const char *json, size_t len, struct dock_receipt *ret, char *why,
			size_t whylen);

/* GET .../clips/CID answer, PUT chunk answer, commit answer. */
enum dock_clip_state { DOCK_CLIP_NONE = 0, DOCK_CLIP_PARTIAL, DOCK_CLIP_COMMITTED };
struct dock_clip_status {
	enum dock_clip_state state;
	uint64_t offset;               /* durable bytes at the controller */
	int has_receipt;
	struct dock_receipt receipt;
};
int dock_encode_clip_status(const struct dock_clip_status *m, char **ret);
int dock_decode_clip_status(const char *json, size_t len, struct dock_clip_status *ret,
			    char *why, size_t whylen);

/* HTTP/1.1 framing. Only Content-Length bodies; chunked transfer coding,
 * oversized heads and bodies are refused. */
enum dock_http_kind { DOCK_HTTP_REQUEST, DOCK_HTTP_RESPONSE };
enum dock_http_state { DOCK_HTTP_MORE = 0, DOCK_HTTP_DONE = 1 };

struct dock_http {
	http_parser parser;
	http_parser_settings settings;
	enum dock_http_kind kind;
	size_t max_body;
	size_t head_bytes;
	int n_headers;
	int in_header_field;       /* parser callback bookkeeping */
	char header_name[64];
	int header_is_cl, header_is_te, header_is_ct, header_is_version;
	/* Results */
	int complete;
	int method;                /* enum http_method */
	int status;
	char path[DOCK_MAX_PATH];
	size_t path_len;
	char content_type[64];
	char version_text[16];
	long version;              /* Dock-Protocol header, 0 if absent */
	uint64_t content_length;
	int has_content_length;
	char *body;                /* malloc'd, NUL-terminated */
	size_t body_len;
	enum dock_code error;      /* set when feed fails */
	char why[128];
	/* Optional streaming of bodies: called once the head is complete. Return
	 * 0 to buffer the body (up to max_body), 1 to stream it to on_body (up to
	 * stream_max), or -1 after setting error/why to refuse the message. */
	int (*on_head)(struct dock_http *h, void *ud);
	int (*on_body)(void *ud, const char *at, size_t len);
	void *ud;
	size_t stream_max;
	int streaming;
};

void dock_http_init(struct dock_http *h, enum dock_http_kind kind, size_t max_body);
/* Feeds bytes; *consumed tells how many were used (bytes after a complete
 * message belong to the next one). Returns DOCK_HTTP_MORE, DOCK_HTTP_DONE or
 * -EBADMSG with h->error and h->why set. */
int dock_http_feed(struct dock_http *h, const char *data, size_t len, size_t *consumed);
/* Frees the body; the struct can be re-initialised. */
void dock_http_reset(struct dock_http *h);

/* Message heads. Return the head length or -ENOSPC. */
int dock_http_request_head(char *out, size_t cap, const char *method, const char *path,
			   size_t body_len);
int dock_http_request_head_ct(char *out, size_t cap, const char *method, const char *path,
			      const char *content_type, size_t body_len);
int dock_http_response_head(char *out, size_t cap, int status, size_t body_len);

#endif
