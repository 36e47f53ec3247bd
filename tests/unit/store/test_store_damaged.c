/* test_store_damaged.c - a damaged recording.json is refused with -EBADMSG
 * and nothing of that recording is deleted, by any call. */
#include "fixture.h"
#include "../shared/check.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const damages[][2] = {
	{ "\"serial\":\"RIG00001\"", "\"serial\":\"RIG00001\",\"serial\":\"X\"" },  /* duplicate */
	{ "\"serial\":\"RIG00001\"", "\"serial\":17" },                            /* type */
	{ "\"serial\":\"RIG00001\"",
	  "\"serial\":\"RIG0000000000000000000000000000000000000000000000000000000000000001\"" },
	{ "\"serial\":\"RIG00001\"", "\"serial\":\"RIG\\u0000001\"" },              /* NUL */
	{ "\"model\":", "\"colour\":\"red\",\"model\":" },                          /* unknown */
	{ "\"start\":\"", "\"start\":\"yesterday\",\"x\":\"" },
	{ "\"complete\":true", "\"complete\":1" },
	{ "\"size\":100", "\"size\":-100" },
	{ "\"container\":\"mkv\"", "\"container\":\"avi\"" },
	{ "\"clip_id\":\"0001\"", "\"clip_id\":\"1\"" },
	{ "\"latitude\":55.7", "\"latitude\":555.7" },
	{ "\"trigger_off\":null", "\"trigger_off\":{}" },
	{ "}]}", "}]" },                                                            /* truncated */
};

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	CHECK(f && fputs(text, f) >= 0);
	if (f)
		fclose(f);
}

int main(void)
{
	store_t *s = fx_open("dmg");
	struct store_recording r, back;
	char json[PATH_MAX], clip[PATH_MAX], *good = NULL, *bad;
	char (*ids)[STORE_ID_LEN + 1] = NULL;
	size_t n = 0, len;
	FILE *f;

	fx_fill(&r);
	CHECK(store_recording_begin(s, &r) == 0);
	CHECK(fx_clip(s, &r, "mkv", 100, 1) == 0);
	snprintf(json, sizeof(json), "%s/recordings/%s/recording.json", check_path("dmg"), r.id);
	snprintf(clip, sizeof(clip), "%s/recordings/%s/clip-0001.mkv", check_path("dmg"), r.id);
	f = fopen(json, "r");
	CHECK(f && getline(&good, &len, f) > 0);
	if (f)
		fclose(f);
	for (size_t i = 0; good && i < sizeof(damages) / sizeof(damages[0]); i++) {
		const char *at = strstr(good, damages[i][0]);
		CHECK(at != NULL);
		if (!at)
			continue;
		bad = malloc(strlen(good) + strlen(damages[i][1]) + 1);
		sprintf(bad, "%.*s%s%s", (int)(at - good), good, damages[i][1],
			at + strlen(damages[i][0]));
		write_text(json, bad);
		free(bad);
		if (store_load(s, r.id, &back) != -EBADMSG) {
			fprintf(stderr, "damage %zu not refused\n", i);
			CHECK(0);
		}
		CHECK(store_recover(s) == 0);
		CHECK(store_clip_receipted(s, r.id, "0001", "{}") == -EBADMSG);
		CHECK(store_list(s, &ids, &n) == 0 && n == 1 && strcmp(ids[0], r.id) == 0);
		free(ids);
		CHECK(fx_exists(json) && fx_exists(clip));
	}
	/* restored: readable again */
	write_text(json, good);
	CHECK(store_load(s, r.id, &back) == 0);
	store_recording_free(&back);
	free(good);
	store_recording_free(&r);
	store_close(s);
	return check_done();
}
