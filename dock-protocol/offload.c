/* offload.c - the offload messages of the dock protocol (PROTOCOL.md §9):
 * routes, the recording metadata document, commit, receipts, clip status.
 * Everything here parses bytes from the network: bounded and strict. */
#include "dock-protocol/dock.h"
#include "dock-protocol/codec.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIZE (UINT64_C(1) << 50)   /* a clip larger than 1 PiB is a lie */
#define MAX_GNSS 100000
#define MAX_BOOKMARKS 1000

int dock_check_recording_id(const char *id)
{
	if (!id || strlen(id) != DOCK_ID_LEN)
		return -EINVAL;
	for (int i = 0; i < DOCK_ID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;
		char c = id[i];
		if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -EINVAL;
	}
	return 0;
}

int dock_check_clip_id(const char *id)
{
	if (!id || strlen(id) != DOCK_CLIP_ID_LEN || strcmp(id, "0000") == 0)
		return -EINVAL;
	for (int i = 0; i < DOCK_CLIP_ID_LEN; i++)
		if (id[i] < '0' || id[i] > '9')
			return -EINVAL;
	return 0;
}

/* Copies the next path segment (up to '/', '?' or the end) of exactly len
 * characters into out. */
static const char *segment(const char *p, char *out, size_t len)
{
	size_t n = strcspn(p, "/?");

	if (n != len)
		return NULL;
	memcpy(out, p, n);
	out[n] = 0;
	return p + n;
}

static int parse_offset(const char *q, struct dock_route *r)
{
	char *end;

	if (strncmp(q, "?offset=", 8) != 0 || q[8] < '0' || q[8] > '9' || strlen(q + 8) > 20)
		return -EINVAL;
	errno = 0;
	r->offset = strtoull(q + 8, &end, 10);
	if (errno || *end || r->offset > MAX_SIZE)
		return -EINVAL;
	r->has_offset = 1;
	return 0;
}

int dock_parse_route(const char *path, struct dock_route *ret)
{
	static const char rec[] = "/v1/recordings/";
	const char *p;

	if (!path || !ret)
		return -EINVAL;
	memset(ret, 0, sizeof(*ret));
	if (!strcmp(path, "/v1/enrol"))
		ret->kind = DOCK_R_ENROL;
	else if (!strcmp(path, "/v1/renew"))
		ret->kind = DOCK_R_RENEW;
	else if (!strcmp(path, "/v1/offload/plan"))
		ret->kind = DOCK_R_PLAN;
	if (ret->kind)
		return 0;
	if (strncmp(path, rec, sizeof(rec) - 1) != 0)
		return -EINVAL;
	p = segment(path + sizeof(rec) - 1, ret->recording_id, DOCK_ID_LEN);
	if (!p || dock_check_recording_id(ret->recording_id) < 0)
		return -EINVAL;
	if (*p == 0) {
		ret->kind = DOCK_R_RECORDING;
		return 0;
	}
	if (strncmp(p, "/clips/", 7) != 0)
		return -EINVAL;
	p = segment(p + 7, ret->clip_id, DOCK_CLIP_ID_LEN);
	if (!p || dock_check_clip_id(ret->clip_id) < 0)
		return -EINVAL;
	if (*p == 0 || *p == '?') {
		ret->kind = DOCK_R_CLIP;
		return *p == '?' ? parse_offset(p, ret) : 0;
	}
	if (!strcmp(p, "/commit")) {
		ret->kind = DOCK_R_CLIP_COMMIT;
		return 0;
	}
	return -EINVAL;
}

/* ---- small members ---- */

static int u64_member(json_t *o, const char *key, uint64_t max, uint64_t *ret, char *why,
		      size_t whylen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max) {
		dock_why(why, whylen, "member \"%s\" missing or not a whole number 0..%" PRIu64, key, max);
		return -EBADMSG;
	}
	*ret = (uint64_t)json_integer_value(v);
	return 0;
}

