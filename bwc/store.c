/* store.c - the camera's recording store (store.h): recording.json per
 * recording, clips written as .part under a lock, receipts before deletion. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "shared/bulkhash.h"
#include "shared/envelope.h"

#include "bwc/store.h"
#include "shared/util.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define JSON_MAX (16u << 20)       /* recording.json: 9999 clips fit with room for GNSS */
#define EXTRA_MAX_ITEMS 100000     /* GNSS points plus bookmarks */
#define LABEL_MAX 256
#define RECORDER_LOCK ".recorder.lock"

struct store {
	char data[PATH_MAX];
	char recs[PATH_MAX];           /* DATA/recordings */
	int rec_fd;                    /* recorder: lock of the open recording, or -1 */
	char rec_id[STORE_ID_LEN + 1];
	int clip_fd;                   /* recorder: the .part being written (locked), or -1 */
	char clip_id[STORE_CLIP_ID_LEN + 1];
	char clip_container[8];
	char clip_part[PATH_MAX], clip_final[PATH_MAX];
	time_t clip_start;
	uint8_t *dest_key;             /* destination RSA public key DER, or NULL */
	size_t dest_key_len;
	char dest_key_id[ENV_KEY_ID_MAX + 1];
};

/* ---- small checks ---- */

static int text_ok(const char *s, size_t max)
{
	size_t n;

	if (!s)
		return 0;
	n = strnlen(s, max);
	if (n >= max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int id_ok(const char *id)
{
	static const char form[] = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";

	if (!id || strnlen(id, STORE_ID_LEN + 1) != STORE_ID_LEN)
		return 0;
	for (size_t i = 0; i < STORE_ID_LEN; i++) {
		char c = id[i];
		if (form[i] == '-' || form[i] == '4') {
			if (c != form[i])
				return 0;
		} else if (form[i] == 'y') {
			if (c != '8' && c != '9' && c != 'a' && c != 'b')
				return 0;
		} else if (!isdigit((unsigned char)c) && !(c >= 'a' && c <= 'f')) {
			return 0;
		}
	}
	return 1;
}

static int clip_id_ok(const char *c)
{
	if (!c || strnlen(c, STORE_CLIP_ID_LEN + 1) != STORE_CLIP_ID_LEN)
		return 0;
	for (int i = 0; i < STORE_CLIP_ID_LEN; i++)
		if (!isdigit((unsigned char)c[i]))
			return 0;
	return strcmp(c, "0000") != 0;
}

static int container_ok(const char *c)
{
	return c && (strcmp(c, "mkv") == 0 || strcmp(c, "mp4") == 0);
}

static int place_ok(const struct store_place *p)
{
	if (!text_ok(p->reason, STORE_TEXT_MAX) || !p->reason[0] || p->time < 0)
		return 0;
	return !p->has_location ||
	       (isfinite(p->latitude) && isfinite(p->longitude) && fabs(p->latitude) <= 90.0 &&
		fabs(p->longitude) <= 180.0);
}

static int pathf(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int pathf(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int rec_path(store_t *s, const char *id, const char *name, char *out, size_t cap)
{
	if (name)
		return pathf(out, cap, "%s/%s/%s", s->recs, id, name);
	return pathf(out, cap, "%s/%s", s->recs, id);
}

/* ---- the store lock (DATA/.lock) around every read-modify-write ---- */

static int store_lock(store_t *s)
{
	char path[PATH_MAX];
	int fd;

	if (pathf(path, sizeof(path), "%s/.lock", s->data) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int r = -errno;
			close(fd);
			return r;
		}
	}
	return fd;
}

static void store_unlock(int fd)
{
	if (fd >= 0)
		close(fd);   /* closing the only descriptor drops the flock */
}

/* Tries a non-blocking exclusive lock on path: 1 taken (fd in *fd), 0 busy. */
static int try_lock_file(const char *path, int *fd)
{
	int f = open(path, O_RDONLY | O_CLOEXEC);

	if (f < 0)
		return errno == ENOENT ? 1 : -errno;   /* no lock file: nobody holds it */
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int r = errno == EWOULDBLOCK ? 0 : -errno;
		close(f);
		return r;
	}
	if (fd)
		*fd = f;
	else
		close(f);
	return 1;
}

/* ---- JSON <-> struct ---- */

static json_t *time_json(time_t t)
{
	char iso[32];

	util_time_iso(t, iso, sizeof(iso));
	return json_string(iso);
}

static json_t *place_json(const struct store_place *p)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "reason", json_string(p->reason));
	json_object_set_new(o, "time", time_json(p->time));
	if (p->has_location)
		json_object_set_new(o, "location", json_pack("{s:f,s:f}", "latitude", p->latitude,
							      "longitude", p->longitude));
	else
		json_object_set_new(o, "location", json_null());
	return o;
}

static json_t *clip_json(const struct store_clip *c, int with_receipted)
{
	char hex[65];
	json_t *o;

	util_hex(c->sha256, sizeof(c->sha256), hex);
	o = json_pack("{s:s,s:s,s:o,s:o,s:I,s:s,s:b}", "clip_id", c->clip_id, "container",
		      c->container, "start", time_json(c->start), "stop", time_json(c->stop),
		      "size", (json_int_t)c->size, "sha256", hex, "complete", c->complete);
	if (o && c->encrypted) {
		char ph[65];
		json_t *ko = json_loads(c->key_object, 0, NULL);
		util_hex(c->plain_sha256, sizeof(c->plain_sha256), ph);
		json_object_set_new(o, "encryption", json_pack("{s:o,s:s}", "key_object",
							       ko ? ko : json_null(), "plain_sha256", ph));
	}
	if (o && with_receipted)
		json_object_set_new(o, "receipted", json_boolean(c->receipted));
	return o;
}

