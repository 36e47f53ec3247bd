/* offload.c - the camera's side of the offload (PROTOCOL.md §9): every
 * complete (or torn-and-flagged) clip, oldest recording first, in chunks that
 * resume from the controller's durable offset. A clip is deleted only after
 * the controller's signed receipt is verified against the pin and written to
 * the receipts log. */
#include "bwc/bwc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/doclink.h"
#include "shared/log.h"
#include "shared/util.h"

struct session {
	struct bwc_identity *id;
	store_t *store;
	struct doclink *link;
	struct uplink *u;
	struct offload_stats *stats;
	uint64_t chunk;
	size_t window;                /* chunk PUTs that may be unanswered (PROTOCOL.md §9.1) */
	struct dock_http h;
	char why[256];
	long link_checked_ms;         /* when the carrier was last read, and what it said */
	int link_up;
};

#define LINK_CHECK_MS 50

/* Asked before every block sent: the carrier is read at most every
 * LINK_CHECK_MS (an undock still stops the transfer within that time plus one
 * block; a lost link also fails the socket). */
static int still_docked(void *ud)
{
	struct session *s = ud;
	long now = util_monotonic_ms();

	if (s->link_checked_ms == 0 || !s->link_up || now - s->link_checked_ms >= LINK_CHECK_MS) {
		s->link_up = doclink_docked(s->link) == 1;
		s->link_checked_ms = now;
	}
	return s->link_up;
}

/* Maps an error answer to what the session does next. */
static enum offload_result on_error(struct session *s, const char *what)
{
	struct dock_error_resp e;
	char why[160];

	if (dock_decode_error(s->h.body, s->h.body_len, &e, why, sizeof(why)) < 0) {
		log_error("%s: controller answered %d with a malformed body (%s)", what, s->h.status, why);
		return OFFLOAD_RETRY;
	}
	log_warn("%s: controller refused: %s (%s)", what, dock_code_name(e.code), e.message);
	snprintf(s->stats->last_error, sizeof(s->stats->last_error), "%s", dock_code_name(e.code));
	switch (e.code) {
	case DOCK_C_NO_SPACE:
		return OFFLOAD_NO_SPACE;
	case DOCK_C_HELD:
	case DOCK_C_LOST:
	case DOCK_C_IDENTITY:
		return OFFLOAD_REFUSED;
	default:
		return OFFLOAD_RETRY;
	}
}

static enum offload_result request(struct session *s, const char *method, const char *path,
				   const char *body, int *status)
{
	int r = uplink_request(s->u, method, path, body, status, &s->h, s->why, sizeof(s->why));

	if (r != UPLINK_OK) {
		log_warn("%s", s->why);
		return still_docked(s) ? OFFLOAD_RETRY : OFFLOAD_UNDOCKED;
	}
	return OFFLOAD_DONE;
}

/* Checks a receipt against what was sent and against the pinned system. */
static int verify_receipt(struct session *s, const struct store_recording *rec,
			  const struct store_clip *clip, const struct dock_receipt *rc)
{
	char why[256];
	int r = receipt_check(&s->id->sys, s->id->serial, rec->id, clip->clip_id, clip->size,
			      clip->sha256, rc, why, sizeof(why));

	if (r < 0)
		log_error("%s; the clip is kept", why);
	return r;
}

/* Receipt verified: keep it, then (and only then) delete the clip. */
static enum offload_result receipted(struct session *s, const struct store_recording *rec,
				     const struct store_clip *clip, const struct dock_receipt *rc)
{
	char *line = NULL;
	int r;

	if (verify_receipt(s, rec, clip, rc) < 0)
		return OFFLOAD_RETRY;
	r = dock_encode_receipt(rc, &line);
	if (r == 0)
		r = store_clip_receipted(s->store, rec->id, clip->clip_id, line);
	free(line);
	if (r < 0) {
		log_error("cannot record the receipt of %s/%s: %s; the clip is kept", rec->id,
			  clip->clip_id, strerror(-r));
		return OFFLOAD_RETRY;
	}
	s->stats->clips_receipted++;
	log_info("clip %s/%s (%" PRIu64 " bytes%s) receipted by the controller and deleted",
		 rec->id, clip->clip_id, clip->size, clip->complete ? "" : ", flagged incomplete");
	return OFFLOAD_DONE;
}

static enum offload_result clip_status(struct session *s, const char *base,
				       struct dock_clip_status *st)
{
	char why[160];
	int status = 0;
	enum offload_result r = request(s, "GET", base, NULL, &status);

	if (r != OFFLOAD_DONE)
		return r;
	if (status != 200)
		return on_error(s, "clip status");
	if (dock_decode_clip_status(s->h.body, s->h.body_len, st, why, sizeof(why)) < 0) {
		log_error("malformed clip status from the controller: %s", why);
		return OFFLOAD_RETRY;
	}
	return OFFLOAD_DONE;
}

