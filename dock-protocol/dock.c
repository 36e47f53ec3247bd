/* dock.c - JSON bodies of the dock protocol (v1). Every decoder checks types,
 * lengths and ranges of every member and ignores nothing it does not know how
 * to bound: unknown members are refused so that a peer's mistake is loud. */
#include "dock-protocol/dock.h"
#include "dock-protocol/codec.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	int status;
} dock_codes[DOCK_C__COUNT] = {
	[DOCK_C_OK] = { "ok", 200 },
	[DOCK_C_BAD_REQUEST] = { "bad-request", 400 },
	[DOCK_C_NOT_FOUND] = { "not-found", 404 },
	[DOCK_C_METHOD] = { "method-not-allowed", 405 },
	[DOCK_C_TOO_LARGE] = { "too-large", 413 },
	[DOCK_C_IDENTITY] = { "identity", 403 },
	[DOCK_C_PENDING] = { "pending", 403 },
	[DOCK_C_HELD] = { "held", 403 },
	[DOCK_C_LOST] = { "lost", 403 },
	[DOCK_C_CSR] = { "bad-csr", 422 },
	[DOCK_C_KEY] = { "bad-key", 422 },
	[DOCK_C_INTERNAL] = { "internal", 500 },
	[DOCK_C_UNAVAILABLE] = { "unavailable", 503 },
	[DOCK_C_OFFSET] = { "offset", 409 },
	[DOCK_C_COMMITTED] = { "committed", 409 },
	[DOCK_C_UNKNOWN_RECORDING] = { "unknown-recording", 404 },
	[DOCK_C_HASH_MISMATCH] = { "hash-mismatch", 422 },
	[DOCK_C_NO_SPACE] = { "no-space", 507 },
};

static const char *const dock_standings[] = {
	[DOCK_S_UNKNOWN] = "unknown", [DOCK_S_PENDING] = "pending",
	[DOCK_S_ENROLLED] = "enrolled", [DOCK_S_VALID] = "valid",
	[DOCK_S_GRACE] = "grace", [DOCK_S_HELD] = "held", [DOCK_S_LOST] = "lost",
};

const char *dock_code_name(enum dock_code c)
{
	return (unsigned)c < DOCK_C__COUNT ? dock_codes[c].name : "internal";
}

int dock_code_status(enum dock_code c)
{
	return (unsigned)c < DOCK_C__COUNT ? dock_codes[c].status : 500;
}

enum dock_code dock_code_parse(const char *name)
{
	for (int i = 0; i < DOCK_C__COUNT; i++)
		if (name && strcmp(name, dock_codes[i].name) == 0)
			return (enum dock_code)i;
	return DOCK_C_BAD_REQUEST;
}

const char *dock_standing_name(enum dock_standing s)
{
	return (unsigned)s < sizeof(dock_standings) / sizeof(dock_standings[0])
		       ? dock_standings[s] : "unknown";
}

enum dock_standing dock_standing_parse(const char *name)
{
	for (size_t i = 0; i < sizeof(dock_standings) / sizeof(dock_standings[0]); i++)
		if (name && strcmp(name, dock_standings[i]) == 0)
			return (enum dock_standing)i;
	return DOCK_S_UNKNOWN;
}

void dock_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* base64 of bin as a new JSON string, or NULL. */
json_t *dock_b64_json(const uint8_t *bin, size_t len)
{
	word32 outlen = (word32)((len + 2) / 3 * 4 + 1);
	char *out = malloc(outlen);
	json_t *j = NULL;

	if (!out)
		return NULL;
	if (Base64_Encode_NoNl(bin, (word32)len, (byte *)out, &outlen) == 0)
		j = json_stringn(out, outlen);
	free(out);
	return j;
}

/* Decodes a base64 JSON string v (named name in messages) into out (cap
 * bytes); strict alphabet and padding, no whitespace. */