static json_t *recording_to_json(const struct store_recording *r, int with_receipted)
{
	json_t *o = json_object(), *clips = json_array();

	if (!o || !clips)
		goto fail;
	json_object_set_new(o, "recording_id", json_string(r->id));
	json_object_set_new(o, "serial", json_string(r->serial));
	json_object_set_new(o, "model", json_string(r->model));
	json_object_set_new(o, "firmware", json_string(r->firmware));
	json_object_set_new(o, "user_id", json_string(r->user_id));
	json_object_set_new(o, "timezone", json_string(r->timezone));
	json_object_set_new(o, "trigger_on", place_json(&r->trigger_on));
	json_object_set_new(o, "trigger_off", r->closed ? place_json(&r->trigger_off) : json_null());
	json_object_set_new(o, "start", time_json(r->start));
	json_object_set_new(o, "stop", r->closed ? time_json(r->stop) : json_null());
	for (size_t i = 0; i < r->n_clips; i++)
		if (json_array_append_new(clips, clip_json(&r->clips[i], with_receipted)) < 0)
			goto fail;
	json_object_set_new(o, "clips", clips);
	clips = NULL;
	if (r->signing_cert)
		json_object_set_new(o, "signing_cert", json_string(r->signing_cert));
	if (r->extra_json) {
		json_t *extra = json_loads(r->extra_json, JSON_REJECT_DUPLICATES, NULL);
		if (!extra || json_object_update(o, extra) < 0) {
			json_decref(extra);
			goto fail;
		}
		json_decref(extra);
	}
	return o;
fail:
	json_decref(clips);
	json_decref(o);
	return NULL;
}

static int get_text(json_t *o, const char *key, char *out, size_t cap, int nonempty)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) >= cap ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    !text_ok(json_string_value(v), cap) || (nonempty && json_string_length(v) == 0))
		return -EBADMSG;
	memcpy(out, json_string_value(v), json_string_length(v) + 1);
	return 0;
}

static int get_time(json_t *o, const char *key, time_t *ret)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) != 20)
		return -EBADMSG;
	return util_time_parse_iso(json_string_value(v), ret) < 0 ? -EBADMSG : 0;
}

/* Every member of o must be one of names (NULL-terminated). */
static int only_members(json_t *o, const char *const *names)
{
	const char *key;
	json_t *v;

	json_object_foreach(o, key, v) {
		size_t i;
		for (i = 0; names[i] && strcmp(names[i], key) != 0; i++)
			;
		if (!names[i])
			return -EBADMSG;
	}
	return 0;
}

static int coord_ok(json_t *lat, json_t *lon)
{
	return json_is_number(lat) && json_is_number(lon) && fabs(json_number_value(lat)) <= 90.0 &&
	       fabs(json_number_value(lon)) <= 180.0;
}

static int parse_place(json_t *o, struct store_place *p)
{
	static const char *const names[] = { "reason", "time", "location", NULL };
	json_t *loc;

	if (!json_is_object(o) || only_members(o, names) < 0 ||
	    get_text(o, "reason", p->reason, sizeof(p->reason), 1) < 0 ||
	    get_time(o, "time", &p->time) < 0)
		return -EBADMSG;
	loc = json_object_get(o, "location");
	if (json_is_null(loc)) {
		p->has_location = 0;
		return 0;
	}
	static const char *const lnames[] = { "latitude", "longitude", NULL };
	if (!json_is_object(loc) || only_members(loc, lnames) < 0 ||
	    !coord_ok(json_object_get(loc, "latitude"), json_object_get(loc, "longitude")))
		return -EBADMSG;
	p->has_location = 1;
	p->latitude = json_number_value(json_object_get(loc, "latitude"));
	p->longitude = json_number_value(json_object_get(loc, "longitude"));
	return 0;
}

/* "encryption": {"key_object": {...}, "plain_sha256": hex}, optional. */
static int parse_encryption(json_t *e, struct store_clip *c)
{
	struct env_key k;
	const char *ph = json_string_value(json_object_get(e, "plain_sha256"));
	char *text, why[64];
	size_t len;

	if (!e)
		return 0;
	if (!json_is_object(e) || json_object_size(e) != 2 || !ph || strlen(ph) != 64)
		return -EBADMSG;
	text = json_dumps(json_object_get(e, "key_object"), JSON_COMPACT);
	len = text ? strlen(text) : 0;
	if (!text || len >= sizeof(c->key_object) ||
	    env_key_from_json(text, len, &k, why, sizeof(why)) < 0) {
		free(text);
		return -EBADMSG;
	}
	memcpy(c->key_object, text, len + 1);
	free(text);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (sscanf(ph + 2 * i, "%2x", &v) != 1)
			return -EBADMSG;
		c->plain_sha256[i] = (uint8_t)v;
	}
	c->encrypted = 1;
	return 0;
}

static int parse_clip(json_t *o, struct store_clip *c, int need_receipted)
{
	static const char *const names[] = { "clip_id", "container", "start", "stop", "size",
					     "sha256", "complete", "receipted", "encryption", NULL };
	json_t *size = json_object_get(o, "size"), *hex = json_object_get(o, "sha256");
	json_t *complete = json_object_get(o, "complete"), *rc = json_object_get(o, "receipted");
	const char *h;

	if (!json_is_object(o) || only_members(o, names) < 0 ||
	    get_text(o, "clip_id", c->clip_id, sizeof(c->clip_id), 1) < 0 || !clip_id_ok(c->clip_id) ||
	    get_text(o, "container", c->container, sizeof(c->container), 1) < 0 ||
	    !container_ok(c->container) || get_time(o, "start", &c->start) < 0 ||
	    get_time(o, "stop", &c->stop) < 0 || c->stop < c->start || !json_is_integer(size) ||
	    json_integer_value(size) < 0 || !json_is_string(hex) || json_string_length(hex) != 64 ||
	    !json_is_boolean(complete) || (need_receipted ? !json_is_boolean(rc) : rc != NULL))
		return -EBADMSG;
	h = json_string_value(hex);
	for (int i = 0; i < 32; i++) {
		unsigned v;
		if (!isxdigit((unsigned char)h[2 * i]) || !isxdigit((unsigned char)h[2 * i + 1]) ||
		    isupper((unsigned char)h[2 * i]) || isupper((unsigned char)h[2 * i + 1]) ||
		    sscanf(h + 2 * i, "%2x", &v) != 1)
			return -EBADMSG;
		c->sha256[i] = (uint8_t)v;
	}
	c->size = (uint64_t)json_integer_value(size);
	c->complete = json_is_true(complete);
	c->receipted = json_is_true(rc);
	return parse_encryption(json_object_get(o, "encryption"), c);
}

