/* test_store_args.c - every public function of store.h refuses NULL, empty,
 * malformed and oversized arguments with -EINVAL (or a name-too-long code). */
#include "fixture.h"
#include "../shared/check.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define ID "0b7c4f7e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"

int main(void)
{
	store_t *s = fx_open("args"), *t = NULL;
	struct store_recording r, back;
	struct store_place off = { .reason = "button" }, badoff = { .reason = "" };
	char path[PATH_MAX], longp[PATH_MAX + 10], *doc = NULL;
	char (*ids)[STORE_ID_LEN + 1] = NULL;
	size_t n;

	memset(longp, 'a', sizeof(longp) - 1);
	longp[0] = '/';
	longp[sizeof(longp) - 1] = 0;
	CHECK(store_open(NULL, &t) == -EINVAL);
	CHECK(store_open(check_path("x"), NULL) == -EINVAL);
	CHECK(store_open("", &t) == -EINVAL);
	CHECK(store_open(longp, &t) == -EINVAL && t == NULL);
	store_close(NULL);
	store_recording_free(NULL);

	CHECK(store_recording_begin(NULL, &r) == -EINVAL);
	CHECK(store_recording_begin(s, NULL) == -EINVAL);
	fx_fill(&r);
	r.serial[0] = 0;
	CHECK(store_recording_begin(s, &r) == -EINVAL);
	fx_fill(&r);
	memset(r.user_id, 'u', sizeof(r.user_id));   /* not terminated */
	CHECK(store_recording_begin(s, &r) == -EINVAL);
	fx_fill(&r);
	r.timezone[3] = '\n';
	CHECK(store_recording_begin(s, &r) == -EINVAL);
	fx_fill(&r);
	r.trigger_on.latitude = 91;
	CHECK(store_recording_begin(s, &r) == -EINVAL);
	fx_fill(&r);
	r.extra_json = strdup("{\"gnss\":[{\"time\":\"x\"}]}");
	CHECK(store_recording_begin(s, &r) == -EINVAL);
	store_recording_free(&r);

	/* clip and end calls without a recording begun by this store */
	fx_fill(&r);
	memcpy(r.id, ID, sizeof(r.id));
	CHECK(store_clip_begin(s, &r, "mkv", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_end(s, &r) == -EINVAL);
	CHECK(store_recording_end(s, &r, &off) == -EINVAL);

	fx_fill(&r);
	CHECK(store_recording_begin(s, &r) == 0);
	CHECK(store_recording_begin(s, &r) == -EBUSY);   /* one recording at a time */
	CHECK(store_clip_begin(NULL, &r, "mkv", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_begin(s, NULL, "mkv", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_begin(s, &r, NULL, path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_begin(s, &r, "avi", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_begin(s, &r, "mkv", NULL, sizeof(path)) == -EINVAL);
	CHECK(store_clip_begin(s, &r, "mkv", path, 0) == -EINVAL);
	CHECK(store_clip_begin(s, &r, "mkv", path, 8) == -ENAMETOOLONG);
	CHECK(store_clip_end(s, &r) == -EINVAL);   /* no clip open */
	CHECK(store_clip_end(NULL, &r) == -EINVAL);
	CHECK(store_clip_end(s, NULL) == -EINVAL);
	CHECK(store_recording_end(s, &r, NULL) == -EINVAL);
	CHECK(store_recording_end(s, &r, &badoff) == -EINVAL);
	CHECK(store_recording_end(NULL, &r, &off) == -EINVAL);
	CHECK(store_recording_end(s, &r, &off) == 0);

	CHECK(store_recover(NULL) == -EINVAL);
	CHECK(store_list(NULL, &ids, &n) == -EINVAL);
	CHECK(store_list(s, NULL, &n) == -EINVAL);
	CHECK(store_list(s, &ids, NULL) == -EINVAL);
	CHECK(store_load(NULL, r.id, &back) == -EINVAL);
	CHECK(store_load(s, NULL, &back) == -EINVAL);
	CHECK(store_load(s, r.id, NULL) == -EINVAL);
	CHECK(store_load(s, "../../etc", &back) == -EINVAL);
	CHECK(store_load(s, ID "0", &back) == -EINVAL);
	CHECK(store_load(s, "0B7C4F7E-1C2D-4E5F-8A9B-0C1D2E3F4A5B", &back) == -EINVAL);
	CHECK(store_load(s, ID, &back) == -ENOENT);
	CHECK(store_recording_json(NULL, &doc) == -EINVAL);
	CHECK(store_recording_json(&r, NULL) == -EINVAL);
	CHECK(store_clip_path(NULL, r.id, "0001", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, NULL, "0001", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, r.id, NULL, path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, r.id, "1", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, r.id, "0000", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, r.id, "00a1", path, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, r.id, "0001", NULL, sizeof(path)) == -EINVAL);
	CHECK(store_clip_path(s, r.id, "0001", path, 0) == -EINVAL);
	CHECK(store_clip_receipted(NULL, r.id, "0001", "{}") == -EINVAL);
	CHECK(store_clip_receipted(s, NULL, "0001", "{}") == -EINVAL);
	CHECK(store_clip_receipted(s, r.id, NULL, "{}") == -EINVAL);
	CHECK(store_clip_receipted(s, r.id, "0001", NULL) == -EINVAL);
	{
		char *big = malloc(70000);
		memset(big, ' ', 69999);
		big[0] = '{';
		big[69997] = '}';
		big[69999] = 0;
		CHECK(store_clip_receipted(s, r.id, "0001", big) == -EINVAL);
		free(big);
	}
	memcpy(back.id, "not-an-id", 10);
	store_recording_free(&r);
	store_close(s);
	return check_done();
}