static enum offload_result link_failed(struct session *s, int r)
{
	log_warn("%s", s->why);
	if (r == UPLINK_LOCAL_FAILED)
		return OFFLOAD_RETRY;
	return still_docked(s) ? OFFLOAD_RETRY : OFFLOAD_UNDOCKED;
}

/* Sends the clip from *offset in chunks, with up to s->window of them
 * unanswered: the next chunk travels while the controller makes the one
 * before durable. *offset follows the acknowledged (durable) offset. After a
 * refused chunk nothing more is sent; the answers still due are read. */
static enum offload_result send_chunks(struct session *s, const char *base, int fd,
				       const struct store_clip *clip, uint64_t *offset)
{
	struct { uint64_t offset, len; } q[DOCK_PIPELINE];
	size_t first = 0, n = 0;
	uint64_t next = *offset;
	enum offload_result res = OFFLOAD_DONE;
	int status = 0, failed = 0, r;
	char path[256], why[160];

	while (n > 0 || (!failed && next < clip->size)) {
		struct dock_clip_status st;
		size_t k;

		if (!failed && next < clip->size && n < s->window) {
			uint64_t len = clip->size - next > s->chunk ? s->chunk : clip->size - next;
			snprintf(path, sizeof(path), "%s?offset=%" PRIu64, base, next);
			r = uplink_send_file(s->u, path, fd, next, len, still_docked, s, s->why,
					     sizeof(s->why));
			if (r != UPLINK_OK)
				return link_failed(s, r);
			k = (first + n++) % DOCK_PIPELINE;
			q[k].offset = next;
			q[k].len = len;
			next += len;
			continue;
		}
		r = uplink_read_answer(s->u, base, &status, &s->h, s->why, sizeof(s->why));
		if (r != UPLINK_OK)
			return link_failed(s, r);
		k = first;
		first = (first + 1) % DOCK_PIPELINE;
		n--;
		s->stats->bytes_sent += q[k].len;
		if (failed)
			continue;   /* answers to chunks sent after a refused one */
		failed = status;
		if (status == 409)
			continue;
		if (status != 200) {
			res = on_error(s, "clip upload");
			continue;
		}
		if (dock_decode_clip_status(s->h.body, s->h.body_len, &st, why, sizeof(why)) < 0 ||
		    st.offset != q[k].offset + q[k].len) {
			log_error("controller acknowledged an unexpected offset for %s", base);
			res = OFFLOAD_RETRY;
			continue;
		}
		*offset = st.offset;
		failed = 0;
	}
	if (failed == 409) {
		struct dock_clip_status st;
		return clip_status(s, base, &st) == OFFLOAD_DONE && st.state != DOCK_CLIP_COMMITTED
			       ? (*offset = st.offset, OFFLOAD_DONE) : OFFLOAD_RETRY;
	}
	return res;
}

static enum offload_result commit(struct session *s, const char *base,
				  const struct store_recording *rec, const struct store_clip *clip)
{
	struct dock_commit cm = { .size = clip->size, .complete = clip->complete };
	struct dock_clip_status *st;
	char path[256], why[160], *body = NULL;
	int status = 0;
	enum offload_result r;

	memcpy(cm.sha256, clip->sha256, 32);
	if (dock_encode_commit(&cm, &body) < 0)
		return OFFLOAD_RETRY;
	snprintf(path, sizeof(path), "%s/commit", base);
	r = request(s, "POST", path, body, &status);
	free(body);
	if (r != OFFLOAD_DONE)
		return r;
	if (status != 200)
		return on_error(s, "commit");
	st = calloc(1, sizeof(*st));
	if (!st)
		return OFFLOAD_RETRY;
	if (dock_decode_clip_status(s->h.body, s->h.body_len, st, why, sizeof(why)) < 0 ||
	    !st->has_receipt) {
		log_error("commit answer without a usable receipt: %s", why);
		r = OFFLOAD_RETRY;
	} else {
		r = receipted(s, rec, clip, &st->receipt);
	}
	free(st);
	return r;
}

static enum offload_result offload_clip(struct session *s, const struct store_recording *rec,
					const struct store_clip *clip)
{
	struct dock_clip_status *st = calloc(1, sizeof(*st));
	char base[160], path[PATH_MAX];
	enum offload_result r;
	uint64_t offset;
	int fd;

	if (!st)
		return OFFLOAD_RETRY;
	snprintf(base, sizeof(base), "/v1/recordings/%s/clips/%s", rec->id, clip->clip_id);
	r = clip_status(s, base, st);
	if (r == OFFLOAD_DONE && st->state == DOCK_CLIP_COMMITTED && st->has_receipt) {
		r = receipted(s, rec, clip, &st->receipt);   /* re-offload: same receipt */
		free(st);
		return r;
	}
	offset = st->offset;
	free(st);
	if (r != OFFLOAD_DONE)
		return r;
	if (store_clip_path(s->store, rec->id, clip->clip_id, path, sizeof(path)) < 0 ||
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		log_error("cannot open clip %s/%s: %s", rec->id, clip->clip_id, strerror(errno));
		return OFFLOAD_RETRY;
	}
	if (offset > 0)
		log_info("resuming %s/%s at byte %" PRIu64 " of %" PRIu64, rec->id, clip->clip_id,
			 offset, clip->size);
	r = send_chunks(s, base, fd, clip, &offset);
	close(fd);
	if (r == OFFLOAD_DONE)
		r = commit(s, base, rec, clip);
	return r;
}