/* gnss and bookmarks: checked item by item, kept as JSON text. */
static int parse_extra(json_t *o, struct store_recording *r)
{
	static const char *const gnames[] = { "time", "latitude", "longitude", NULL };
	static const char *const bnames[] = { "time", "label", NULL };
	json_t *gnss = json_object_get(o, "gnss"), *bm = json_object_get(o, "bookmarks"), *v;
	json_t *extra;
	size_t i;
	time_t t;
	char label[LABEL_MAX];

	if (!gnss && !bm)
		return 0;
	if ((gnss && !json_is_array(gnss)) || (bm && !json_is_array(bm)) ||
	    json_array_size(gnss) + json_array_size(bm) > EXTRA_MAX_ITEMS)
		return -EBADMSG;
	json_array_foreach(gnss, i, v) {
		if (!json_is_object(v) || only_members(v, gnames) < 0 || get_time(v, "time", &t) < 0 ||
		    !coord_ok(json_object_get(v, "latitude"), json_object_get(v, "longitude")))
			return -EBADMSG;
	}
	json_array_foreach(bm, i, v) {
		if (!json_is_object(v) || only_members(v, bnames) < 0 || get_time(v, "time", &t) < 0 ||
		    get_text(v, "label", label, sizeof(label), 0) < 0)
			return -EBADMSG;
	}
	extra = json_object();
	if (!extra)
		return -ENOMEM;
	if (gnss)
		json_object_set(extra, "gnss", gnss);
	if (bm)
		json_object_set(extra, "bookmarks", bm);
	r->extra_json = json_dumps(extra, JSON_COMPACT);
	json_decref(extra);
	r->n_bookmarks = json_array_size(bm);
	return r->extra_json ? 0 : -ENOMEM;
}

static int parse_recording(json_t *o, struct store_recording *r)
{
	static const char *const names[] = { "recording_id", "serial", "model", "firmware",
					     "user_id", "timezone", "trigger_on", "trigger_off",
					     "start", "stop", "clips", "gnss", "bookmarks",
					     "signing_cert", NULL };
	json_t *clips, *off, *stop, *v;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (!json_is_object(o) || only_members(o, names) < 0 ||
	    get_text(o, "recording_id", r->id, sizeof(r->id), 1) < 0 || !id_ok(r->id) ||
	    get_text(o, "serial", r->serial, sizeof(r->serial), 1) < 0 ||
	    get_text(o, "model", r->model, sizeof(r->model), 0) < 0 ||
	    get_text(o, "firmware", r->firmware, sizeof(r->firmware), 0) < 0 ||
	    get_text(o, "user_id", r->user_id, sizeof(r->user_id), 0) < 0 ||
	    get_text(o, "timezone", r->timezone, sizeof(r->timezone), 1) < 0 ||
	    parse_place(json_object_get(o, "trigger_on"), &r->trigger_on) < 0 ||
	    get_time(o, "start", &r->start) < 0)
		return -EBADMSG;
	off = json_object_get(o, "trigger_off");
	stop = json_object_get(o, "stop");
	if (!off || !stop || json_is_null(off) != json_is_null(stop))
		return -EBADMSG;
	if (!json_is_null(off)) {
		if (parse_place(off, &r->trigger_off) < 0 || get_time(o, "stop", &r->stop) < 0 ||
		    r->stop < r->start)
			return -EBADMSG;
		r->closed = 1;
	}
	clips = json_object_get(o, "clips");
	if (!json_is_array(clips) || json_array_size(clips) > STORE_MAX_CLIPS)
		return -EBADMSG;
	if (json_array_size(clips) > 0) {
		r->clips = calloc(json_array_size(clips), sizeof(*r->clips));
		if (!r->clips)
			return -ENOMEM;
	}
	json_array_foreach(clips, i, v) {
		if (parse_clip(v, &r->clips[i], 1) < 0)
			return -EBADMSG;
		r->n_clips = i + 1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(r->clips[j].clip_id, r->clips[i].clip_id) == 0)
				return -EBADMSG;
	}
	v = json_object_get(o, "signing_cert");
	if (v) {
		uint8_t der[STORE_CERT_DER_MAX];
		const char *b64 = json_string_value(v);
		size_t n;

		if (!b64 || env_b64_decode(b64, strlen(b64), der, sizeof(der), &n) < 0 || n == 0)
			return -EBADMSG;
		r->signing_cert = strdup(b64);
		if (!r->signing_cert)
			return -ENOMEM;
	}
	return parse_extra(o, r);
}

static int read_recording(store_t *s, const char *id, struct store_recording *ret)
{
	char path[PATH_MAX];
	uint8_t *buf = NULL;
	size_t len;
	json_t *o;
	struct store_recording r;
	int e;

	if ((e = rec_path(s, id, "recording.json", path, sizeof(path))) < 0)
		return e;
	e = util_read_file(path, JSON_MAX, &buf, &len);
	if (e < 0)
		return e == -EFBIG ? -EBADMSG : e;
	o = json_loadb((char *)buf, len, JSON_REJECT_DUPLICATES, NULL);
	free(buf);
	if (!o)
		return -EBADMSG;
	e = parse_recording(o, &r);
	json_decref(o);
	if (e == 0 && strcmp(r.id, id) != 0)
		e = -EBADMSG;   /* a recording.json copied into another directory */
	if (e < 0) {
		store_recording_free(&r);
		return e;
	}
	*ret = r;
	return 0;
}

static int write_recording(store_t *s, const struct store_recording *r)
{
	char path[PATH_MAX], *text;
	json_t *o;
	int e;

	if ((e = rec_path(s, r->id, "recording.json", path, sizeof(path))) < 0)
		return e;
	o = recording_to_json(r, 1);
	if (!o)
		return -ENOMEM;
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text)
		return -ENOMEM;
	e = util_write_file_atomic(path, text, strlen(text), 0600);
	free(text);
	return e;
}

/* ---- open / close ---- */

