/* codec.h - JSON helpers shared by the dock-protocol decoders (internal to
 * dock-protocol/). Every helper bounds what it accepts and says why not. */
#ifndef BWC_DOCK_CODEC_H
#define BWC_DOCK_CODEC_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

void dock_why(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* base64 of bin as a new JSON string, or NULL. */
json_t *dock_b64_json(const uint8_t *bin, size_t len);
int dock_b64_value(json_t *v, const char *name, uint8_t *out, size_t cap, size_t *ret_len,
		   char *why, size_t whylen);
int dock_b64_member(json_t *obj, const char *key, uint8_t *out, size_t cap, size_t *ret_len,
		    char *why, size_t whylen);
/* Short printable text; optional members may be absent (out = ""). */
int dock_text_member(json_t *obj, const char *key, int required, char *out, size_t cap,
		     char *why, size_t whylen);
/* Parses a JSON object of at most max bytes, refusing members outside allowed. */
json_t *dock_parse_object(const char *json, size_t len, const char *const *allowed,
			  char *why, size_t whylen);
json_t *dock_parse_object_max(const char *json, size_t len, size_t max,
			      const char *const *allowed, char *why, size_t whylen);
/* The opening of every decoder: ret (size bytes) zeroed, then json parsed as
 * an object of at most max bytes with members from allowed only. 0 with *root
 * set (the caller frees it), -EINVAL without ret, -EBADMSG with why said. */
int dock_decode_begin(const char *json, size_t len, size_t max, const char *const *allowed,
		      void *ret, size_t size, json_t **root, char *why, size_t whylen);
/* Refuses members of o outside allowed; where names o in the message. */
int dock_only_members(json_t *o, const char *const *allowed, const char *where, char *why,
		      size_t whylen);
/* Serialises and frees root. */
int dock_dump(json_t *root, char **ret);
/* 64 lower-case hex digits -> 32 bytes. */
int dock_hex32(const char *s, uint8_t out[32]);
void dock_hex32_text(const uint8_t in[32], char out[65]);

#endif