static enum offload_result offload_recording(struct session *s, const char *id)
{
	struct store_recording rec;
	enum offload_result r = OFFLOAD_DONE;
	char path[128], *meta = NULL;
	int status = 0;

	if (store_load(s->store, id, &rec) < 0) {
		log_error("recording %s unreadable: skipped (kept on the camera)", id);
		return OFFLOAD_DONE;
	}
	if (store_recording_json(&rec, &meta) < 0) {
		store_recording_free(&rec);
		return OFFLOAD_RETRY;
	}
	snprintf(path, sizeof(path), "/v1/recordings/%s", id);
	r = request(s, "PUT", path, meta, &status);
	free(meta);
	if (r == OFFLOAD_DONE && status != 200)
		r = on_error(s, "recording metadata");
	for (size_t i = 0; r == OFFLOAD_DONE && i < rec.n_clips; i++) {
		if (rec.clips[i].receipted)
			continue;
		r = offload_clip(s, &rec, &rec.clips[i]);
		if (r == OFFLOAD_RETRY && !strcmp(s->stats->last_error, "hash-mismatch"))
			r = offload_clip(s, &rec, &rec.clips[i]);   /* controller discarded: once more from 0 */
	}
	store_recording_free(&rec);
	return r;
}

static void make_plan(struct session *s, char (*ids)[STORE_ID_LEN + 1], size_t n,
		      struct dock_plan *plan)
{
	memset(plan, 0, sizeof(*plan));
	for (size_t i = 0; i < n; i++) {
		struct store_recording rec;
		if (store_load(s->store, ids[i], &rec) < 0)
			continue;
		plan->recordings++;
		for (size_t k = 0; k < rec.n_clips; k++) {
			if (rec.clips[k].receipted)
				continue;
			plan->clips++;
			plan->bytes += rec.clips[k].size;
		}
		store_recording_free(&rec);
	}
}

/* How many chunks the controller lets us pipeline: the plan answer's
 * "pipeline" member (1 if absent: a controller that closes on pipelining). */
static size_t plan_window(struct session *s)
{
	json_t *o = json_loadb(s->h.body ? s->h.body : "", s->h.body_len, 0, NULL);
	json_t *p = json_object_get(o, "pipeline");
	json_int_t w = json_is_integer(p) ? json_integer_value(p) : 1;

	json_decref(o);
	if (w < 1)
		w = 1;
	if (w > DOCK_PIPELINE)
		w = DOCK_PIPELINE;
	if (w > 1)
		log_info("the controller takes %d chunks at a time", (int)w);
	return (size_t)w;
}

enum offload_result offload_all(struct bwc_identity *id, store_t *store, struct doclink *link,
				struct uplink *u, uint64_t chunk, struct offload_stats *stats)
{
	struct session s = { .id = id, .store = store, .link = link, .u = u, .stats = stats,
			     .chunk = chunk, .window = 1 };

	u->keep_going = still_docked;
	u->keep_going_ud = &s;
	char (*ids)[STORE_ID_LEN + 1] = NULL;
	enum offload_result r = OFFLOAD_DONE;
	struct dock_plan plan;
	char *body = NULL;
	size_t n = 0;
	int status, rc;

	stats->last_error[0] = 0;
	rc = store_recover(store);
	if (rc > 0)
		log_warn("%d clip(s) torn by a crash or power loss: kept and flagged incomplete", rc);
	if (store_list(store, &ids, &n) < 0) {
		log_error("cannot list the recording store");
		return OFFLOAD_RETRY;
	}
	make_plan(&s, ids, n, &plan);
	stats->clips_pending = plan.clips;
	stats->bytes_pending = plan.bytes;
	dock_http_init(&s.h, DOCK_HTTP_RESPONSE, DOCK_MAX_BODY);
	if (plan.clips > 0 && dock_encode_plan(&plan, &body) == 0) {
		log_info("offloading %" PRIu64 " clip(s) of %" PRIu64 " recording(s), %" PRIu64 " bytes",
			 plan.clips, plan.recordings, plan.bytes);
		r = request(&s, "POST", "/v1/offload/plan", body, &status);
		if (r == OFFLOAD_DONE && status != 200)
			r = on_error(&s, "offload plan");
		if (r == OFFLOAD_DONE)
			s.window = plan_window(&s);
	}
	free(body);
	for (size_t i = 0; r == OFFLOAD_DONE && plan.clips > 0 && i < n; i++)
		r = offload_recording(&s, ids[i]);
	free(ids);
	dock_http_reset(&s.h);
	u->keep_going = NULL;
	return r;
}