int store_open(const char *data_dir, store_t **ret)
{
	store_t *s;
	int r;

	if (!data_dir || !ret || !data_dir[0] || strnlen(data_dir, PATH_MAX) >= PATH_MAX - 64)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->rec_fd = s->clip_fd = -1;
	snprintf(s->data, sizeof(s->data), "%s", data_dir);
	snprintf(s->recs, sizeof(s->recs), "%s/recordings", data_dir);
	r = util_mkdir_p(s->recs, 0700);
	if (r < 0) {
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

void store_close(store_t *s)
{
	if (!s)
		return;
	if (s->clip_fd >= 0)
		close(s->clip_fd);   /* an unfinished clip stays a .part for store_recover */
	if (s->rec_fd >= 0)
		close(s->rec_fd);
	free(s->dest_key);
	free(s);
}

int store_set_destination_key(store_t *s, const uint8_t *der, size_t len, const char *key_id)
{
	uint8_t *copy = NULL;

	if (!s || (der && (len == 0 || len > ENV_RSA_DER_MAX || !key_id ||
			   strlen(key_id) > ENV_KEY_ID_MAX)))
		return -EINVAL;
	if (der) {
		if (env_rsa_pub_check(der, len, NULL) < 0)
			return -EINVAL;
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, der, len);
	}
	free(s->dest_key);
	s->dest_key = copy;
	s->dest_key_len = der ? len : 0;
	snprintf(s->dest_key_id, sizeof(s->dest_key_id), "%s", der ? key_id : "");
	return 0;
}

void store_recording_free(struct store_recording *r)
{
	if (!r)
		return;
	free(r->clips);
	free(r->extra_json);
	free(r->signing_cert);
	r->clips = NULL;
	r->extra_json = NULL;
	r->signing_cert = NULL;
	r->n_clips = r->n_bookmarks = 0;
}

/* Replaces *r by the version on disk (which the daemon may have changed). */
static void adopt(struct store_recording *r, struct store_recording *fresh)
{
	store_recording_free(r);
	*r = *fresh;
	memset(fresh, 0, sizeof(*fresh));
}

/* ---- recorder side ---- */

static int new_uuid(char out[STORE_ID_LEN + 1])
{
	WC_RNG rng;
	uint8_t b[16];
	char hex[33];
	int r;

	if (wc_InitRng(&rng) != 0)
		return -EIO;
	r = wc_RNG_GenerateBlock(&rng, b, sizeof(b));
	wc_FreeRng(&rng);
	if (r != 0)
		return -EIO;
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);   /* version 4 */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);   /* RFC 4122 variant */
	util_hex(b, sizeof(b), hex);
	snprintf(out, STORE_ID_LEN + 1, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12,
		 hex + 16, hex + 20);
	return 0;
}

static int recording_fields_ok(const struct store_recording *r)
{
	return text_ok(r->serial, sizeof(r->serial)) && r->serial[0] &&
	       text_ok(r->model, sizeof(r->model)) && text_ok(r->firmware, sizeof(r->firmware)) &&
	       text_ok(r->user_id, sizeof(r->user_id)) && text_ok(r->timezone, sizeof(r->timezone)) &&
	       r->timezone[0] && place_ok(&r->trigger_on);
}

/* The caller's extra_json must hold only valid gnss/bookmarks members. */
static int extra_ok(struct store_recording *r)
{
	struct store_recording tmp;
	json_t *o;
	int e;

	if (!r->extra_json)
		return 0;
	if (strnlen(r->extra_json, JSON_MAX) >= JSON_MAX)
		return -EINVAL;
	o = json_loads(r->extra_json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o) || json_object_get(o, "clips") ||
	    json_object_size(o) != (size_t)(json_object_get(o, "gnss") != NULL) +
					    (size_t)(json_object_get(o, "bookmarks") != NULL)) {
		json_decref(o);
		return -EINVAL;
	}
	memset(&tmp, 0, sizeof(tmp));
	e = parse_extra(o, &tmp);
	json_decref(o);
	if (e == 0)
		r->n_bookmarks = tmp.n_bookmarks;
	store_recording_free(&tmp);
	return e < 0 ? -EINVAL : 0;
}

int store_recording_begin(store_t *s, struct store_recording *r)
{
	char dir[PATH_MAX], lock[PATH_MAX];
	int e, fd;

	if (!s || !r || !recording_fields_ok(r) || r->n_clips || r->clips)
		return -EINVAL;
	if (s->rec_fd >= 0)
		return -EBUSY;
	if ((e = extra_ok(r)) < 0)
		return e;
	if ((e = new_uuid(r->id)) < 0)
		return e;
	r->start = time(NULL);
	if (r->trigger_on.time == 0)
		r->trigger_on.time = r->start;
	r->closed = 0;
	r->stop = 0;
	memset(&r->trigger_off, 0, sizeof(r->trigger_off));
	if ((e = rec_path(s, r->id, NULL, dir, sizeof(dir))) < 0 ||
	    (e = rec_path(s, r->id, RECORDER_LOCK, lock, sizeof(lock))) < 0)
		return e;
	if (mkdir(dir, 0700) < 0)
		return -errno;
	/* The recorder holds this lock for the whole recording: a free lock on an
	 * open recording means the recorder is gone. */
	fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		e = -errno;
		goto fail;
	}
	if ((e = write_recording(s, r)) < 0 || (e = util_fsync_parent(dir)) < 0)
		goto fail;
	s->rec_fd = fd;
	snprintf(s->rec_id, sizeof(s->rec_id), "%s", r->id);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	unlink(lock);
	rmdir(dir);
	return e;
}

int store_clip_begin(store_t *s, struct store_recording *r, const char *container, char *ret_path,
		     size_t cap)
{
	unsigned next;
	int e, lk, fd;

	if (!s || !r || !container_ok(container) || !ret_path || cap == 0 || cap > PATH_MAX)
		return -EINVAL;
	if (s->rec_fd < 0 || strcmp(s->rec_id, r->id) != 0 || r->closed)
		return -EINVAL;
	if (s->clip_fd >= 0)
		return -EBUSY;
	next = 1;
	for (size_t i = 0; i < r->n_clips; i++)
		if ((unsigned)atoi(r->clips[i].clip_id) >= next)
			next = (unsigned)atoi(r->clips[i].clip_id) + 1;
	if (next > STORE_MAX_CLIPS)
		return -ENOSPC;
	snprintf(s->clip_id, sizeof(s->clip_id), "%04u", next);
	snprintf(s->clip_container, sizeof(s->clip_container), "%s", container);
	if ((e = pathf(s->clip_final, sizeof(s->clip_final), "%s/%s/clip-%s.%s", s->recs, r->id,
		       s->clip_id, container)) < 0 ||
	    (e = pathf(s->clip_part, sizeof(s->clip_part), "%s.part", s->clip_final)) < 0)
		return e;
	if (strlen(s->clip_part) >= cap)
		return -ENAMETOOLONG;
	/* Created and locked under the store lock, so store_recover never sees
	 * an unlocked .part of a live recorder. */
	lk = store_lock(s);
	if (lk < 0)
		return lk;
	fd = open(s->clip_part, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		e = -errno;
		if (fd >= 0) {
			close(fd);
			unlink(s->clip_part);
		}
		store_unlock(lk);
		return e;
	}
	e = util_fsync_parent(s->clip_part);
	store_unlock(lk);
	if (e < 0) {
		close(fd);
		unlink(s->clip_part);
		return e;
	}
	s->clip_fd = fd;
	s->clip_start = time(NULL);
	snprintf(ret_path, cap, "%s", s->clip_part);
	return 0;
}

