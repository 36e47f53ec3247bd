/* test_store_roundtrip.c - a recording written through the recorder side
 * reads back with exact fields; recording.json and the document for the
 * controller follow the schema; store_list is oldest first. */
#include "fixture.h"
#include "../shared/check.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int only_keys(json_t *o, const char *const *keys)
{
	size_t n = 0;

	if (!json_is_object(o))
		return 0;
	for (; keys[n]; n++)
		if (!json_object_get(o, keys[n]))
			return 0;
	return json_object_size(o) == n;
}

static int iso_ok(json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == 20 && s[4] == '-' && s[10] == 'T' && s[19] == 'Z';
}

static int hex64_ok(json_t *v)
{
	const char *s = json_string_value(v);

	return s && strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static void check_place(json_t *p, int with_location)
{
	static const char *const keys[] = { "reason", "time", "location", NULL };
	static const char *const loc[] = { "latitude", "longitude", NULL };

	CHECK(only_keys(p, keys));
	CHECK(json_is_string(json_object_get(p, "reason")));
	CHECK(iso_ok(json_object_get(p, "time")));
	if (with_location) {
		json_t *l = json_object_get(p, "location");
		CHECK(only_keys(l, loc));
		CHECK(fabs(json_number_value(json_object_get(l, "latitude")) - 55.7) < 1e-9);
		CHECK(fabs(json_number_value(json_object_get(l, "longitude")) - 13.19) < 1e-9);
	} else {
		CHECK(json_is_null(json_object_get(p, "location")));
	}
}

/* The recording.json schema; with_receipted: camera copy (1) or controller copy (0). */
static void check_schema(json_t *o, int with_receipted, size_t n_clips)
{
	static const char *const keys[] = { "recording_id", "serial", "model", "firmware",
					    "user_id", "timezone", "trigger_on", "trigger_off",
					    "start", "stop", "clips", NULL };
	static const char *const ckeys[] = { "clip_id", "container", "start", "stop", "size",
					     "sha256", "complete", "receipted", NULL };
	static const char *const ckeys_doc[] = { "clip_id", "container", "start", "stop", "size",
						 "sha256", "complete", NULL };
	json_t *clips = json_object_get(o, "clips"), *c;
	size_t i;

	CHECK(only_keys(o, keys));
	CHECK(json_string_length(json_object_get(o, "recording_id")) == 36);
	CHECK(strcmp(json_string_value(json_object_get(o, "serial")), "RIG00001") == 0);
	CHECK(strcmp(json_string_value(json_object_get(o, "model")), "BWC-1000") == 0);
	CHECK(strcmp(json_string_value(json_object_get(o, "firmware")), "0.1.0") == 0);
	CHECK(strcmp(json_string_value(json_object_get(o, "user_id")), "officer-17") == 0);
	CHECK(strcmp(json_string_value(json_object_get(o, "timezone")), "Europe/Stockholm") == 0);
	check_place(json_object_get(o, "trigger_on"), 1);
	check_place(json_object_get(o, "trigger_off"), 0);
	CHECK(iso_ok(json_object_get(o, "start")));
	CHECK(iso_ok(json_object_get(o, "stop")));
	CHECK(json_array_size(clips) == n_clips);
	json_array_foreach(clips, i, c) {
		CHECK(only_keys(c, with_receipted ? ckeys : ckeys_doc));
		CHECK(json_string_length(json_object_get(c, "clip_id")) == 4);
		CHECK(iso_ok(json_object_get(c, "start")) && iso_ok(json_object_get(c, "stop")));
		CHECK(json_is_integer(json_object_get(c, "size")));
		CHECK(hex64_ok(json_object_get(c, "sha256")));
		CHECK(json_is_true(json_object_get(c, "complete")));
		if (with_receipted)
			CHECK(json_is_false(json_object_get(c, "receipted")));
	}
}

static void roundtrip(void)
{
	store_t *s = fx_open("rt");
	struct store_recording r, back;
	struct store_place off = { .reason = "button" };
	uint8_t buf[5000], h1[32], h2[32];
	char path[PATH_MAX], *doc = NULL;
	json_t *o;

	fx_fill(&r);
	CHECK(store_recording_begin(s, &r) == 0);
	CHECK(strlen(r.id) == 36 && r.id[14] == '4');
	CHECK(r.start > 0 && r.trigger_on.time == r.start);
	CHECK(fx_clip(s, &r, "mkv", 1000, 1) == 0);
	CHECK(fx_clip(s, &r, "mp4", 5000, 2) == 0);
	CHECK(r.n_clips == 2);
	CHECK(store_recording_end(s, &r, &off) == 0);
	CHECK(r.closed && r.stop >= r.start);
	fx_bytes(buf, 1000, 1);
	fx_sha256(buf, 1000, h1);
	fx_bytes(buf, 5000, 2);
	fx_sha256(buf, 5000, h2);

	CHECK(store_load(s, r.id, &back) == 0);
	CHECK(strcmp(back.id, r.id) == 0);
	CHECK(strcmp(back.serial, "RIG00001") == 0 && strcmp(back.model, "BWC-1000") == 0);
	CHECK(strcmp(back.firmware, "0.1.0") == 0 && strcmp(back.user_id, "officer-17") == 0);
	CHECK(strcmp(back.timezone, "Europe/Stockholm") == 0);
	CHECK(strcmp(back.trigger_on.reason, "button") == 0 && back.trigger_on.has_location);
	CHECK(back.trigger_on.latitude == 55.7 && back.trigger_on.longitude == 13.19);
	CHECK(back.trigger_on.time == r.start && back.start == r.start);
	CHECK(back.closed && strcmp(back.trigger_off.reason, "button") == 0);
	CHECK(!back.trigger_off.has_location && back.stop == r.stop);
	CHECK(back.n_clips == 2);
	if (back.n_clips == 2) {
		CHECK(strcmp(back.clips[0].clip_id, "0001") == 0);
		CHECK(strcmp(back.clips[1].clip_id, "0002") == 0);
		CHECK(strcmp(back.clips[0].container, "mkv") == 0);
		CHECK(strcmp(back.clips[1].container, "mp4") == 0);
		CHECK(back.clips[0].size == 1000 && back.clips[1].size == 5000);
		CHECK(memcmp(back.clips[0].sha256, h1, 32) == 0);
		CHECK(memcmp(back.clips[1].sha256, h2, 32) == 0);
		CHECK(back.clips[0].complete && back.clips[1].complete);
		CHECK(!back.clips[0].receipted && !back.clips[1].receipted);
		CHECK(back.clips[0].start <= back.clips[0].stop);
	}
	CHECK(store_clip_path(s, r.id, "0002", path, sizeof(path)) == 0);
	CHECK(strstr(path, "/clip-0002.mp4") && fx_exists(path));
	CHECK(store_clip_path(s, r.id, "0003", path, sizeof(path)) == -ENOENT);

	o = fx_json("rt", r.id);
	CHECK(o != NULL);
	check_schema(o, 1, 2);
	json_decref(o);
	CHECK(store_recording_json(&back, &doc) == 0);
	o = doc ? json_loads(doc, JSON_REJECT_DUPLICATES, NULL) : NULL;
	CHECK(o != NULL);
	check_schema(o, 0, 2);
	CHECK(doc && !strstr(doc, "receipted"));
	json_decref(o);
	free(doc);
	store_recording_free(&back);
	store_recording_free(&r);
	store_close(s);
}

static void gnss_and_bookmarks(void)
{
	store_t *s = fx_open("extra");
	struct store_recording r, back;
	struct store_place off = { .reason = "holster" };
	json_t *o;

	fx_fill(&r);
	r.extra_json = strdup("{\"gnss\":[{\"time\":\"2026-11-23T10:00:00Z\",\"latitude\":55.7,"
			      "\"longitude\":13.19}],\"bookmarks\":[{\"time\":\"2026-11-23T10:00:05Z\","
			      "\"label\":\"suspect left\"}]}");
	CHECK(store_recording_begin(s, &r) == 0);
	CHECK(store_recording_end(s, &r, &off) == 0);
	CHECK(store_load(s, r.id, &back) == 0);
	CHECK(back.n_bookmarks == 1 && back.extra_json && strstr(back.extra_json, "suspect left"));
	o = fx_json("extra", r.id);
	CHECK(json_array_size(json_object_get(o, "gnss")) == 1);
	CHECK(json_array_size(json_object_get(o, "bookmarks")) == 1);
	json_decref(o);
	store_recording_free(&back);
	store_recording_free(&r);

	fx_fill(&r);   /* only gnss and bookmarks may come in extra_json */
	r.extra_json = strdup("{\"clips\":[]}");
	CHECK(store_recording_begin(s, &r) == -EINVAL);
	store_recording_free(&r);
	store_close(s);
}

/* Sets start (and stop) of a closed recording by editing its recording.json. */
static void set_start(const char *id, const char *iso)
{
	char path[PATH_MAX];
	json_t *o = fx_json("list", id);

	json_object_set_new(o, "start", json_string(iso));
	json_object_set_new(o, "stop", json_string(iso));
	json_object_set_new(json_object_get(o, "trigger_off"), "time", json_string(iso));
	snprintf(path, sizeof(path), "%s/recordings/%s/recording.json", check_path("list"), id);
	CHECK(json_dump_file(o, path, JSON_COMPACT) == 0);
	json_decref(o);
}

static void list_order(void)
{
	store_t *s = fx_open("list");
	struct store_recording r[4];
	struct store_place off = { .reason = "button" };
	char (*ids)[STORE_ID_LEN + 1] = NULL;
	size_t n = 0;
	static const char *const starts[4] = { "2026-01-03T00:00:00Z", "2026-01-01T00:00:00Z",
					       "2026-01-02T00:00:00Z", "2026-01-02T00:00:00Z" };

	CHECK(store_list(s, &ids, &n) == 0 && n == 0);
	free(ids);
	for (int i = 0; i < 4; i++) {
		fx_fill(&r[i]);
		CHECK(store_recording_begin(s, &r[i]) == 0);
		CHECK(store_recording_end(s, &r[i], &off) == 0);
		set_start(r[i].id, starts[i]);
	}
	CHECK(store_list(s, &ids, &n) == 0 && n == 4);
	if (n == 4) {
		int lo = strcmp(r[2].id, r[3].id) < 0 ? 2 : 3;   /* same start: by id */
		CHECK(strcmp(ids[0], r[1].id) == 0);
		CHECK(strcmp(ids[1], r[lo].id) == 0);
		CHECK(strcmp(ids[2], r[5 - lo].id) == 0);
		CHECK(strcmp(ids[3], r[0].id) == 0);
	}
	free(ids);
	for (int i = 0; i < 4; i++)
		store_recording_free(&r[i]);
	store_close(s);
}

int main(void)
{
	roundtrip();
	gnss_and_bookmarks();
	list_order();
	return check_done();
}