int dock_b64_value(json_t *v, const char *name, uint8_t *out, size_t cap, size_t *ret_len,
		     char *why, size_t whylen)
{
	const char *s;
	size_t slen;
	word32 outlen = (word32)cap;

	if (!json_is_string(v)) {
		dock_why(why, whylen, "member \"%s\" missing or not a string", name);
		return -EBADMSG;
	}
	s = json_string_value(v);
	slen = json_string_length(v);
	if (slen == 0 || slen % 4 != 0 || slen / 4 * 3 > cap + 2) {
		dock_why(why, whylen, "member \"%s\" is not base64 of at most %zu bytes", name, cap);
		return -EBADMSG;
	}
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];
		int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			 (c >= '0' && c <= '9') || c == '+' || c == '/' ||
			 (c == '=' && i >= slen - 2 && (i == slen - 1 || s[slen - 1] == '='));
		if (!ok) {
			dock_why(why, whylen, "member \"%s\" has a non-base64 character", name);
			return -EBADMSG;
		}
	}
	if (Base64_Decode((const byte *)s, (word32)slen, out, &outlen) != 0 || outlen == 0 ||
	    outlen > cap) {
		dock_why(why, whylen, "member \"%s\" is not valid base64 of at most %zu bytes", name,
			cap);
		return -EBADMSG;
	}
	*ret_len = outlen;
	return 0;
}

int dock_b64_member(json_t *obj, const char *key, uint8_t *out, size_t cap, size_t *ret_len,
		      char *why, size_t whylen)
{
	return dock_b64_value(json_object_get(obj, key), key, out, cap, ret_len, why, whylen);
}

/* Copies a short printable text member; optional members may be absent. */
int dock_text_member(json_t *obj, const char *key, int required, char *out, size_t cap,
		       char *why, size_t whylen)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	out[0] = 0;
	if (!v && !required)
		return 0;
	if (!json_is_string(v)) {
		dock_why(why, whylen, "member \"%s\" missing or not a string", key);
		return -EBADMSG;
	}
	s = json_string_value(v);
	len = json_string_length(v);
	if (len >= cap) {
		dock_why(why, whylen, "member \"%s\" longer than %zu bytes", key, cap - 1);
		return -EBADMSG;
	}
	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) {
			dock_why(why, whylen, "member \"%s\" has a control character", key);
			return -EBADMSG;
		}
	}
	memcpy(out, s, len + 1);
	return 0;
}

/* Parses a JSON object and refuses members outside allowed. */
json_t *dock_parse_object(const char *json, size_t len, const char *const *allowed,
			  char *why, size_t whylen)
{
	return dock_parse_object_max(json, len, DOCK_MAX_BODY, allowed, why, whylen);
}

json_t *dock_parse_object_max(const char *json, size_t len, size_t max,
			      const char *const *allowed, char *why, size_t whylen)
{
	json_error_t err;
	json_t *root;

	if (!json || len == 0 || len > max) {
		dock_why(why, whylen, "body empty or over %zu bytes", max);
		return NULL;
	}
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		dock_why(why, whylen, "body is not JSON: %s (byte %d)", err.text, err.position);
		return NULL;
	}
	if (!json_is_object(root)) {
		dock_why(why, whylen, "body is not a JSON object");
		json_decref(root);
		return NULL;
	}
	if (dock_only_members(root, allowed, NULL, why, whylen) < 0) {
		json_decref(root);
		return NULL;
	}
	return root;
}

int dock_decode_begin(const char *json, size_t len, size_t max, const char *const *allowed,
		      void *ret, size_t size, json_t **root, char *why, size_t whylen)
{
	if (!ret || !root)
		return -EINVAL;
	memset(ret, 0, size);
	*root = dock_parse_object_max(json, len, max, allowed, why, whylen);
	return *root ? 0 : -EBADMSG;
}

int dock_only_members(json_t *o, const char *const *allowed, const char *where, char *why,
		      size_t whylen)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		int known = 0;
		for (const char *const *a = allowed; *a; a++)
			known |= strcmp(*a, key) == 0;
		if (!known) {
			dock_why(why, whylen, "unknown member \"%.40s\"%s%s", key, where ? " in " : "",
				 where ? where : "");
			return -EBADMSG;
		}
	}
	return 0;
}