/* SHA-256 and size of everything in fd. */
static int hash_fd(int fd, uint64_t *ret_size, uint8_t out[32])
{
	return bulkhash_fd(fd, UINT64_MAX, out, NULL, ret_size);
}

/* Adds clip c to recording id on disk (under the store lock). */
static int add_clip(store_t *s, const char *id, const struct store_clip *c,
		    struct store_recording *ret)
{
	struct store_recording d;
	struct store_clip *grown;
	int e;

	if ((e = read_recording(s, id, &d)) < 0)
		return e;
	for (size_t i = 0; i < d.n_clips; i++)
		if (strcmp(d.clips[i].clip_id, c->clip_id) == 0) {
			store_recording_free(&d);
			return -EEXIST;
		}
	if (d.n_clips >= STORE_MAX_CLIPS) {
		store_recording_free(&d);
		return -ENOSPC;
	}
	grown = realloc(d.clips, (d.n_clips + 1) * sizeof(*grown));
	if (!grown) {
		store_recording_free(&d);
		return -ENOMEM;
	}
	d.clips = grown;
	d.clips[d.n_clips++] = *c;
	e = write_recording(s, &d);
	if (e == 0 && ret)
		adopt(ret, &d);
	store_recording_free(&d);
	return e;
}

/* Encrypts everything in fd for the destination into tmp; fills the clip's
 * size/sha256 (ciphertext), plain_sha256 and key object. */
static int encrypt_fd(store_t *s, int fd, const char *tmp, struct store_clip *c)
{
	enum { CHUNK = 1 << 20 };
	uint8_t *in = malloc(CHUNK), *out = malloc(CHUNK + ENV_BLOCK);
	env_stream_t *es = NULL;
	struct env_key key;
	char *json = NULL;
	uint64_t pos = 0, total = 0;
	size_t olen;
	int ofd = -1, e;

	if (!in || !out) {
		e = -ENOMEM;
		goto out;
	}
	if (env_encrypt_init(s->dest_key, s->dest_key_len, s->dest_key_id, &es, &key) < 0) {
		e = -EINVAL;
		goto out;
	}
	ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (ofd < 0) {
		e = -errno;
		goto out;
	}
	for (;;) {
		ssize_t n = pread(fd, in, CHUNK, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			goto out;
		}
		if (n == 0)
			break;
		pos += (uint64_t)n;
		if (env_update(es, in, (size_t)n, out, &olen) < 0 ||
		    write(ofd, out, olen) != (ssize_t)olen) {
			e = -EIO;
			goto out;
		}
		total += olen;
	}
	if (env_final(es, out, &olen, c->plain_sha256, c->sha256) < 0 ||
	    write(ofd, out, olen) != (ssize_t)olen || fsync(ofd) < 0 ||
	    env_key_to_json(&key, &json) < 0 || strlen(json) >= sizeof(c->key_object)) {
		e = -EIO;
		goto out;
	}
	c->size = total + olen;
	c->encrypted = 1;
	snprintf(c->key_object, sizeof(c->key_object), "%s", json);
	e = 0;
out:
	if (ofd >= 0)
		close(ofd);
	if (e < 0)
		unlink(tmp);
	env_free(es);
	free(json);
	free(in);
	free(out);
	return e;
}

/* Makes the written clip (src, open as fd) its final file: plaintext as it
 * is, or — with a destination key — encrypted, the key object saved next to
 * it (final.key) before the rename so a crash never orphans the ciphertext,
 * and the plaintext removed. */
static int seal_clip(store_t *s, int fd, const char *src, const char *final, struct store_clip *c)
{
	char tmp[PATH_MAX], keyf[PATH_MAX];
	int e;

	if (!s->dest_key) {
		if ((e = hash_fd(fd, &c->size, c->sha256)) < 0)
			return e;
		if (strcmp(src, final) && rename(src, final) < 0)
			return -errno;
		return util_fsync_parent(final);
	}
	if (snprintf(tmp, sizeof(tmp), "%s.enc", final) >= (int)sizeof(tmp) ||
	    snprintf(keyf, sizeof(keyf), "%s.key", final) >= (int)sizeof(keyf))
		return -ENAMETOOLONG;
	if ((e = encrypt_fd(s, fd, tmp, c)) < 0)
		return e;
	if ((e = util_write_file_atomic(keyf, c->key_object, strlen(c->key_object), 0600)) < 0)
		return e;
	if (rename(tmp, final) < 0)
		return -errno;
	if (strcmp(src, final) && unlink(src) < 0 && errno != ENOENT)
		return -errno;
	return util_fsync_parent(final);
}

int store_clip_end(store_t *s, struct store_recording *r)
{
	struct store_clip c;
	int e, lk;

	if (!s || !r)
		return -EINVAL;
	if (s->clip_fd < 0 || strcmp(s->rec_id, r->id) != 0)
		return -EINVAL;
	memset(&c, 0, sizeof(c));
	memcpy(c.clip_id, s->clip_id, sizeof(c.clip_id));
	memcpy(c.container, s->clip_container, sizeof(c.container));
	c.start = s->clip_start;
	c.stop = time(NULL);
	c.complete = 1;
	/* Sealed before taking the store lock: the clip lock keeps recover away.
	 * Renamed first: a crash before recording.json is updated leaves a final
	 * clip that store_recover adds back. */
	if (fsync(s->clip_fd) < 0)
		return -errno;
	if ((e = seal_clip(s, s->clip_fd, s->clip_part, s->clip_final, &c)) < 0)
		return e;
	lk = store_lock(s);
	if (lk < 0)
		return lk;
	if ((e = add_clip(s, r->id, &c, r)) < 0)
		goto out;
	close(s->clip_fd);
	s->clip_fd = -1;
out:
	store_unlock(lk);
	return e;
}

