/* swift.h - the content destination client: the subset of the OpenStack Swift
 * API that the Body worn integration API uses (tempauth-style auth, container
 * and object PUT with metadata, container POST, object GET), on libcurl.
 * Blocking calls: used by the forwarder's worker threads, never by the loop. */
#ifndef BWC_SWIFT_H
#define BWC_SWIFT_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SWIFT_MAX_URIS 10
#define SWIFT_MAX_META 32

struct swift_config {
	const char *auth_uris[SWIFT_MAX_URIS];   /* tried in turn */
	size_t n_auth_uris;
	const char *user, *key;                  /* secret: never logged */
	const char *ca_pem;                      /* trust anchors (PEM bundle); NULL = plain HTTP */
	long timeout_s;                          /* per request, without the body */
};

typedef struct swift swift_t;

/* Outcome classes of a request (PROTOCOL of the destination, see forward.c). */
enum swift_status {
	SWIFT_OK = 0,
	SWIFT_E_NETWORK = -1,     /* connection, TLS or timeout: retry with back-off */
	SWIFT_E_AUTH = -2,        /* 401 even after re-authentication */
	SWIFT_E_REJECTED = -3,    /* 400: the destination will never take this */
	SWIFT_E_FULL = -4,        /* 402/507: keep, alarm, retry slowly */
	SWIFT_E_BUSY = -5,        /* 503 (and 500): retry with back-off */
	SWIFT_E_INTEGRITY = -6,   /* ETag answered does not match what we sent */
	SWIFT_E_NOT_FOUND = -7,   /* 404 */
	SWIFT_E_OTHER = -8,       /* any other status */
	SWIFT_E_LOCAL = -9,       /* our side: file, memory */
};

const char *swift_strerror(int r);

struct swift_meta {
	const char *key;          /* e.g. "StartTime": sent as X-Object-Meta-Starttime */
	const char *value;        /* UTF-8: sent URL-encoded */
};

int swift_open(const struct swift_config *cfg, swift_t **ret);
void swift_close(swift_t *s);

/* Last HTTP status and a short text for logs (no secrets). */
long swift_last_http(swift_t *s);
const char *swift_last_error(swift_t *s);

/* Authenticates if there is no token yet (the others re-authenticate on 401). */
int swift_auth(swift_t *s);
/* PUT container with X-Container-Meta-* metadata. */
int swift_put_container(swift_t *s, const char *container, const struct swift_meta *meta,
			size_t n_meta);
/* POST container metadata (adds/updates the given keys). */
int swift_post_container(swift_t *s, const char *container, const struct swift_meta *meta,
			 size_t n_meta);
/* PUT object from a file (len bytes) or from memory (path NULL: data/len),
 * sending the MD5 ETag and checking the one answered. */
int swift_put_object(swift_t *s, const char *container, const char *object, const char *path,
		     const void *data, uint64_t len, const char md5_hex[33],
		     const char *content_type, const struct swift_meta *meta, size_t n_meta);
/* GET object into a malloc'd buffer (at most max bytes) with its ETag. */
int swift_get_object(swift_t *s, const char *container, const char *object, size_t max,
		     char **ret_body, size_t *ret_len, char ret_etag[64]);
/* HEAD object: 0 exists (fills metadata value of one key if asked). */
int swift_head_object(swift_t *s, const char *container, const char *object,
		      const char *meta_key, char *value, size_t cap);

/* Metadata header name for a key: "X-<Kind>-Meta-" + first letter upper, rest lower,
 * letters after '-' upper (the integration API's casing). */
int swift_meta_header(const char *kind, const char *key, char *out, size_t cap);

/* One header line of an answer (untrusted: the destination's): when its name
 * is name (case-insensitive), its value - blanks and one pair of quotes
 * trimmed, cut to cap - 1 bytes - goes to out (NUL-terminated) and 1 is
 * returned; -1 (out "") when the value holds a control character; 0 and out
 * untouched for another header. */
int swift_header_value(const char *line, size_t len, const char *name, char *out, size_t cap);

#endif