static int bool_member(json_t *o, const char *key, int *ret, char *why, size_t whylen)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_boolean(v)) {
		dock_why(why, whylen, "member \"%s\" missing or not true/false", key);
		return -EBADMSG;
	}
	*ret = json_is_true(v);
	return 0;
}

static int sha_member(json_t *o, const char *key, uint8_t out[32], char *why, size_t whylen)
{
	if (dock_hex32(json_string_value(json_object_get(o, key)), out) < 0) {
		dock_why(why, whylen, "member \"%s\" is not 64 lower-case hex digits", key);
		return -EBADMSG;
	}
	return 0;
}

static int time_text(const char *s)
{
	struct tm tm = { 0 };
	const char *end;

	if (!s || strlen(s) != 20)
		return -1;
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* 1970..9999: times we can format back the same way. */
	return end && *end == 0 && tm.tm_year >= 70 && tm.tm_year <= 9999 - 1900 ? 0 : -1;
}

static int time_member(json_t *o, const char *key, int nullable, time_t *ret, char *why,
		       size_t whylen)
{
	json_t *v = json_object_get(o, key);
	struct tm tm = { 0 };

	if (nullable && (!v || json_is_null(v))) {
		if (ret)
			*ret = 0;
		return 0;
	}
	if (!json_is_string(v) || time_text(json_string_value(v)) < 0) {
		dock_why(why, whylen, "member \"%s\" is not a UTC time YYYY-MM-DDTHH:MM:SSZ", key);
		return -EBADMSG;
	}
	if (ret) {
		strptime(json_string_value(v), "%Y-%m-%dT%H:%M:%SZ", &tm);
		*ret = timegm(&tm);
	}
	return 0;
}