static time_t last_stop(const struct store_recording *r)
{
	time_t t = r->start;

	for (size_t i = 0; i < r->n_clips; i++)
		if (r->clips[i].stop > t)
			t = r->clips[i].stop;
	return t;
}

/* Closes recording d (already read) with off, writes it, maybe removes it. */
static int close_recording(store_t *s, struct store_recording *d, const struct store_place *off);

int store_recording_end(store_t *s, struct store_recording *r, const struct store_place *off)
{
	struct store_recording d;
	struct store_place p;
	int e, lk;

	if (!s || !r || !off || !place_ok(off))
		return -EINVAL;
	if (s->rec_fd < 0 || strcmp(s->rec_id, r->id) != 0)
		return -EINVAL;
	if (s->clip_fd >= 0)
		return -EBUSY;   /* store_clip_end first */
	p = *off;
	if (p.time == 0)
		p.time = time(NULL);
	lk = store_lock(s);
	if (lk < 0)
		return lk;
	e = read_recording(s, r->id, &d);
	if (e == 0 && !d.closed)
		e = close_recording(s, &d, &p);
	if (e == 0)
		adopt(r, &d);
	store_recording_free(&d);
	store_unlock(lk);
	if (e == 0) {
		close(s->rec_fd);
		s->rec_fd = -1;
		s->rec_id[0] = 0;
	}
	return e;
}

/* ---- daemon side ---- */

static int all_receipted(const struct store_recording *r)
{
	for (size_t i = 0; i < r->n_clips; i++)
		if (!r->clips[i].receipted)
			return 0;
	return 1;
}

/* Unlinks every entry of dir (files only: a recording has no subdirectories)
 * and the directory itself. */
static int empty_and_rmdir(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (pathf(path, sizeof(path), "%s/%s", dir, de->d_name) == 0)
			unlink(path);
	}
	closedir(d);
	if (rmdir(dir) < 0)
		return -errno;
	return util_fsync_parent(dir);
}

/* Deletes a directory whose clips are all receipted: renamed aside first so
 * a crash leaves either the whole recording or a ".gone-" leftover that
 * store_recover finishes. */
static int remove_recording_dir(store_t *s, const char *id)
{
	char dir[PATH_MAX], gone[PATH_MAX];
	int e;

	if ((e = rec_path(s, id, NULL, dir, sizeof(dir))) < 0 ||
	    (e = pathf(gone, sizeof(gone), "%s/.gone-%s", s->recs, id)) < 0)
		return e;
	if (rename(dir, gone) < 0)
		return -errno;
	if ((e = util_fsync_parent(gone)) < 0)
		return e;
	return empty_and_rmdir(gone);
}

static int close_recording(store_t *s, struct store_recording *d, const struct store_place *off)
{
	int e;

	d->trigger_off = *off;
	d->stop = off->time > d->start ? off->time : d->start;
	d->closed = 1;
	if ((e = write_recording(s, d)) < 0)
		return e;
	if (d->n_clips > 0 && all_receipted(d))
		return remove_recording_dir(s, d->id);
	return 0;
}

/* "clip-NNNN.ext" or "clip-NNNN.ext.part": clip id, container, is it a part. */
static int clip_name(const char *name, char *clip_id, char *container, int *is_part)
{
	size_t n = strlen(name);

	if (n < 13 || strncmp(name, "clip-", 5) != 0 || name[9] != '.')
		return 0;
	memcpy(clip_id, name + 5, 4);
	clip_id[4] = 0;
	if (!clip_id_ok(clip_id))
		return 0;
	memcpy(container, name + 10, 3);
	container[3] = 0;
	if (!container_ok(container))
		return 0;
	*is_part = strcmp(name + 13, ".part") == 0;
	return *is_part || name[13] == 0;
}

static int has_clip(const struct store_recording *r, const char *clip_id)
{
	for (size_t i = 0; i < r->n_clips; i++)
		if (strcmp(r->clips[i].clip_id, clip_id) == 0)
			return 1;
	return 0;
}

/* A final clip file whose metadata update was lost: plaintext, or ciphertext
 * with its key object in path.key. */
static int recover_sealed(int fd, const char *path, struct store_clip *c)
{
	char keyf[PATH_MAX];
	uint8_t *text = NULL;
	size_t len;
	int e;

	if ((e = hash_fd(fd, &c->size, c->sha256)) < 0)
		return e;
	if (snprintf(keyf, sizeof(keyf), "%s.key", path) >= (int)sizeof(keyf))
		return -ENAMETOOLONG;
	e = util_read_file(keyf, sizeof(c->key_object) - 1, &text, &len);
	if (e == -ENOENT)
		return 0;
	if (e < 0)
		return e;
	memcpy(c->key_object, text, len + 1);
	free(text);
	c->encrypted = 1;   /* plain_sha256 is unknown after this crash: left zero */
	return 0;
}

/* A clip file recording.json does not list: a .part nobody writes (torn:
 * flagged incomplete) or a final file whose rename beat the metadata update. */
static int recover_clip(store_t *s, struct store_recording *d, const char *name)
{
	char path[PATH_MAX], final[PATH_MAX];
	struct store_clip c;
	struct stat st;
	int is_part, fd = -1, e;

	memset(&c, 0, sizeof(c));
	if (!clip_name(name, c.clip_id, c.container, &is_part) || has_clip(d, c.clip_id))
		return 0;
	if ((e = rec_path(s, d->id, name, path, sizeof(path))) < 0)
		return e;
	e = try_lock_file(path, &fd);
	if (e <= 0)
		return e;   /* being written */
	if (fd < 0)
		return 0;   /* vanished */
	if (fstat(fd, &st) < 0 || fsync(fd) < 0) {
		e = -errno;
		goto out;
	}
	c.stop = st.st_mtime;
	c.start = last_stop(d);   /* clips follow each other */
	if (c.stop < c.start)
		c.stop = c.start;
	c.complete = !is_part;
	if (is_part) {
		snprintf(final, sizeof(final), "%.*s", (int)(strlen(path) - 5), path);
		e = seal_clip(s, fd, path, final, &c);
	} else {
		e = recover_sealed(fd, path, &c);
	}
	if (e < 0)
		goto out;
	e = add_clip(s, d->id, &c, d);
	if (e == 0)
		e = 1;
out:
	close(fd);
	return e;
}

