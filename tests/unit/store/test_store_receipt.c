/* test_store_receipt.c - a receipt is in receipts.log (fsync'd) before its
 * clip is deleted; a closed recording whose clips are all receipted goes. */
#include "fixture.h"
#include "../shared/check.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t count_lines(const char *path, const char *needle)
{
	char line[1024];
	size_t n = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strchr(line, '\n') && (!needle || strstr(line, needle)))
			n++;
	fclose(f);
	return n;
}

int main(void)
{
	store_t *s = fx_open("rc");
	struct store_recording r, back;
	struct store_place off = { .reason = "button" };
	char clip1[PATH_MAX], clip2[PATH_MAX], dir[PATH_MAX], log[PATH_MAX];
	char (*ids)[STORE_ID_LEN + 1] = NULL;
	size_t n = 9;

	fx_fill(&r);
	CHECK(store_recording_begin(s, &r) == 0);
	CHECK(fx_clip(s, &r, "mkv", 100, 1) == 0);
	CHECK(fx_clip(s, &r, "mkv", 200, 2) == 0);
	CHECK(store_clip_path(s, r.id, "0001", clip1, sizeof(clip1)) == 0);
	CHECK(store_clip_path(s, r.id, "0002", clip2, sizeof(clip2)) == 0);
	snprintf(dir, sizeof(dir), "%s/recordings/%s", check_path("rc"), r.id);
	snprintf(log, sizeof(log), "%s/receipts.log", check_path("rc"));

	/* a receipt of an open recording: clip deleted, recording stays */
	CHECK(store_clip_receipted(s, r.id, "0001", "{\"clip_id\": \"0001\",\n \"ok\": true}") == 0);
	CHECK(!fx_exists(clip1) && fx_exists(clip2));
	CHECK(count_lines(log, NULL) == 1 && count_lines(log, "\"clip_id\":\"0001\"") == 1);
	CHECK(store_load(s, r.id, &back) == 0 && back.n_clips == 2);
	CHECK(back.n_clips == 2 && back.clips[0].receipted && !back.clips[1].receipted);
	store_recording_free(&back);
	CHECK(store_clip_path(s, r.id, "0001", clip1, sizeof(clip1)) == -ENOENT);
	/* a repeated receipt changes nothing */
	CHECK(store_clip_receipted(s, r.id, "0001", "{\"clip_id\":\"0001\"}") == 0);
	CHECK(count_lines(log, NULL) == 1);
	/* refused receipts */
	CHECK(store_clip_receipted(s, r.id, "0003", "{}") == -ENOENT);
	CHECK(store_clip_receipted(s, r.id, "0002", "[1]") == -EINVAL);
	CHECK(store_clip_receipted(s, r.id, "0002", "{\"a\":1,\"a\":2}") == -EINVAL);
	CHECK(store_clip_receipted(s, r.id, "0002", "{") == -EINVAL);
	CHECK(fx_exists(clip2) && count_lines(log, NULL) == 1);

	CHECK(store_recording_end(s, &r, &off) == 0);
	CHECK(fx_exists(dir));
	CHECK(store_clip_receipted(s, r.id, "0002", "{\"clip_id\":\"0002\"}") == 0);
	CHECK(count_lines(log, NULL) == 2);
	CHECK(!fx_exists(clip2) && !fx_exists(dir));
	CHECK(store_load(s, r.id, &back) == -ENOENT);
	CHECK(store_list(s, &ids, &n) == 0 && n == 0);
	free(ids);
	store_recording_free(&r);

	/* every clip receipted while recording: the end removes the recording */
	fx_fill(&r);
	CHECK(store_recording_begin(s, &r) == 0);
	CHECK(fx_clip(s, &r, "mp4", 10, 3) == 0);
	CHECK(store_clip_receipted(s, r.id, "0001", "{\"clip_id\":\"0001\"}") == 0);
	snprintf(dir, sizeof(dir), "%s/recordings/%s", check_path("rc"), r.id);
	CHECK(fx_exists(dir));
	CHECK(store_recording_end(s, &r, &off) == 0);
	CHECK(!fx_exists(dir));
	CHECK(count_lines(log, NULL) == 3);
	store_recording_free(&r);
	store_close(s);
	return check_done();
}