int dock_dump(json_t *root, char **ret)
{
	char *s;

	if (!root)
		return -ENOMEM;
	s = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!s)
		return -ENOMEM;
	*ret = s;
	return 0;
}

int dock_encode_csr_req(const struct dock_csr_req *m, char **ret)
{
	json_t *root;

	if (!m || !ret || m->csr_len == 0 || m->csr_len > DOCK_MAX_DER)
		return -EINVAL;
	root = json_object();
	if (!root)
		return -ENOMEM;
	if (json_object_set_new(root, "csr", dock_b64_json(m->csr, m->csr_len)) < 0 ||
	    json_object_set_new(root, "model", json_string(m->model)) < 0 ||
	    json_object_set_new(root, "firmware", json_string(m->firmware)) < 0) {
		json_decref(root);
		return -ENOMEM;
	}
	return dock_dump(root, ret);
}

int dock_decode_csr_req(const char *json, size_t len, struct dock_csr_req *ret, char *why,
			size_t whylen)
{
	static const char *const allowed[] = { "csr", "model", "firmware", NULL };
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, allowed, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = dock_b64_member(root, "csr", ret->csr, sizeof(ret->csr), &ret->csr_len, why, whylen);
	if (r == 0)
		r = dock_text_member(root, "model", 0, ret->model, sizeof(ret->model), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "firmware", 0, ret->firmware, sizeof(ret->firmware), why,
				whylen);
	json_decref(root);
	return r;
}