/* Every unlisted clip file of recording id, then closes it if its recorder is gone. */
static int recover_recording(store_t *s, const char *id)
{
	char dir[PATH_MAX], lock[PATH_MAX];
	struct store_recording d;
	struct dirent *de;
	struct store_place off;
	DIR *dh;
	int e, n = 0, free_lock, lfd = -1;

	if ((e = rec_path(s, id, NULL, dir, sizeof(dir))) < 0 ||
	    (e = rec_path(s, id, RECORDER_LOCK, lock, sizeof(lock))) < 0)
		return e;
	if ((e = read_recording(s, id, &d)) < 0)
		return e == -EBADMSG || e == -ENOENT ? 0 : e;   /* damaged: left alone */
	dh = opendir(dir);
	if (!dh) {
		store_recording_free(&d);
		return -errno;
	}
	while ((de = readdir(dh))) {
		e = recover_clip(s, &d, de->d_name);
		if (e < 0)
			break;
		n += e;
	}
	closedir(dh);
	if (e >= 0 && !d.closed) {
		free_lock = try_lock_file(lock, &lfd);
		if (free_lock == 1) {
			memset(&off, 0, sizeof(off));
			snprintf(off.reason, sizeof(off.reason), "recorder-stopped");
			off.time = last_stop(&d);
			e = close_recording(s, &d, &off);
		} else if (free_lock < 0) {
			e = free_lock;
		}
		if (lfd >= 0)
			close(lfd);
	}
	store_recording_free(&d);
	return e < 0 ? e : n;
}

/* Takes the store lock and opens DATA/recordings; returns the lock fd. */
static int lock_and_list(store_t *s, DIR **ret)
{
	int lk = store_lock(s), e;

	if (lk < 0)
		return lk;
	*ret = opendir(s->recs);
	if (!*ret) {
		e = -errno;
		store_unlock(lk);
		return e;
	}
	return lk;
}

int store_recover(store_t *s)
{
	struct dirent *de;
	DIR *dh;
	int lk, e = 0, n = 0;

	if (!s)
		return -EINVAL;
	if ((lk = lock_and_list(s, &dh)) < 0)
		return lk;
	while ((de = readdir(dh))) {
		int r;
		if (strncmp(de->d_name, ".gone-", 6) == 0 && id_ok(de->d_name + 6)) {
			char path[PATH_MAX];
			/* a removal cut off by a crash: its clips were all receipted */
			if (pathf(path, sizeof(path), "%s/%s", s->recs, de->d_name) == 0)
				empty_and_rmdir(path);
			continue;
		}
		if (!id_ok(de->d_name))
			continue;
		r = recover_recording(s, de->d_name);
		if (r < 0 && e == 0)
			e = r;
		if (r > 0)
			n += r;
	}
	closedir(dh);
	store_unlock(lk);
	return e < 0 ? e : n;
}

struct listed {
	char id[STORE_ID_LEN + 1];
	time_t start;
};

static int listed_cmp(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return strcmp(x->id, y->id);
}

int store_list(store_t *s, char (**ret)[STORE_ID_LEN + 1], size_t *ret_n)
{
	struct listed *v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *dh;
	int e = 0, lk;

	if (!s || !ret || !ret_n)
		return -EINVAL;
	if ((lk = lock_and_list(s, &dh)) < 0)
		return lk;
	while ((de = readdir(dh))) {
		struct store_recording r;
		int rr;
		if (!id_ok(de->d_name))
			continue;
		rr = read_recording(s, de->d_name, &r);
		if (rr == -ENOENT)
			continue;   /* a recording being created */
		if (n == cap) {
			struct listed *g = realloc(v, (cap = cap ? cap * 2 : 16) * sizeof(*v));
			if (!g) {
				e = -ENOMEM;
				store_recording_free(&r);
				break;
			}
			v = g;
		}
		memcpy(v[n].id, de->d_name, sizeof(v[n].id));   /* id_ok: 36 characters + NUL */
		/* A damaged recording is listed last: store_load reports it. */
		v[n].start = rr == 0 ? r.start : (time_t)INT64_MAX;
		if (rr == 0)
			store_recording_free(&r);
		n++;
	}
	closedir(dh);
	if (e == 0) {
		char (*ids)[STORE_ID_LEN + 1] = malloc((n ? n : 1) * sizeof(*ids));
		if (!ids) {
			e = -ENOMEM;
			goto out;
		}
		if (n)
			qsort(v, n, sizeof(*v), listed_cmp);
		for (size_t i = 0; i < n; i++)
			memcpy(ids[i], v[i].id, sizeof(ids[i]));
		*ret = ids;
		*ret_n = n;
	}
out:
	free(v);
	store_unlock(lk);
	return e;
}

int store_load(store_t *s, const char *id, struct store_recording *ret)
{
	int e, lk;

	if (!s || !ret || !id_ok(id))
		return -EINVAL;
	lk = store_lock(s);
	if (lk < 0)
		return lk;
	e = read_recording(s, id, ret);
	store_unlock(lk);
	return e;
}

int store_recording_json(const struct store_recording *r, char **ret)
{
	json_t *o;

	if (!r || !ret || !id_ok(r->id) || !recording_fields_ok(r) ||
	    (r->n_clips && !r->clips) || r->n_clips > STORE_MAX_CLIPS)
		return -EINVAL;
	o = recording_to_json(r, 0);
	if (!o)
		return -ENOMEM;
	*ret = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return *ret ? 0 : -ENOMEM;
}

static const struct store_clip *find_clip(const struct store_recording *r, const char *clip_id)
{
	for (size_t i = 0; i < r->n_clips; i++)
		if (strcmp(r->clips[i].clip_id, clip_id) == 0)
			return &r->clips[i];
	return NULL;
}