static json_t *time_json(time_t t)
{
	char buf[32];
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static json_t *sha_json(const uint8_t sha[32])
{
	char hex[65];

	dock_hex32_text(sha, hex);
	return json_string(hex);
}

/* ---- plan ---- */

int dock_encode_plan(const struct dock_plan *m, char **ret)
{
	if (!m || !ret)
		return -EINVAL;
	return dock_dump(json_pack("{sIsIsI}", "recordings", (json_int_t)m->recordings, "clips",
				   (json_int_t)m->clips, "bytes", (json_int_t)m->bytes), ret);
}

int dock_decode_plan(const char *json, size_t len, struct dock_plan *ret, char *why, size_t whylen)
{
	static const char *const allowed[] = { "recordings", "clips", "bytes", NULL };
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, allowed, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = u64_member(root, "recordings", 1000000, &ret->recordings, why, whylen);
	if (r == 0)
		r = u64_member(root, "clips", 100000000, &ret->clips, why, whylen);
	if (r == 0)
		r = u64_member(root, "bytes", MAX_SIZE, &ret->bytes, why, whylen);
	json_decref(root);
	return r;
}

/* ---- recording metadata ---- */

static int check_place(json_t *o, const char *name, int nullable, char *why, size_t whylen)
{
	static const char *const allowed[] = { "reason", "time", "location", NULL };
	json_t *loc, *v;
	char reason[DOCK_TEXT_MAX];

	if (nullable && json_is_null(o))
		return 0;
	if (!json_is_object(o)) {
		dock_why(why, whylen, "member \"%s\" is not an object", name);
		return -EBADMSG;
	}
	{
		char where[48];
		snprintf(where, sizeof(where), "\"%s\"", name);
		if (dock_only_members(o, allowed, where, why, whylen) < 0)
			return -EBADMSG;
	}
	if (dock_text_member(o, "reason", 1, reason, sizeof(reason), why, whylen) < 0 ||
	    time_member(o, "time", 0, NULL, why, whylen) < 0)
		return -EBADMSG;
	loc = json_object_get(o, "location");
	if (!loc || json_is_null(loc))
		return 0;
	v = json_object_get(loc, "latitude");
	if (!json_is_object(loc) || json_object_size(loc) != 2 || !json_is_number(v) ||
	    json_number_value(v) < -90 || json_number_value(v) > 90 ||
	    !json_is_number(json_object_get(loc, "longitude")) ||
	    json_number_value(json_object_get(loc, "longitude")) < -180 ||
	    json_number_value(json_object_get(loc, "longitude")) > 180) {
		dock_why(why, whylen, "member \"%s.location\" must be {latitude -90..90, longitude "
			 "-180..180}", name);
		return -EBADMSG;
	}
	return 0;
}

/* A clip encrypted in the camera for the destination (PROTOCOL.md §9.7):
 * {"key_object":{"EncryptedKey":b64,"ContentEncryptionIV":b64,"PublicKeyId":text},
 *  "plain_sha256":hex}. size and sha256 of the clip are the ciphertext's. */
static int check_encryption(json_t *e, struct dock_clip_meta *m, char *why, size_t whylen)
{
	json_t *ko = json_object_get(e, "key_object");
	uint8_t buf[1024], sha[32];
	char id[DOCK_KEY_ID_MAX + 1];
	size_t len;

	if (!e)
		return 0;
	if (!json_is_object(e) || json_object_size(e) != 2 || !json_is_object(ko) ||
	    json_object_size(ko) != 3 ||
	    dock_b64_member(ko, "EncryptedKey", buf, 512, &len, why, whylen) < 0 ||
	    dock_b64_member(ko, "ContentEncryptionIV", buf, 32, &len, why, whylen) < 0 || len != 16 ||
	    dock_text_member(ko, "PublicKeyId", 1, id, sizeof(id), why, whylen) < 0 ||
	    sha_member(e, "plain_sha256", sha, why, whylen) < 0) {
		dock_why(why, whylen, "clip %s member \"encryption\" must be {key_object: "
			 "{EncryptedKey, ContentEncryptionIV (16 bytes), PublicKeyId}, plain_sha256}",
			 m->clip_id);
		return -EBADMSG;
	}
	m->encrypted = 1;
	return 0;
}

static int decode_clip(json_t *c, struct dock_clip_meta *m, char *why, size_t whylen)
{
	static const char *const allowed[] = { "clip_id", "container", "start", "stop", "size",
					       "sha256", "complete", "encryption", NULL };

	if (!json_is_object(c)) {
		dock_why(why, whylen, "a member of \"clips\" is not an object");
		return -EBADMSG;
	}
	if (dock_only_members(c, allowed, "a clip", why, whylen) < 0)
		return -EBADMSG;
	if (dock_text_member(c, "clip_id", 1, m->clip_id, sizeof(m->clip_id), why, whylen) < 0 ||
	    dock_check_clip_id(m->clip_id) < 0) {
		dock_why(why, whylen, "clip member \"clip_id\" must be 0001..9999");
		return -EBADMSG;
	}
	if (dock_text_member(c, "container", 1, m->container, sizeof(m->container), why, whylen) < 0 ||
	    (strcmp(m->container, "mkv") && strcmp(m->container, "mp4"))) {
		dock_why(why, whylen, "clip %s member \"container\" must be mkv or mp4", m->clip_id);
		return -EBADMSG;
	}
	if (time_member(c, "start", 0, NULL, why, whylen) < 0 ||
	    time_member(c, "stop", 1, NULL, why, whylen) < 0 ||
	    u64_member(c, "size", MAX_SIZE, &m->size, why, whylen) < 0 ||
	    sha_member(c, "sha256", m->sha256, why, whylen) < 0 ||
	    bool_member(c, "complete", &m->complete, why, whylen) < 0)
		return -EBADMSG;
	return check_encryption(json_object_get(c, "encryption"), m, why, whylen);
}

static int check_list(json_t *root, const char *name, size_t max, int bookmarks, char *why,
		      size_t whylen)
{
	json_t *arr = json_object_get(root, name), *e;
	size_t i;

	if (!arr)
		return 0;
	if (!json_is_array(arr) || json_array_size(arr) > max) {
		dock_why(why, whylen, "member \"%s\" must be an array of at most %zu entries", name, max);
		return -EBADMSG;
	}
	json_array_foreach(arr, i, e) {
		char label[256];
		int ok = json_is_object(e) && time_member(e, "time", 0, NULL, why, whylen) == 0;
		if (ok && bookmarks)
			ok = json_object_size(e) == 2 &&
			     dock_text_member(e, "label", 1, label, sizeof(label), why, whylen) == 0;
		else if (ok)
			ok = json_object_size(e) == 3 &&
			     json_is_number(json_object_get(e, "latitude")) &&
			     json_is_number(json_object_get(e, "longitude"));
		if (!ok) {
			dock_why(why, whylen, "entry %zu of \"%s\" is malformed", i, name);
			return -EBADMSG;
		}
	}
	return 0;
}

static int decode_clips(json_t *root, struct dock_recording *ret, char *why, size_t whylen)
{
	json_t *clips = json_object_get(root, "clips"), *c;
	size_t i;

	if (!json_is_array(clips) || json_array_size(clips) > 9999) {
		dock_why(why, whylen, "member \"clips\" must be an array of at most 9999 clips");
		return -EBADMSG;
	}
	ret->clips = calloc(json_array_size(clips) + 1, sizeof(*ret->clips));
	if (!ret->clips)
		return -ENOMEM;
	json_array_foreach(clips, i, c) {
		if (decode_clip(c, &ret->clips[i], why, whylen) < 0)
			return -EBADMSG;
		if (dock_recording_clip(ret, ret->clips[i].clip_id)) {
			dock_why(why, whylen, "clip %s listed twice", ret->clips[i].clip_id);
			return -EBADMSG;
		}
		ret->n_clips++;
		ret->total_bytes += ret->clips[i].size;
	}
	return 0;
}

int dock_decode_recording(const char *json, size_t len, struct dock_recording *ret, char *why,
			  size_t whylen)
{
	static const char *const allowed[] = { "recording_id", "serial", "model", "firmware",
					       "user_id", "timezone", "trigger_on", "trigger_off",
					       "start", "stop", "clips", "gnss", "bookmarks",
					       "signing_cert", NULL };
	char text[DOCK_TEXT_MAX];
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_RECORDING_JSON, allowed, ret, sizeof(*ret), &root,
			      why, whylen);
	if (r < 0)
		return r;
	r = dock_text_member(root, "recording_id", 1, ret->recording_id, sizeof(ret->recording_id),
			     why, whylen);
	if (r == 0 && dock_check_recording_id(ret->recording_id) < 0) {
		dock_why(why, whylen, "member \"recording_id\" is not a lower-case UUID");
		r = -EBADMSG;
	}
	if (r == 0)
		r = dock_text_member(root, "serial", 1, ret->serial, sizeof(ret->serial), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "model", 0, text, sizeof(text), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "firmware", 0, text, sizeof(text), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "user_id", 0, text, sizeof(text), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "timezone", 0, text, sizeof(text), why, whylen);
	if (r == 0)
		r = check_place(json_object_get(root, "trigger_on"), "trigger_on", 0, why, whylen);
	if (r == 0)
		r = check_place(json_object_get(root, "trigger_off"), "trigger_off", 1, why, whylen);
	ret->closed = json_is_object(json_object_get(root, "trigger_off"));
	if (r == 0)
		r = time_member(root, "start", 0, NULL, why, whylen);
	if (r == 0)
		r = time_member(root, "stop", 1, NULL, why, whylen);
	if (r == 0)
		r = check_list(root, "gnss", MAX_GNSS, 0, why, whylen);
	if (r == 0)
		r = check_list(root, "bookmarks", MAX_BOOKMARKS, 1, why, whylen);
	if (r == 0)
		r = decode_clips(root, ret, why, whylen);
	/* the video-signing certificate (optional): bounded base64, kept as sent */
	if (r == 0 && json_object_get(root, "signing_cert")) {
		uint8_t *der = malloc(DOCK_MAX_DER);
		size_t n = 0;

		r = der ? dock_b64_member(root, "signing_cert", der, DOCK_MAX_DER, &n, why, whylen)
			: -ENOMEM;
		free(der);
	}
	if (r == 0) {
		ret->canonical = json_dumps(root, JSON_COMPACT);
		if (!ret->canonical)
			r = -ENOMEM;
	}
	json_decref(root);
	if (r < 0)
		dock_recording_free(ret);
	return r;
}