static json_t *pins_json(const struct dock_cert_resp *m)
{
	json_t *arr = json_array();

	for (size_t i = 0; arr && i < m->n_pins; i++) {
		char hex[65];
		dock_hex32_text(m->pins[i], hex);
		if (json_array_append_new(arr, json_string(hex)) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

int dock_encode_cert_resp(const struct dock_cert_resp *m, char **ret)
{
	json_t *root, *cas;

	if (!m || !ret || m->cert_len == 0 || m->cert_len > DOCK_MAX_DER ||
	    m->n_ca == 0 || m->n_ca > DOCK_MAX_CA || m->n_pins == 0 || m->n_pins > DOCK_MAX_PINS)
		return -EINVAL;
	for (size_t i = 0; i < m->n_ca; i++)
		if (m->ca_len[i] == 0 || m->ca_len[i] > DOCK_MAX_DER)
			return -EINVAL;
	root = json_object();
	cas = json_array();
	if (!root || !cas)
		goto nomem;
	for (size_t i = 0; i < m->n_ca; i++)
		if (json_array_append_new(cas, dock_b64_json(m->ca[i], m->ca_len[i])) < 0)
			goto nomem;
	if (json_object_set_new(root, "standing", json_string(dock_standing_name(m->standing))) < 0 ||
	    json_object_set_new(root, "system_id", json_string(m->system_id)) < 0 ||
	    json_object_set_new(root, "certificate", dock_b64_json(m->cert, m->cert_len)) < 0 ||
	    json_object_set(root, "ca", cas) < 0 ||
	    json_object_set_new(root, "pins", pins_json(m)) < 0)
		goto nomem;
	if (m->dest_key_len &&
	    (m->dest_key_len > DOCK_MAX_DER ||
	     json_object_set_new(root, "destination_key",
				 json_pack("{soss}", "public_key",
					   dock_b64_json(m->dest_key, m->dest_key_len), "key_id",
					   m->dest_key_id)) < 0))
		goto nomem;
	json_decref(cas);
	return dock_dump(root, ret);
nomem:
	json_decref(cas);
	json_decref(root);
	return -ENOMEM;
}

void dock_hex32_text(const uint8_t in[32], char out[65])
{
	for (size_t k = 0; k < 32; k++)
		snprintf(out + 2 * k, 3, "%02x", in[k]);
}

int dock_hex32(const char *s, uint8_t out[32])
{
	if (!s || strlen(s) != 64)
		return -1;
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(s + 2 * i, "%2x", &v) != 1 || !strchr("0123456789abcdef", s[2 * i]) ||
		    !strchr("0123456789abcdef", s[2 * i + 1]))
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

static int decode_cas(json_t *root, struct dock_cert_resp *ret, char *why, size_t whylen)
{
	json_t *cas = json_object_get(root, "ca"), *pins = json_object_get(root, "pins");
	size_t i;
	json_t *v;

	if (!json_is_array(cas) || json_array_size(cas) == 0 || json_array_size(cas) > DOCK_MAX_CA) {
		dock_why(why, whylen, "member \"ca\" must be an array of 1..%d certificates",
			DOCK_MAX_CA);
		return -EBADMSG;
	}
	json_array_foreach(cas, i, v) {
		int r = dock_b64_value(v, "ca", ret->ca[i], DOCK_MAX_DER, &ret->ca_len[i], why, whylen);
		if (r < 0)
			return r;
		ret->n_ca++;
	}
	if (!json_is_array(pins) || json_array_size(pins) == 0 ||
	    json_array_size(pins) > DOCK_MAX_PINS) {
		dock_why(why, whylen, "member \"pins\" must be an array of 1..%d pins", DOCK_MAX_PINS);
		return -EBADMSG;
	}
	json_array_foreach(pins, i, v) {
		if (dock_hex32(json_string_value(v), ret->pins[i]) < 0) {
			dock_why(why, whylen, "pin %zu is not 64 lower-case hex digits", i);
			return -EBADMSG;
		}
		ret->n_pins++;
	}
	return 0;
}

static int decode_dest_key(json_t *dk, struct dock_cert_resp *ret, char *why, size_t whylen)
{
	if (!dk)
		return 0;
	if (!json_is_object(dk) || json_object_size(dk) != 2) {
		dock_why(why, whylen, "member \"destination_key\" must be {public_key, key_id}");
		return -EBADMSG;
	}
	if (dock_b64_member(dk, "public_key", ret->dest_key, sizeof(ret->dest_key),
			    &ret->dest_key_len, why, whylen) < 0 ||
	    dock_text_member(dk, "key_id", 1, ret->dest_key_id, sizeof(ret->dest_key_id), why,
			     whylen) < 0)
		return -EBADMSG;
	return 0;
}

int dock_decode_cert_resp(const char *json, size_t len, struct dock_cert_resp *ret, char *why,
			  size_t whylen)
{
	static const char *const allowed[] = { "standing", "system_id", "certificate", "ca",
					       "pins", "destination_key", NULL };
	char standing[16] = "";
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, allowed, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = dock_text_member(root, "standing", 1, standing, sizeof(standing), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "system_id", 1, ret->system_id, sizeof(ret->system_id), why,
				whylen);
	if (r == 0)
		r = dock_b64_member(root, "certificate", ret->cert, sizeof(ret->cert), &ret->cert_len,
			       why, whylen);
	if (r == 0)
		r = decode_cas(root, ret, why, whylen);
	if (r == 0)
		r = decode_dest_key(json_object_get(root, "destination_key"), ret, why, whylen);
	ret->standing = dock_standing_parse(standing);
	json_decref(root);
	return r;
}

int dock_encode_error(const struct dock_error_resp *m, char **ret)
{
	json_t *root;

	if (!m || !ret)
		return -EINVAL;
	root = json_pack("{ssssss}", "error", dock_code_name(m->code), "standing",
			 dock_standing_name(m->standing), "message", m->message);
	return dock_dump(root, ret);
}

int dock_decode_error(const char *json, size_t len, struct dock_error_resp *ret, char *why,
		      size_t whylen)
{
	static const char *const allowed[] = { "error", "standing", "message", NULL };
	char code[32] = "", standing[16] = "";
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, allowed, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = dock_text_member(root, "error", 1, code, sizeof(code), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "standing", 0, standing, sizeof(standing), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "message", 0, ret->message, sizeof(ret->message), why, whylen);
	ret->code = dock_code_parse(code);
	ret->standing = dock_standing_parse(standing);
	json_decref(root);
	return r;
}