int store_clip_path(store_t *s, const char *id, const char *clip_id, char *out, size_t cap)
{
	struct store_recording r;
	const struct store_clip *c;
	char path[PATH_MAX];
	int e;

	if (!s || !id_ok(id) || !clip_id_ok(clip_id) || !out || cap == 0 || cap > PATH_MAX)
		return -EINVAL;
	if ((e = store_load(s, id, &r)) < 0)
		return e;
	c = find_clip(&r, clip_id);
	if (!c)
		e = -ENOENT;
	else if (c->receipted)
		e = -ENOENT;   /* deleted after the receipt */
	else if ((e = pathf(path, sizeof(path), "%s/%s/clip-%s.%s", s->recs, id, clip_id,
			    c->container)) == 0) {
		if (strlen(path) >= cap)
			e = -ENAMETOOLONG;
		else
			memcpy(out, path, strlen(path) + 1);
	}
	store_recording_free(&r);
	return e;
}

static int append_receipt(store_t *s, const char *line)
{
	char path[PATH_MAX];
	size_t len = strlen(line);
	int fd, e = 0, created;

	if ((e = pathf(path, sizeof(path), "%s/receipts.log", s->data)) < 0)
		return e;
	created = access(path, F_OK) < 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, line, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = -errno;
			break;
		}
		line += n;
		len -= (size_t)n;
	}
	if (e == 0 && fsync(fd) < 0)
		e = -errno;
	close(fd);
	if (e == 0 && created)
		e = util_fsync_parent(path);
	return e;
}

int store_clip_receipted(store_t *s, const char *id, const char *clip_id, const char *receipt_json)
{
	struct store_recording d;
	struct store_clip *c;
	char path[PATH_MAX], *line = NULL;
	json_t *rc;
	int e, lk;

	if (!s || !id_ok(id) || !clip_id_ok(clip_id) || !receipt_json ||
	    strnlen(receipt_json, 65537) > 65536)
		return -EINVAL;
	rc = json_loads(receipt_json, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(rc)) {
		json_decref(rc);
		return -EINVAL;
	}
	line = json_dumps(rc, JSON_COMPACT);   /* exactly one line */
	json_decref(rc);
	if (!line)
		return -ENOMEM;
	lk = store_lock(s);
	if (lk < 0) {
		free(line);
		return lk;
	}
	if ((e = read_recording(s, id, &d)) < 0)
		goto out;
	c = (struct store_clip *)find_clip(&d, clip_id);
	if (!c) {
		e = -ENOENT;
		goto done;
	}
	if (!c->receipted) {
		size_t n = strlen(line);
		char *nl = realloc(line, n + 2);
		if (!nl) {
			e = -ENOMEM;
			goto done;
		}
		line = nl;
		memcpy(line + n, "\n", 2);
		if ((e = append_receipt(s, line)) < 0 ||
		    (e = pathf(path, sizeof(path), "%s/%s/clip-%s.%s", s->recs, id, clip_id,
			       c->container)) < 0)
			goto done;
		if (unlink(path) < 0 && errno != ENOENT) {
			e = -errno;
			goto done;
		}
		if (c->encrypted && strlen(path) + 4 < sizeof(path)) {
			strcat(path, ".key");
			unlink(path);
		}
		if ((e = util_fsync_parent(path)) < 0)
			goto done;
		c->receipted = 1;
		if ((e = write_recording(s, &d)) < 0)
			goto done;
	}
	if (d.closed && all_receipted(&d))
		e = remove_recording_dir(s, id);
done:
	store_recording_free(&d);
out:
	store_unlock(lk);
	free(line);
	return e;
}

int store_save_destination_key(store_t *s, const uint8_t *der, size_t len, const char *key_id)
{
	char path[PATH_MAX], *b64 = NULL, *text;
	json_t *o;
	int e;

	if (!s || (der && (len == 0 || len > ENV_RSA_DER_MAX || !key_id)))
		return -EINVAL;
	if ((e = pathf(path, sizeof(path), "%s/destination-key.json", s->data)) < 0)
		return e;
	if (!der) {
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		return store_set_destination_key(s, NULL, 0, NULL);
	}
	if ((e = store_set_destination_key(s, der, len, key_id)) < 0)
		return e;
	if (env_b64_encode(der, len, &b64) < 0)
		return -ENOMEM;
	o = json_pack("{s:s,s:s}", "public_key", b64, "key_id", key_id);
	text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	free(b64);
	if (!text)
		return -ENOMEM;
	e = util_write_file_atomic(path, text, strlen(text), 0644);
	free(text);
	return e;
}

int store_save_signing_cert(store_t *s, struct store_recording *r, const char *pem, size_t len)
{
	uint8_t der[STORE_CERT_DER_MAX];
	char path[PATH_MAX], *b64 = NULL;
	int e, n;

	if (!s || !r || !pem || len == 0 || len > 16384)
		return -EINVAL;
	n = wc_CertPemToDer((const unsigned char *)pem, (int)len, der, sizeof(der), CERT_TYPE);
	if (n <= 0)
		return -EBADMSG;
	if ((e = rec_path(s, r->id, STORE_SIGNING_CERT, path, sizeof(path))) < 0 ||
	    (e = util_write_file_atomic(path, pem, len, 0644)) < 0)
		return e;
	if (env_b64_encode(der, (size_t)n, &b64) < 0)
		return -ENOMEM;
	free(r->signing_cert);
	r->signing_cert = b64;
	return write_recording(s, r);
}

int store_load_destination_key(store_t *s)
{
	char path[PATH_MAX];
	uint8_t der[ENV_RSA_DER_MAX];
	const char *b64, *id;
	size_t len;
	json_t *o;
	int e;

	if (!s)
		return -EINVAL;
	if ((e = pathf(path, sizeof(path), "%s/destination-key.json", s->data)) < 0)
		return e;
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (!o)
		return access(path, F_OK) == 0 ? -EBADMSG : -ENOENT;
	b64 = json_string_value(json_object_get(o, "public_key"));
	id = json_string_value(json_object_get(o, "key_id"));
	e = b64 && id ? env_b64_decode(b64, strlen(b64), der, sizeof(der), &len) : -EBADMSG;
	if (e == 0)
		e = store_set_destination_key(s, der, len, id);
	json_decref(o);
	return e < 0 ? -EBADMSG : 0;
}