void dock_recording_free(struct dock_recording *r)
{
	if (!r)
		return;
	free(r->clips);
	free(r->canonical);
	r->clips = NULL;
	r->canonical = NULL;
	r->n_clips = 0;
}

const struct dock_clip_meta *dock_recording_clip(const struct dock_recording *r,
						 const char *clip_id)
{
	for (size_t i = 0; r && clip_id && i < r->n_clips; i++)
		if (strcmp(r->clips[i].clip_id, clip_id) == 0)
			return &r->clips[i];
	return NULL;
}

/* ---- commit ---- */

int dock_encode_commit(const struct dock_commit *m, char **ret)
{
	if (!m || !ret)
		return -EINVAL;
	return dock_dump(json_pack("{sIsosb}", "size", (json_int_t)m->size, "sha256",
				   sha_json(m->sha256), "complete", m->complete), ret);
}

int dock_decode_commit(const char *json, size_t len, struct dock_commit *ret, char *why,
		       size_t whylen)
{
	static const char *const allowed[] = { "size", "sha256", "complete", NULL };
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, allowed, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = u64_member(root, "size", MAX_SIZE, &ret->size, why, whylen);
	if (r == 0)
		r = sha_member(root, "sha256", ret->sha256, why, whylen);
	if (r == 0)
		r = bool_member(root, "complete", &ret->complete, why, whylen);
	json_decref(root);
	return r;
}

