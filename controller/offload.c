/* offload.c - receiving recordings from docked cameras into the staging area.
 * Clip bytes stream from TLS into a per-camera incomplete file; a chunk is
 * acknowledged only once it is on disk (fdatasync) and its new durable size is
 * in the registry. At commit the whole-file SHA-256 is checked, the receipt is
 * signed, the file moves atomically to the ready queue and the receipt is
 * issued. All disk work
 * runs in the thread pool. Reading goes on while it runs: one buffer fills
 * while the other is written, and the next chunk of a clip is received while
 * the one before is made durable (pipelining, PROTOCOL.md §9.1). Memory per
 * connection stays bounded: two write buffers; a third chunk or a full second
 * buffer stops reading until the disk catches up (backpressure).
 *
 * Staging layout: DIR/incoming/SERIAL/RID/CID.part, DIR/ready/SERIAL/RID/CID.EXT */
#include "controller/conn.h"

#include <wolfssl/wolfcrypt/sha256.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/util.h"

#define BUF_CAP (WRITE_FLUSH + 2 * READ_CHUNK)

/* ---- paths ---------------------------------------------------------------- */

static int staged_path(const struct ctl *ctl, const char *area, const char *serial,
		       const char *rid, const char *leaf, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s/%s/%s%s%s", ctl->cfg.staging_dir, area, serial, rid,
			 leaf ? "/" : "", leaf ? leaf : "");

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static int incoming_path(const struct ctl *ctl, const char *serial, const char *rid,
			 const char *cid, char *out, size_t cap)
{
	char leaf[16];

	snprintf(leaf, sizeof(leaf), "%s.part", cid);
	return staged_path(ctl, "incoming", serial, rid, leaf, out, cap);
}

static int ready_path(const struct ctl *ctl, const char *serial, const char *rid,
		      const char *cid, const char *container, char *out, size_t cap)
{
	char leaf[16];

	snprintf(leaf, sizeof(leaf), "%s.%s", cid, container);
	return staged_path(ctl, "ready", serial, rid, leaf, out, cap);
}

/* ---- life cycle ----------------------------------------------------------- */

void offload_init(struct conn *c)
{
	memset(&c->io, 0, sizeof(c->io));
	c->io.fd = -1;
}

static void io_close_file(struct offload_io *io)
{
	if (io->fd >= 0)
		close(io->fd);
	io->fd = -1;
	io->fd_key[0] = 0;
}

static void run_drop(struct offload_io *io)
{
	bulkhash_free(io->run);
	io->run = NULL;
	io->run_at = 0;
}

void offload_free(struct conn *c)
{
	run_drop(&c->io);
	io_close_file(&c->io);
	free(c->io.buf);
	free(c->io.wbuf);
	free(c->io.answer);
	c->io.buf = c->io.wbuf = NULL;
	c->io.answer = NULL;
}

/* ---- who may offload ------------------------------------------------------ */

/* Only an enrolled camera in good standing, presenting its system certificate,
 * may send recording bytes: a held or lost camera keeps its data. */
static enum dock_code may_offload(struct conn *c, enum dock_standing *st, char *msg, size_t cap)
{
	struct ctl *ctl = c->l->ctl;
	struct camera_rec rec;

	*st = DOCK_S_UNKNOWN;
	if (c->kind != PEER_LDEVID) {
		snprintf(msg, cap, "offload needs this system's certificate: enrol first");
		return DOCK_C_IDENTITY;
	}
	if (registry_get(ctl->reg, c->peer_info.serial, &rec) != 0) {
		snprintf(msg, cap, "camera %s is not in this system's registry", c->peer_info.serial);
		return DOCK_C_IDENTITY;
	}
	if (rec.state == CAM_LOST) {
		*st = DOCK_S_LOST;
		snprintf(msg, cap, "camera is reported lost");
		return DOCK_C_LOST;
	}
	*st = policy_time_standing(time(NULL), c->peer_info.not_after,
				   (long)ctl->cfg.grace_days * DAY_SECONDS);
	if (rec.state == CAM_HELD || *st == DOCK_S_HELD) {
		*st = DOCK_S_HELD;
		snprintf(msg, cap, "camera is held: no recording is accepted until an administrator "
			 "runs bwcctl camera accept %s", c->peer_info.serial);
		return DOCK_C_HELD;
	}
	if (rec.state != CAM_ACTIVE) {
		snprintf(msg, cap, "camera is %s: renew its certificate first", cam_state_name(rec.state));
		return DOCK_C_IDENTITY;
	}
	return DOCK_C_OK;
}

