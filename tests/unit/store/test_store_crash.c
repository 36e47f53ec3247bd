/* test_store_crash.c - a recorder killed in the middle of a clip leaves a
 * torn .part that store_recover flags incomplete (size and SHA-256 of what is
 * there) and a recording it closes; a .part whose writer lives is left alone. */
#include "fixture.h"
#include "../shared/check.h"

#include <signal.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TORN 12345

/* Child: one complete clip, then a clip cut off mid-write (no clip_end). */
static void crashing_recorder(int out_fd)
{
	store_t *s = fx_open("crash");
	struct store_recording r;
	char path[PATH_MAX];
	uint8_t buf[TORN];

	fx_fill(&r);
	if (store_recording_begin(s, &r) < 0 || fx_clip(s, &r, "mkv", 777, 3) < 0 ||
	    store_clip_begin(s, &r, "mkv", path, sizeof(path)) < 0)
		_exit(1);
	fx_bytes(buf, sizeof(buf), 4);
	if (fx_write(path, buf, sizeof(buf)) < 0 ||
	    write(out_fd, r.id, STORE_ID_LEN) != STORE_ID_LEN)
		_exit(1);
	/* A crash: no clip_end, no recording_end, no clean-up of any kind. */
	raise(SIGKILL);
	_exit(1);
}

static void torn_clip(void)
{
	char id[STORE_ID_LEN + 1] = "", path[PATH_MAX];
	struct store_recording r;
	uint8_t buf[TORN], hash[32];
	int fds[2], status;
	store_t *s;
	pid_t pid;

	check_tmpdir();   /* one scratch directory for both processes */
	CHECK(pipe(fds) == 0);
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		crashing_recorder(fds[1]);
	}
	close(fds[1]);
	CHECK(read(fds[0], id, STORE_ID_LEN) == STORE_ID_LEN);
	close(fds[0]);
	CHECK(waitpid(pid, &status, 0) == pid && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);

	s = fx_open("crash");
	snprintf(path, sizeof(path), "%s/recordings/%s/clip-0002.mkv.part", check_path("crash"), id);
	CHECK(fx_exists(path));
	CHECK(store_load(s, id, &r) == 0 && !r.closed && r.n_clips == 1);
	store_recording_free(&r);

	CHECK(store_recover(s) == 1);
	CHECK(!fx_exists(path));
	path[strlen(path) - 5] = 0;
	CHECK(fx_exists(path));
	fx_bytes(buf, sizeof(buf), 4);
	fx_sha256(buf, sizeof(buf), hash);
	CHECK(store_load(s, id, &r) == 0);
	CHECK(r.n_clips == 2);
	if (r.n_clips == 2) {
		CHECK(r.clips[0].complete && r.clips[0].size == 777);
		CHECK(strcmp(r.clips[1].clip_id, "0002") == 0);
		CHECK(!r.clips[1].complete && r.clips[1].size == TORN);
		CHECK(memcmp(r.clips[1].sha256, hash, 32) == 0);
		CHECK(r.clips[1].start >= r.clips[0].stop);
		CHECK(r.closed && strcmp(r.trigger_off.reason, "recorder-stopped") == 0);
		CHECK(r.trigger_off.time == r.clips[1].stop && r.stop == r.clips[1].stop);
	}
	store_recording_free(&r);
	CHECK(store_recover(s) == 0);   /* nothing left to do */
	store_close(s);
}

/* Recorder and daemon in one process: flock locks are per open file, so the
 * recorder's lock is seen as held. */
static void live_writer(void)
{
	store_t *rec = fx_open("live"), *daemon = fx_open("live");
	struct store_recording r, back;
	struct store_place off = { .reason = "button" };
	char path[PATH_MAX];
	uint8_t buf[4096];

	fx_fill(&r);
	CHECK(store_recording_begin(rec, &r) == 0);
	CHECK(store_clip_begin(rec, &r, "mp4", path, sizeof(path)) == 0);
	CHECK(strstr(path, "clip-0001.mp4.part") != NULL);
	fx_bytes(buf, sizeof(buf), 5);
	CHECK(fx_write(path, buf, sizeof(buf)) == 0);
	CHECK(store_recover(daemon) == 0);
	CHECK(fx_exists(path));
	CHECK(store_load(daemon, r.id, &back) == 0 && back.n_clips == 0 && !back.closed);
	store_recording_free(&back);
	CHECK(store_clip_begin(rec, &r, "mp4", path, sizeof(path)) == -EBUSY);
	CHECK(store_clip_end(rec, &r) == 0);
	/* between clips the recording stays open while the recorder lives */
	CHECK(store_recover(daemon) == 0);
	CHECK(store_load(daemon, r.id, &back) == 0 && back.n_clips == 1 && !back.closed);
	CHECK(back.n_clips == 1 && back.clips[0].complete && back.clips[0].size == sizeof(buf));
	store_recording_free(&back);
	CHECK(store_recording_end(rec, &r, &off) == 0);
	CHECK(store_load(daemon, r.id, &back) == 0 && back.closed);
	CHECK(strcmp(back.trigger_off.reason, "button") == 0);
	store_recording_free(&back);
	store_recording_free(&r);
	store_close(rec);
	store_close(daemon);
}

/* The store closed by the recorder without clip_end (e.g. encoder error and
 * exit): the lock goes with the descriptor, the clip is recovered. */
static void abandoned_part(void)
{
	store_t *rec = fx_open("abandon"), *daemon;
	struct store_recording r, back;
	char path[PATH_MAX], id[STORE_ID_LEN + 1];

	fx_fill(&r);
	CHECK(store_recording_begin(rec, &r) == 0);
	CHECK(store_clip_begin(rec, &r, "mkv", path, sizeof(path)) == 0);
	memcpy(id, r.id, sizeof(id));
	store_recording_free(&r);
	store_close(rec);
	daemon = fx_open("abandon");
	CHECK(store_recover(daemon) == 1);
	CHECK(store_load(daemon, id, &back) == 0 && back.n_clips == 1 && back.closed);
	CHECK(back.n_clips == 1 && !back.clips[0].complete && back.clips[0].size == 0);
	store_recording_free(&back);
	store_close(daemon);
}

int main(void)
{
	torn_clip();
	live_writer();
	abandoned_part();
	return check_done();
}