/* ---- receipts ---- */

int dock_receipt_tbs(const struct dock_receipt *r, char *out, size_t cap)
{
	char sha[65], when[32];
	struct tm tm;
	int n;

	if (!r || !out)
		return -EINVAL;
	dock_hex32_text(r->sha256, sha);
	gmtime_r(&r->time, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	n = snprintf(out, cap, "bwc-receipt-v1\n%s\n%s\n%s\n%s\n%" PRIu64 "\n%s\n%d\n%s\n",
		     r->system_id, r->serial, r->recording_id, r->clip_id, r->size, sha,
		     r->complete ? 1 : 0, when);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

static json_t *receipt_json(const struct dock_receipt *r)
{
	return json_pack("{sssssssssIsosbsososo}", "system_id", r->system_id, "serial", r->serial,
			 "recording_id", r->recording_id, "clip_id", r->clip_id, "size",
			 (json_int_t)r->size, "sha256", sha_json(r->sha256), "complete", r->complete,
			 "time", time_json(r->time), "signer", dock_b64_json(r->signer, r->signer_len),
			 "signature", dock_b64_json(r->sig, r->sig_len));
}

int dock_encode_receipt(const struct dock_receipt *r, char **ret)
{
	if (!r || !ret || r->signer_len == 0 || r->signer_len > DOCK_MAX_DER || r->sig_len == 0 ||
	    r->sig_len > DOCK_MAX_SIG)
		return -EINVAL;
	return dock_dump(receipt_json(r), ret);
}

static int decode_receipt_obj(json_t *root, struct dock_receipt *ret, char *why, size_t whylen)
{
	static const char *const allowed[] = { "system_id", "serial", "recording_id", "clip_id",
					       "size", "sha256", "complete", "time", "signer",
					       "signature", NULL };
	int r;

	if (dock_only_members(root, allowed, "the receipt", why, whylen) < 0)
		return -EBADMSG;
	r = dock_text_member(root, "system_id", 1, ret->system_id, sizeof(ret->system_id), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "serial", 1, ret->serial, sizeof(ret->serial), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "recording_id", 1, ret->recording_id,
				     sizeof(ret->recording_id), why, whylen);
	if (r == 0)
		r = dock_text_member(root, "clip_id", 1, ret->clip_id, sizeof(ret->clip_id), why, whylen);
	if (r == 0 && (dock_check_recording_id(ret->recording_id) < 0 ||
		       dock_check_clip_id(ret->clip_id) < 0)) {
		dock_why(why, whylen, "receipt names a malformed recording or clip id");
		r = -EBADMSG;
	}
	if (r == 0)
		r = u64_member(root, "size", MAX_SIZE, &ret->size, why, whylen);
	if (r == 0)
		r = sha_member(root, "sha256", ret->sha256, why, whylen);
	if (r == 0)
		r = bool_member(root, "complete", &ret->complete, why, whylen);
	if (r == 0)
		r = time_member(root, "time", 0, &ret->time, why, whylen);
	if (r == 0)
		r = dock_b64_member(root, "signer", ret->signer, sizeof(ret->signer),
				    &ret->signer_len, why, whylen);
	if (r == 0)
		r = dock_b64_member(root, "signature", ret->sig, sizeof(ret->sig), &ret->sig_len,
				    why, whylen);
	return r;
}

int dock_decode_receipt(const char *json, size_t len, struct dock_receipt *ret, char *why,
			size_t whylen)
{
	static const char *const any[] = { "system_id", "serial", "recording_id", "clip_id",
					   "size", "sha256", "complete", "time", "signer",
					   "signature", NULL };
	json_t *root;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, any, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = decode_receipt_obj(root, ret, why, whylen);
	json_decref(root);
	return r;
}

/* ---- clip status ---- */

static const char *const clip_states[] = { "none", "partial", "committed" };

int dock_encode_clip_status(const struct dock_clip_status *m, char **ret)
{
	json_t *root;

	if (!m || !ret || (unsigned)m->state > DOCK_CLIP_COMMITTED)
		return -EINVAL;
	root = json_pack("{sssI}", "state", clip_states[m->state], "offset", (json_int_t)m->offset);
	if (root && m->has_receipt &&
	    json_object_set_new(root, "receipt", receipt_json(&m->receipt)) < 0) {
		json_decref(root);
		return -ENOMEM;
	}
	return dock_dump(root, ret);
}

int dock_decode_clip_status(const char *json, size_t len, struct dock_clip_status *ret,
			    char *why, size_t whylen)
{
	static const char *const allowed[] = { "state", "offset", "receipt", NULL };
	char state[16];
	json_t *root, *rc;
	int r;

	r = dock_decode_begin(json, len, DOCK_MAX_BODY, allowed, ret, sizeof(*ret), &root, why,
			      whylen);
	if (r < 0)
		return r;
	r = dock_text_member(root, "state", 1, state, sizeof(state), why, whylen);
	if (r == 0) {
		r = -EBADMSG;
		for (int i = 0; i <= DOCK_CLIP_COMMITTED; i++)
			if (!strcmp(state, clip_states[i])) {
				ret->state = (enum dock_clip_state)i;
				r = 0;
			}
		if (r < 0)
			dock_why(why, whylen, "member \"state\" must be none, partial or committed");
	}
	if (r == 0)
		r = u64_member(root, "offset", MAX_SIZE, &ret->offset, why, whylen);
	rc = json_object_get(root, "receipt");
	if (r == 0 && rc) {
		r = json_is_object(rc) ? decode_receipt_obj(rc, &ret->receipt, why, whylen) : -EBADMSG;
		ret->has_receipt = r == 0;
	}
	json_decref(root);
	return r;
}