static void refuse(struct chunk *k, enum dock_code code, enum dock_standing st,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void refuse(struct chunk *k, enum dock_code code, enum dock_standing st,
		   const char *fmt, ...)
{
	va_list ap;

	k->refuse = code;
	k->refuse_standing = st;
	va_start(ap, fmt);
	vsnprintf(k->refuse_msg, sizeof(k->refuse_msg), fmt, ap);
	va_end(ap);
}

static int space_left(const struct ctl *ctl, uint64_t need)
{
	struct statvfs sv;
	uint64_t avail, reserve = (uint64_t)ctl->cfg.staging_reserve_mb << 20;

	if (statvfs(ctl->cfg.staging_dir, &sv) < 0)
		return 1;   /* the write itself will tell */
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	return avail >= reserve + need;
}

/* ---- receiving a chunk ---------------------------------------------------- */

static int same_clip(const struct chunk *k, const char *rid, const char *cid)
{
	return k->active && strcmp(k->rid, rid) == 0 && strcmp(k->cid, cid) == 0;
}

/* A camera that lost its dock link may still have an old connection here
 * whose TCP retransmissions arrive after it reconnected. Only the newest
 * connection may write a clip: older ones drop what they still receive. */
static void supersede_others(struct conn *c)
{
	struct chunk *rx = &c->io.rx;

	memcpy(c->io.last_rid, rx->rid, sizeof(c->io.last_rid));
	memcpy(c->io.last_cid, rx->cid, sizeof(c->io.last_cid));
	for (struct conn *o = c->l->conns; o; o = o->next) {
		if (o == c || o->kind != PEER_LDEVID || strcmp(o->peer_info.serial, c->peer_info.serial))
			continue;
		if (!strcmp(o->io.last_rid, rx->rid) && !strcmp(o->io.last_cid, rx->cid)) {
			o->io.run_void = 1;   /* even when idle: our bytes change its file */
			rx->shared = 1;
		}
		if (!same_clip(&o->io.rx, rx->rid, rx->cid) && !same_clip(&o->io.sync, rx->rid, rx->cid))
			continue;
		o->io.superseded = 1;
		rx->shared = 1;   /* its late writes may land in the file: hash it whole at commit */
		if (o->io.rx.active && o->io.rx.refuse == DOCK_C_OK)
			refuse(&o->io.rx, DOCK_C_OFFSET, DOCK_S_UNKNOWN,
			       "a newer connection of this camera writes this clip");
		log_warn("%s: an older connection still writing %s/%s is superseded", o->peer,
			 rx->rid, rx->cid);
	}
}

/* Where the next chunk of the clip must start: the durable size, or the end
 * of the unanswered chunk it is pipelined behind. Refuses it otherwise. */
static int check_offset(struct conn *c, const struct clip_rec *rec, enum dock_standing st)
{
	const struct chunk *prev = &c->io.sync;
	struct chunk *rx = &c->io.rx;

	if (!prev->active) {
		if (rx->offset == rec->offset)
			return 0;
		refuse(rx, DOCK_C_OFFSET, st, "offset %" PRIu64 " is not the durable size %" PRIu64
		       ": resume from %" PRIu64, rx->offset, rec->offset, rec->offset);
	} else if (strcmp(prev->rid, rx->rid) || strcmp(prev->cid, rx->cid)) {
		refuse(rx, DOCK_C_OFFSET, st, "a chunk sent before the answer to the previous one "
		       "must be of the same clip (%s/%s): wait for the answer", prev->rid, prev->cid);
	} else if (rx->offset != prev->offset + prev->len) {
		refuse(rx, DOCK_C_OFFSET, st, "offset %" PRIu64 " does not continue the unanswered "
		       "chunk before it (which ends at %" PRIu64 "): wait for its answer and resume "
		       "from the durable size", rx->offset, prev->offset + prev->len);
	} else {
		return 0;
	}
	return -1;
}

/* Decides, before any body byte, what happens to a clip PUT. */
static void chunk_head(struct conn *c, const struct dock_route *route, uint64_t len)
{
	struct ctl *ctl = c->l->ctl;
	struct chunk *rx = &c->io.rx;
	struct clip_rec *rec;
	enum dock_standing st;
	enum dock_code code;
	char msg[200];
	int r;

	memset(rx, 0, sizeof(*rx));
	rx->active = 1;
	rx->refuse = DOCK_C_OK;
	rx->len = len;
	snprintf(rx->rid, sizeof(rx->rid), "%s", route->recording_id);
	snprintf(rx->cid, sizeof(rx->cid), "%s", route->clip_id);
	rx->offset = route->offset;
	if (!route->has_offset) {
		refuse(rx, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN, "PUT of clip bytes needs ?offset=N");
		return;
	}
	code = may_offload(c, &st, msg, sizeof(msg));
	if (code != DOCK_C_OK) {
		refuse(rx, code, st, "%s", msg);
		return;
	}
	rec = malloc(sizeof(*rec));
	if (!rec) {
		refuse(rx, DOCK_C_INTERNAL, st, "out of memory");
		return;
	}
	r = registry_clip_get(ctl->reg, c->peer_info.serial, rx->rid, rx->cid, rec);
	if (r == -ENOENT)
		refuse(rx, DOCK_C_UNKNOWN_RECORDING, st, "clip %s of recording %s was not announced: "
		       "send the recording's metadata first", rx->cid, rx->rid);
	else if (r < 0)
		refuse(rx, DOCK_C_UNAVAILABLE, st, "registry unavailable; try again");
	else if (rec->committed)
		refuse(rx, DOCK_C_COMMITTED, st, "clip already committed: fetch its receipt");
	else if (check_offset(c, rec, st) < 0)
		;
	else if (rx->offset + len > rec->size)
		refuse(rx, DOCK_C_BAD_REQUEST, st, "chunk ends at %" PRIu64 ", beyond the declared "
		       "clip size %" PRIu64, rx->offset + len, rec->size);
	else if (!space_left(ctl, len))
		refuse(rx, DOCK_C_NO_SPACE, st, "staging reserve of %d MiB reached: keep the "
		       "recording and retry later", ctl->cfg.staging_reserve_mb);
	else
		snprintf(rx->container, sizeof(rx->container), "%s", rec->container);
	free(rec);
	if (rx->refuse == DOCK_C_OK)
		supersede_others(c);
	if (rx->refuse == DOCK_C_NO_SPACE)
		log_warn("staging area %s below its reserve: refusing bytes from %s",
			 ctl->cfg.staging_dir, c->peer_info.serial);
}

int offload_on_head(struct dock_http *h, void *ud)
{
	struct conn *c = ud;
	struct offload_io *io = &c->io;
	struct dock_route route;
	int routed = dock_parse_route(h->path, &route) == 0;
	int chunk_put = routed && route.kind == DOCK_R_CLIP && h->method == HTTP_PUT;

	if (io->sync.active && !chunk_put) {
		/* Its answer would overtake the chunk's: the camera broke the rule. */
		io->bad_pipeline = 1;
		h->error = DOCK_C_BAD_REQUEST;
		snprintf(h->why, sizeof(h->why), "request sent before the answer to a chunk");
		return -1;
	}
	if (!routed)
		return 0;
	if (route.kind == DOCK_R_RECORDING && h->method == HTTP_PUT)
		h->max_body = DOCK_MAX_RECORDING_JSON;
	if (!chunk_put)
		return 0;
	if (!io->buf)
		io->buf = malloc(BUF_CAP);
	if (!io->wbuf)
		io->wbuf = malloc(BUF_CAP);
	if (!io->buf || !io->wbuf) {
		h->error = DOCK_C_INTERNAL;
		snprintf(h->why, sizeof(h->why), "out of memory");
		return -1;
	}
	chunk_head(c, &route, h->content_length);
	return 1;
}

int offload_on_body(void *ud, const char *at, size_t len)
{
	struct conn *c = ud;
	struct offload_io *io = &c->io;

	if (!io->rx.active || io->rx.refuse != DOCK_C_OK)
		return 0;   /* refused: the body is read and dropped */
	if (io->buf_len + len > BUF_CAP) {
		refuse(&io->rx, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "internal buffer overrun");
		return 0;
	}
	memcpy(io->buf + io->buf_len, at, len);
	io->buf_len += len;
	return 0;
}

/* Opens the staged file of a clip (thread pool). */
static int open_staged(struct conn *c, const char *rid, const char *cid)
{
	struct ctl *ctl = c->l->ctl;
	struct offload_io *io = &c->io;
	char key[sizeof(io->fd_key)], dir[PATH_MAX];
	int r;

	snprintf(key, sizeof(key), "%s/%s", rid, cid);
	if (io->fd >= 0 && strcmp(key, io->fd_key) == 0)
		return 0;
	io_close_file(io);
	if ((r = staged_path(ctl, "incoming", c->peer_info.serial, rid, NULL, dir,
			     sizeof(dir))) < 0 ||
	    (r = util_mkdir_p(dir, 0700)) < 0 ||
	    (r = incoming_path(ctl, c->peer_info.serial, rid, cid, io->path, sizeof(io->path))) < 0)
		return r;
	io->fd = open(io->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (io->fd < 0)
		return -errno;
	snprintf(io->fd_key, sizeof(io->fd_key), "%s", key);
	return 0;
}

/* Adds the bytes just written at `at` to the running hash of the clip (write
 * job). Anything unusual drops it: the commit then hashes the whole file, as
 * it always could. */
static void run_add(struct offload_io *io, const uint8_t *p, size_t len, uint64_t at)
{
	if (io->run && (strcmp(io->run_rid, io->wrid) || strcmp(io->run_cid, io->wcid) ||
			io->run_at != at || io->wshared))
		run_drop(io);
	if (!io->run) {
		if (at != 0 || io->wshared || bulkhash_new(BULK_SHA256, &io->run) < 0)
			return;
		memcpy(io->run_rid, io->wrid, sizeof(io->run_rid));
		memcpy(io->run_cid, io->wcid, sizeof(io->run_cid));
		io->run_at = 0;
	}
	if (bulkhash_update(io->run, p, len) < 0)
		run_drop(io);
	else
		io->run_at = at + len;
}

/* Writes wbuf (thread pool) and adds it to the running hash. While it runs the
 * loop fills buf; the sync job of the chunk before may run at the same time on
 * the same file. */
static void write_work(struct conn *c)
{
	struct offload_io *io = &c->io;
	size_t done = 0;
	int r = io->superseded ? -ESTALE : open_staged(c, io->wrid, io->wcid);

	/* Bytes past the durable size are from an unacknowledged chunk. A running
	 * hash that covers them no longer describes the file. */
	if (r == 0 && io->wtrunc_on) {
		if (ftruncate(io->fd, (off_t)io->wtrunc) < 0)
			r = -errno;
		if (io->run && io->run_at > io->wtrunc)
			run_drop(io);
	}
	while (r == 0 && done < io->wbuf_len) {
		ssize_t n = pwrite(io->fd, io->wbuf + done, io->wbuf_len - done,
				   (off_t)(io->wat + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			r = n < 0 ? -errno : -EIO;
		else
			done += (size_t)n;
	}
	if (r == 0)
		run_add(io, io->wbuf, io->wbuf_len, io->wat);
	else
		run_drop(io);
	io->write_error = r < 0 ? -r : 0;
}

static void refuse_io_error(struct conn *c, struct chunk *k, int err)
{
	log_error("staging write for %s %s/%s failed: %s", c->peer_info.serial, k->rid, k->cid,
		  strerror(err));
	if (err == ENOSPC || err == EDQUOT)
		refuse(k, DOCK_C_NO_SPACE, DOCK_S_UNKNOWN, "staging area full: keep the recording "
		       "and retry later");
	else
		refuse(k, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "staging write failed: %s", strerror(err));
}

static void write_done(struct conn *c);

/* Hands buf to the write job (none may run). */
static void queue_write(struct conn *c)
{
	struct offload_io *io = &c->io;
	struct chunk *rx = &io->rx;
	uint8_t *t = io->wbuf;

	io->wbuf = io->buf;
	io->buf = t;
	io->wbuf_len = io->buf_len;
	io->buf_len = 0;
	io->wat = rx->offset + rx->queued;
	io->wtrunc_on = !rx->started;
	io->wtrunc = rx->offset;
	memcpy(io->wrid, rx->rid, sizeof(io->wrid));
	memcpy(io->wcid, rx->cid, sizeof(io->wcid));
	io->wshared = rx->shared;
	rx->started = 1;
	rx->queued += io->wbuf_len;
	if (conn_queue_job(c, &io->wjob, write_work, write_done) < 0) {
		refuse(rx, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN, "controller busy; try again");
		io->wbuf_len = 0;
	}
}

int offload_blocked(const struct conn *c)
{
	return c->io.rx.active && c->io.buf_len >= WRITE_FLUSH && c->io.wjob.pending;
}

int offload_flush(struct conn *c)
{
	struct offload_io *io = &c->io;

	if (!io->rx.active || io->rx.refuse != DOCK_C_OK || io->buf_len < WRITE_FLUSH)
		return 0;
	if (io->wjob.pending)
		return 1;
	queue_write(c);
	return 0;
}

static void answer_status(struct conn *c, enum dock_clip_state state, uint64_t offset)
{
	struct dock_clip_status st = { .state = state, .offset = offset };
	char *body = NULL;

	if (dock_encode_clip_status(&st, &body) < 0) {
		conn_respond_error(c, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "out of memory");
		return;
	}
	conn_respond(c, 200, body);
	free(body);
}

/* The chunk before is durable: record its end (thread pool). It may run while
 * the next chunk is written to the same file: fdatasync covers at least every
 * byte written before it started, which includes the whole of this chunk. */
static void sync_work(struct conn *c)
{
	struct ctl *ctl = c->l->ctl;
	struct offload_io *io = &c->io;
	const struct chunk *k = &io->sync;
	int r = io->fd >= 0 ? 0 : -EBADF;

	if (r == 0 && fdatasync(io->fd) < 0)
		r = -errno;
	if (r == 0 && io->superseded)
		r = -ESTALE;   /* its offset is no longer ours to record */
	if (r == 0 && registry_clip_set_offset(ctl->reg, c->peer_info.serial, k->rid, k->cid,
					       k->container, k->offset + k->len) < 0)
		r = -EIO;
	if (r == 0) {
		registry_progress_add(ctl->reg, c->peer_info.serial, k->len, time(NULL));
		/* Durable and hashed: its pages need not stay cached (staged clips
		 * are read once, by the forwarder; a full page cache costs every
		 * later write a reclaim). */
		(void)posix_fadvise(io->fd, (off_t)k->offset, (off_t)k->len, POSIX_FADV_DONTNEED);
	}
	io->sync_error = r < 0 ? -r : 0;
}

static void sync_done(struct conn *c);

/* Moves the received chunk on: a final write, then (once the chunk before it
 * is answered) either its refusal or its sync; then the next request may come.
 * Answers go out in the order of the requests. */
static void chunk_advance(struct conn *c)
{
	struct offload_io *io = &c->io;
	struct chunk *rx = &io->rx;

	if (c->closing || !rx->active || !rx->complete)
		return;
	if (rx->refuse == DOCK_C_OK && !io->wjob.pending && (io->buf_len > 0 || !rx->started))
		queue_write(c);
	if (io->wjob.pending || io->sync.active)
		return;
	if (rx->refuse != DOCK_C_OK) {
		conn_respond_error(c, rx->refuse, rx->refuse_standing, "%s", rx->refuse_msg);
		memset(rx, 0, sizeof(*rx));
		io->buf_len = 0;
		conn_request_done(c);
		return;
	}
	io->sync = *rx;
	memset(rx, 0, sizeof(*rx));
	if (conn_queue_job(c, &io->sjob, sync_work, sync_done) < 0) {
		memset(&io->sync, 0, sizeof(io->sync));
		conn_respond_error(c, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN, "controller busy; try again");
	}
	conn_request_done(c);
}

static void write_done(struct conn *c)
{
	struct offload_io *io = &c->io;

	io->wbuf_len = 0;
	if (io->write_error && io->rx.active && io->rx.refuse == DOCK_C_OK)
		refuse_io_error(c, &io->rx, io->write_error);
	io->write_error = 0;
	chunk_advance(c);
	conn_drive(c);
}

static void sync_done(struct conn *c)
{
	struct offload_io *io = &c->io;
	struct chunk *k = &io->sync;

	if (io->sync_error) {
		refuse_io_error(c, k, io->sync_error);
		io->sync_error = 0;
		conn_respond_error(c, k->refuse, k->refuse_standing, "%s", k->refuse_msg);
		if (io->rx.active && io->rx.refuse == DOCK_C_OK)
			refuse(&io->rx, DOCK_C_OFFSET, DOCK_S_UNKNOWN, "the chunk before this one was "
			       "not stored: ask for the durable size and resume from it");
	} else {
		answer_status(c, DOCK_CLIP_PARTIAL, k->offset + k->len);
	}
	memset(k, 0, sizeof(*k));
	chunk_advance(c);
	conn_drive(c);
}

static void handle_chunk(struct conn *c)
{
	struct chunk *rx = &c->io.rx;

	if (!rx->active) {
		conn_respond_error(c, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "chunk state lost");
		conn_request_done(c);
		return;
	}
	rx->complete = 1;
	chunk_advance(c);
}

/* ---- commit ---------------------------------------------------------------- */

/* The signed receipt of the clip being committed. 0, or what ca_strerror
 * names. */
static int make_receipt(struct conn *c, const struct clip_rec *rec, char **ret)
{
	struct ctl *ctl = c->l->ctl;
	struct dock_receipt *rc = calloc(1, sizeof(*rc));
	char tbs[1024];
	uint8_t hash[32];
	int n, r;

	if (!rc)
		return CERTS_E_NOMEM;
	snprintf(rc->system_id, sizeof(rc->system_id), "%s", ctl->system_id);
	snprintf(rc->serial, sizeof(rc->serial), "%s", c->peer_info.serial);
	snprintf(rc->recording_id, sizeof(rc->recording_id), "%.36s", rec->rid);
	snprintf(rc->clip_id, sizeof(rc->clip_id), "%.4s", rec->cid);
	rc->size = c->io.commit.size;
	memcpy(rc->sha256, c->io.commit.sha256, 32);
	rc->complete = c->io.commit.complete;
	rc->time = time(NULL);
	n = dock_receipt_tbs(rc, tbs, sizeof(tbs));
	r = n < 0 || wc_Sha256Hash((const byte *)tbs, (word32)n, hash) != 0 ? CERTS_E_INPUT : 0;
	pthread_mutex_lock(&ctl->signer_lock);
	if (r == 0)
		r = ca_sign_server(&ctl->ca, ctl->signer_gen, hash, sizeof(hash), rc->sig,
				   sizeof(rc->sig), &rc->sig_len);
	memcpy(rc->signer, ctl->signer_der, ctl->signer_len);
	rc->signer_len = ctl->signer_len;
	pthread_mutex_unlock(&ctl->signer_lock);
	if (r == 0 && dock_encode_receipt(rc, ret) < 0)
		r = CERTS_E_NOMEM;
	free(rc);
	return r;
}

/* Moves the verified file to the ready queue, durably. */
static int publish(struct conn *c, struct clip_rec *rec)
{
	struct ctl *ctl = c->l->ctl;
	struct offload_io *io = &c->io;
	char dir[PATH_MAX];
	int r;

	if (fsync(io->fd) < 0)
		return -errno;
	if ((r = staged_path(ctl, "ready", rec->serial, rec->rid, NULL, dir, sizeof(dir))) < 0 ||
	    (r = util_mkdir_p(dir, 0700)) < 0 ||
	    (r = ready_path(ctl, rec->serial, rec->rid, rec->cid, rec->container, rec->path,
			    sizeof(rec->path))) < 0)
		return r;
	if (rename(io->path, rec->path) < 0)
		return -errno;
	io_close_file(io);
	if ((r = util_fsync_parent(io->path)) < 0 || (r = util_fsync_parent(rec->path)) < 0)
		return r;
	return 0;
}

static void discard_staged(struct conn *c, struct clip_rec *rec)
{
	struct offload_io *io = &c->io;

	if (ftruncate(io->fd, 0) == 0)
		fdatasync(io->fd);
	registry_clip_set_offset(c->l->ctl->reg, rec->serial, rec->rid, rec->cid, rec->container, 0);
}

static void commit_work(struct conn *c)
{
	struct ctl *ctl = c->l->ctl;
	struct offload_io *io = &c->io;
	struct clip_rec *rec = calloc(1, sizeof(*rec));
	uint8_t sha[32];
	char hex[65];
	int r;

	io->result = DOCK_C_INTERNAL;
	snprintf(io->result_msg, sizeof(io->result_msg), "commit failed; try again");
	if (!rec)
		return;
	r = registry_clip_get(ctl->reg, c->peer_info.serial, io->rid, io->cid, rec);
	if (r == 0)
		r = open_staged(c, io->rid, io->cid);
	/* What is receipted is what is on disk: exactly the durable size. Either
	 * hashed chunk by chunk from the buffers the file accepted, in file order,
	 * by this connection from byte 0 with no other connection on the clip (the
	 * running hash: the hashing overlaps the transfer instead of following
	 * it), or else the whole file is read and hashed now (a resumed clip, a
	 * clip another connection wrote: its late writes may have changed it). */
	if (r == 0 && ftruncate(io->fd, (off_t)rec->offset) < 0)
		r = -errno;
	if (r == 0 && io->run && !io->superseded && !io->run_void && io->run_at == rec->offset &&
	    !strcmp(io->run_rid, rec->rid) && !strcmp(io->run_cid, rec->cid)) {
		r = bulkhash_final(io->run, sha);
		io->hashed_running = 1;
	} else if (r == 0) {
		r = bulkhash_fd(io->fd, rec->offset, sha, NULL, NULL);
		io->hashed_running = 0;
	}
	run_drop(io);
	if (r < 0) {
		log_error("commit of %s %s/%s: %s", c->peer_info.serial, io->rid, io->cid, strerror(-r));
		goto out;
	}
	if (memcmp(sha, io->commit.sha256, 32) != 0) {
		discard_staged(c, rec);
		io->result = DOCK_C_HASH_MISMATCH;
		snprintf(io->result_msg, sizeof(io->result_msg), "the staged bytes do not have the "
			 "SHA-256 the camera declared: staged copy discarded, send the clip again");
		ctl_audit(ctl, "commit-refused", rec->serial, "recording %s clip %s: hash mismatch, "
			  "%" PRIu64 " staged bytes discarded", rec->rid, rec->cid, rec->offset);
		goto out;
	}
	dock_hex32_text(sha, hex);
	snprintf(rec->sha256_hex, sizeof(rec->sha256_hex), "%s", hex);
	rec->size = io->commit.size;
	rec->complete = io->commit.complete;
	/* Signed before anything moves: a CA process that cannot sign leaves the
	 * verified file where it was, and the camera's next commit finds it. */
	if ((r = make_receipt(c, rec, &io->answer)) < 0) {
		log_error("commit of %s %s/%s: no signed receipt: %s", c->peer_info.serial,
			  io->rid, io->cid, ca_strerror(r));
		goto out;
	}
	if ((r = publish(c, rec)) < 0) {
		log_error("commit of %s %s/%s: cannot move it to the ready queue: %s",
			  c->peer_info.serial, io->rid, io->cid, strerror(-r));
		goto out;
	}
	snprintf(rec->receipt, sizeof(rec->receipt), "%s", io->answer);
	if (registry_clip_commit(ctl->reg, rec, time(NULL)) < 0) {
		log_error("registry: cannot record the commit of %s %s/%s", rec->serial, rec->rid,
			  rec->cid);
		goto out;
	}
	ctl_audit(ctl, "commit", rec->serial, "recording %s clip %s: %" PRIu64 " bytes, sha256 %s%s, "
		  "staged in the ready queue", rec->rid, rec->cid, rec->size, hex,
		  rec->complete ? "" : " (flagged incomplete by the camera)");
	ctl_audit(ctl, "receipt", rec->serial, "signed receipt issued for recording %s clip %s",
		  rec->rid, rec->cid);
	io->result = DOCK_C_OK;
out:
	free(rec);
}

static void answer_committed(struct conn *c, const char *receipt_json, uint64_t size)
{
	struct dock_clip_status *st = calloc(1, sizeof(*st));
	char why[160], *body = NULL;

	if (!st || dock_decode_receipt(receipt_json, strlen(receipt_json), &st->receipt, why,
				       sizeof(why)) < 0) {
		free(st);
		conn_respond_error(c, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "stored receipt unreadable");
		return;
	}
	st->state = DOCK_CLIP_COMMITTED;
	st->offset = size;
	st->has_receipt = 1;
	if (dock_encode_clip_status(st, &body) < 0)
		conn_respond_error(c, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "out of memory");
	else
		conn_respond(c, 200, body);
	free(body);
	free(st);
}

static void commit_done(struct conn *c)
{
	struct offload_io *io = &c->io;

	if (io->result == DOCK_C_OK && io->answer) {
		answer_committed(c, io->answer, io->commit.size);
		log_info("%s: committed %s/%s (%" PRIu64 " bytes), receipt sent; SHA-256 %s",
			 c->peer_info.serial, io->rid, io->cid, io->commit.size, io->hashed_running ?
			 "hashed chunk by chunk as they were written" : "of the whole staged file");
		forward_wake(c->l->ctl->fwd);
	} else {
		conn_respond_error(c, io->result, DOCK_S_UNKNOWN, "%s", io->result_msg);
	}
	free(io->answer);
	io->answer = NULL;
	conn_request_done(c);
}

static void handle_commit(struct conn *c, const struct dock_route *route)
{
	struct ctl *ctl = c->l->ctl;
	struct offload_io *io = &c->io;
	struct clip_rec *rec = malloc(sizeof(*rec));
	char why[160], hex[65];
	int r;

	if (!rec) {
		conn_respond_error(c, DOCK_C_INTERNAL, DOCK_S_UNKNOWN, "out of memory");
		goto done;
	}
	if (dock_decode_commit(c->http.body, c->http.body_len, &io->commit, why, sizeof(why)) < 0) {
		conn_respond_error(c, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN, "bad commit: %s", why);
		goto done;
	}
	r = registry_clip_get(ctl->reg, c->peer_info.serial, route->recording_id, route->clip_id, rec);
	dock_hex32_text(io->commit.sha256, hex);
	if (r == -ENOENT) {
		conn_respond_error(c, DOCK_C_UNKNOWN_RECORDING, DOCK_S_UNKNOWN,
				   "clip %s of recording %s was not announced", route->clip_id,
				   route->recording_id);
	} else if (r < 0) {
		conn_respond_error(c, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN, "registry unavailable");
	} else if (rec->committed) {
		/* Re-offload of a committed clip: the same receipt, nothing staged twice. */
		if (rec->size == io->commit.size && strcmp(rec->sha256_hex, hex) == 0)
			answer_committed(c, rec->receipt, rec->size);
		else
			conn_respond_error(c, DOCK_C_COMMITTED, DOCK_S_UNKNOWN, "clip already "
					   "committed with another size or hash");
	} else if (io->commit.size != rec->offset || io->commit.size != rec->size) {
		conn_respond_error(c, DOCK_C_OFFSET, DOCK_S_UNKNOWN, "commit of %" PRIu64 " bytes but "
				   "%" PRIu64 " are durable (declared %" PRIu64 "): resume from %" PRIu64,
				   io->commit.size, rec->offset, rec->size, rec->offset);
	} else {
		memcpy(io->rid, route->recording_id, sizeof(io->rid));
		memcpy(io->cid, route->clip_id, sizeof(io->cid));
		snprintf(io->container, sizeof(io->container), "%.7s", rec->container);
		free(rec);
		if (conn_queue(c, commit_work, commit_done) == 0)
			return;
		conn_respond_error(c, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN, "controller busy");
		conn_request_done(c);
		return;
	}
done:
	free(rec);
	conn_request_done(c);
}

/* ---- status, metadata, plan ------------------------------------------------- */

static void handle_clip_status(struct conn *c, const struct dock_route *route)
{
	struct clip_rec *rec = malloc(sizeof(*rec));
	int r = rec ? registry_clip_get(c->l->ctl->reg, c->peer_info.serial, route->recording_id,
					route->clip_id, rec) : -ENOMEM;

	if (r == -ENOENT)
		answer_status(c, DOCK_CLIP_NONE, 0);
	else if (r < 0)
		conn_respond_error(c, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN, "registry unavailable");
	else if (rec->committed)
		answer_committed(c, rec->receipt, rec->size);
	else
		answer_status(c, rec->offset ? DOCK_CLIP_PARTIAL : DOCK_CLIP_NONE, rec->offset);
	free(rec);
	conn_request_done(c);
}

static void handle_recording(struct conn *c, const struct dock_route *route)
{
	struct ctl *ctl = c->l->ctl;
	struct dock_recording rec;
	const char *serial = c->peer_info.serial;
	char why[200], body[160];
	int r;

	if (dock_decode_recording(c->http.body, c->http.body_len, &rec, why, sizeof(why)) < 0) {
		conn_respond_error(c, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN, "bad recording metadata: %s",
				   why);
		goto done;
	}
	if (strcmp(rec.recording_id, route->recording_id) || strcmp(rec.serial, serial)) {
		conn_respond_error(c, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN, "metadata names recording "
				   "%s of camera %s: must be %s of %s", rec.recording_id, rec.serial,
				   route->recording_id, serial);
		goto out;
	}
	r = registry_recording_put(ctl->reg, serial, rec.recording_id, rec.canonical,
				   rec.total_bytes, rec.closed, time(NULL));
	for (size_t i = 0; r == 0 && i < rec.n_clips; i++)
		r = registry_clip_declare(ctl->reg, serial, rec.recording_id, rec.clips[i].clip_id,
					  rec.clips[i].container, rec.clips[i].size,
					  rec.clips[i].complete);
	if (r < 0) {
		conn_respond_error(c, DOCK_C_UNAVAILABLE, DOCK_S_UNKNOWN, "registry write failed");
		goto out;
	}
	snprintf(body, sizeof(body), "{\"recording_id\":\"%s\",\"clips\":%zu}", rec.recording_id,
		 rec.n_clips);
	conn_respond(c, 200, body);
	forward_wake(ctl->fwd);   /* a closed, fully committed recording may now be due */
out:
	dock_recording_free(&rec);
done:
	conn_request_done(c);
}

static void handle_plan(struct conn *c)
{
	struct dock_plan plan;
	char why[160], body[96];

	if (dock_decode_plan(c->http.body, c->http.body_len, &plan, why, sizeof(why)) < 0) {
		conn_respond_error(c, DOCK_C_BAD_REQUEST, DOCK_S_UNKNOWN, "bad plan: %s", why);
	} else {
		registry_progress_plan(c->l->ctl->reg, c->peer_info.serial, plan.bytes, time(NULL));
		log_info("%s: offload of %" PRIu64 " recordings, %" PRIu64 " clips, %" PRIu64 " bytes",
			 c->peer_info.serial, plan.recordings, plan.clips, plan.bytes);
		snprintf(body, sizeof(body), "{\"bytes\":%" PRIu64 ",\"pipeline\":%d}", plan.bytes,
			 DOCK_PIPELINE);
		conn_respond(c, 200, body);
	}
	conn_request_done(c);
}

int offload_request(struct conn *c, const struct dock_route *route)
{
	int m = c->http.method;
	enum dock_standing st;
	enum dock_code code;
	char msg[200];

	switch (route->kind) {
	case DOCK_R_PLAN:
	case DOCK_R_RECORDING:
	case DOCK_R_CLIP:
	case DOCK_R_CLIP_COMMIT:
		break;
	default:
		return 0;
	}
	if (route->kind == DOCK_R_CLIP && m == HTTP_PUT) {
		handle_chunk(c);
		return 1;
	}
	code = may_offload(c, &st, msg, sizeof(msg));
	if (code != DOCK_C_OK) {
		conn_respond_error(c, code, st, "%s", msg);
		conn_request_done(c);
	} else if (route->kind == DOCK_R_PLAN && m == HTTP_POST) {
		handle_plan(c);
	} else if (route->kind == DOCK_R_RECORDING && m == HTTP_PUT) {
		handle_recording(c, route);
	} else if (route->kind == DOCK_R_CLIP && m == HTTP_GET) {
		handle_clip_status(c, route);
	} else if (route->kind == DOCK_R_CLIP_COMMIT && m == HTTP_POST) {
		handle_commit(c, route);
	} else {
		conn_respond_error(c, DOCK_C_METHOD, DOCK_S_UNKNOWN, "method not allowed here");
		conn_request_done(c);
	}
	return 1;
}

/* ---- after a crash ---------------------------------------------------------- */

/* A crash between the rename into the ready queue and the registry update
 * leaves a partial clip whose file is already in ready/: put it back so the
 * camera's commit runs again and issues the receipt. */
static int recover_one(const struct clip_rec *rec, void *ud)
{
	struct ctl *ctl = ud;
	char in[PATH_MAX], ready[PATH_MAX], dir[PATH_MAX];

	if (incoming_path(ctl, rec->serial, rec->rid, rec->cid, in, sizeof(in)) < 0 ||
	    ready_path(ctl, rec->serial, rec->rid, rec->cid, rec->container, ready, sizeof(ready)) < 0 ||
	    staged_path(ctl, "incoming", rec->serial, rec->rid, NULL, dir, sizeof(dir)) < 0)
		return 0;
	if (access(in, F_OK) == 0 || access(ready, F_OK) != 0)
		return 0;
	if (util_mkdir_p(dir, 0700) < 0 || rename(ready, in) < 0) {
		log_error("recovery: cannot move %s back to %s: %s", ready, in, strerror(errno));
		return 0;
	}
	util_fsync_parent(in);
	util_fsync_parent(ready);
	log_warn("recovery: %s %s/%s was staged but not receipted: back in incoming", rec->serial,
		 rec->rid, rec->cid);
	return 0;
}

int offload_recover(struct ctl *ctl)
{
	static const char *const areas[] = { "incoming", "ready" };
	char path[PATH_MAX];
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(areas); i++) {
		r = snprintf(path, sizeof(path), "%s/%s", ctl->cfg.staging_dir, areas[i]) >=
				    (int)sizeof(path) ? -ENAMETOOLONG : util_mkdir_p(path, 0700);
		if (r < 0) {
			log_error("cannot create the staging area %s: %s", path, strerror(-r));
			return r;
		}
	}
	r = registry_clip_foreach_partial(ctl->reg, recover_one, ctl);
	if (r < 0)
		log_error("recovery: cannot read the registry");
	return r;
}
