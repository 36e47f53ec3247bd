/* dock_http.h - the body of the dock_http_request and dock_http_response
 * targets: dock_http_feed on untrusted bytes, split where the fuzzer says,
 * byte by byte for short inputs, buffered or streamed like the listener's
 * clip PUTs. Invariants are the promises dock.h makes to its callers. */
#ifndef BWC_FUZZ_DOCK_HTTP_H
#define BWC_FUZZ_DOCK_HTTP_H

#include "tests/fuzz/fuzz.h"
#include "dock-protocol/dock.h"

struct fz_stream {
	int head_mode;        /* what on_head answers: 0 buffer, 1 stream, 2 refuse */
	int refuse_body_at;   /* on_body fails once this many bytes were seen (0: never) */
	size_t streamed;
	int heads;
};

static int fz_on_head(struct dock_http *h, void *ud)
{
	struct fz_stream *s = ud;

	s->heads++;
	FZ_CHECK(s->heads == 1);
	FZ_CHECK(h->head_bytes <= DOCK_MAX_HEADER_BYTES);
	if (s->head_mode == 2) {
		h->error = DOCK_C_IDENTITY;
		snprintf(h->why, sizeof(h->why), "refused by the fuzzer");
		return -1;
	}
	return s->head_mode;
}

static int fz_on_body(void *ud, const char *at, size_t len)
{
	struct fz_stream *s = ud;

	FZ_CHECK(at != NULL && len > 0);
	s->streamed += len;
	if (s->refuse_body_at && s->streamed >= (size_t)s->refuse_body_at)
		return -1;
	return 0;
}

/* What dock.h promises once a message is complete. */
static void fz_check_done(const struct dock_http *h, const struct fz_stream *s)
{
	FZ_CHECK(h->complete);
	FZ_CHECK(h->error == DOCK_C_OK);
	FZ_CHECK(h->head_bytes <= DOCK_MAX_HEADER_BYTES);
	FZ_CHECK(h->n_headers <= DOCK_MAX_HEADERS);
	FZ_CHECK(h->path_len < sizeof(h->path) && strlen(h->path) <= h->path_len);
	FZ_CHECK(memchr(h->content_type, 0, sizeof(h->content_type)) != NULL);
	if (h->kind == DOCK_HTTP_RESPONSE)
		FZ_CHECK(h->has_content_length);
	if (h->streaming) {
		FZ_CHECK(h->body == NULL);
		FZ_CHECK(h->content_length <= h->stream_max);
		FZ_CHECK(s->streamed == h->content_length && h->body_len == h->content_length);
	} else {
		FZ_CHECK(h->content_length <= h->max_body);
		FZ_CHECK(h->body_len == h->content_length);
		if (h->body_len) {
			FZ_CHECK(h->body != NULL);
			FZ_CHECK(h->body[h->body_len] == 0);
		}
	}
	if (h->version)
		FZ_CHECK(h->version > 0);
}

/* Feeds data[0..len) in pieces of at most step bytes (0: all at once) with a
 * first piece of first bytes. Returns the bytes used by one message, or -1. */
static long fz_feed(struct dock_http *h, const char *data, size_t len, size_t first,
		    size_t step)
{
	size_t pos = 0;
	int r = DOCK_HTTP_MORE;

	if (first > len)
		first = len;
	while (pos < len) {
		size_t want = pos == 0 && first ? first : len - pos;
		size_t used = 0;

		if (step && want > step)
			want = step;
		r = dock_http_feed(h, data + pos, want, &used);
		FZ_CHECK(used <= want);
		if (r < 0) {
			FZ_CHECK(r == -EBADMSG);
			FZ_CHECK(h->error != DOCK_C_OK && h->why[0]);
			FZ_CHECK(memchr(h->why, 0, sizeof(h->why)) != NULL);
			return -1;
		}
		pos += used;
		if (r == DOCK_HTTP_DONE)
			return (long)pos;
		/* Callers treat MORE as "everything was used". */
		FZ_CHECK(r == DOCK_HTTP_MORE && used == want);
	}
	return -1;
}

static void fz_dock_http(enum dock_http_kind kind, const uint8_t *data, size_t size)
{
	struct fz_stream s = { 0 };
	struct dock_http h;
	const char *msg;
	size_t len, first, step = 0, max_body;
	uint8_t mode, split;
	long used;
	int rounds = 0;

	if (size < 2)
		return;
	mode = data[0];
	split = data[1];
	msg = (const char *)data + 2;
	len = size - 2;
	first = (size_t)split * len / 255;
	if ((mode & 1) && len <= 512)
		step = 1;
	max_body = mode & 2 ? 64 : DOCK_MAX_BODY;
	/* Up to three messages back to back (the camera's connection reads
	 * answers in sequence; the controller refuses pipelining). */
	while (len > 0 && rounds++ < 3) {
		dock_http_init(&h, kind, max_body);
		if (mode & 4) {
			memset(&s, 0, sizeof(s));
			s.head_mode = (mode >> 3) % 3;
			s.refuse_body_at = (mode >> 5) * 16;
			h.on_head = fz_on_head;
			h.on_body = fz_on_body;
			h.ud = &s;
			h.stream_max = mode & 2 ? 100 : DOCK_MAX_CHUNK;
		}
		used = fz_feed(&h, msg, len, first, step);
		if (used >= 0) {
			fz_check_done(&h, &s);
			/* A finished parser stays finished. */
			size_t again = 1;
			FZ_CHECK(dock_http_feed(&h, msg, len, &again) == DOCK_HTTP_DONE && again == 0);
		}
		dock_http_reset(&h);
		dock_http_reset(&h);
		if (used <= 0)
			break;
		msg += used;
		len -= (size_t)used;
		first = 0;
	}
}

#endif
