/* http.c - HTTP/1.1 framing of the dock protocol on top of http-parser:
 * bounded heads, Content-Length bodies only, one message at a time. */
#include "dock-protocol/dock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct dock_http *from(http_parser *p)
{
	return p->data;
}

static int fail(struct dock_http *h, enum dock_code code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct dock_http *h, enum dock_code code, const char *fmt, ...)
{
	va_list ap;

	h->error = code;
	va_start(ap, fmt);
	vsnprintf(h->why, sizeof(h->why), fmt, ap);
	va_end(ap);
	return -1;
}

static int count_head(struct dock_http *h, size_t len)
{
	h->head_bytes += len;
	if (h->head_bytes > DOCK_MAX_HEADER_BYTES)
		return fail(h, DOCK_C_TOO_LARGE, "message head over %d bytes", DOCK_MAX_HEADER_BYTES);
	return 0;
}

static int on_url(http_parser *p, const char *at, size_t len)
{
	struct dock_http *h = from(p);

	if (count_head(h, len) < 0)
		return -1;
	if (h->path_len + len >= sizeof(h->path))
		return fail(h, DOCK_C_TOO_LARGE, "request path over %d bytes", DOCK_MAX_PATH - 1);
	memcpy(h->path + h->path_len, at, len);
	h->path_len += len;
	h->path[h->path_len] = 0;
	return 0;
}

static int on_status(http_parser *p, const char *at, size_t len)
{
	return count_head(from(p), len);
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
	struct dock_http *h = from(p);
	size_t have;

	if (count_head(h, len + 4) < 0)
		return -1;
	if (!h->in_header_field) {
		if (++h->n_headers > DOCK_MAX_HEADERS)
			return fail(h, DOCK_C_TOO_LARGE, "more than %d header fields",
				    DOCK_MAX_HEADERS);
		h->header_name[0] = 0;
		h->in_header_field = 1;
	}
	have = strlen(h->header_name);
	if (have + len < sizeof(h->header_name)) {
		memcpy(h->header_name + have, at, len);
		h->header_name[have + len] = 0;
	} else {
		h->header_name[0] = '-';   /* too long to be one we care about */
		h->header_name[1] = 0;
	}
	return 0;
}

static void append_value(char *dst, size_t cap, const char *at, size_t len)
{
	size_t have = strlen(dst);

	if (have + len < cap) {
		memcpy(dst + have, at, len);
		dst[have + len] = 0;
	}
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
	struct dock_http *h = from(p);

	if (count_head(h, len) < 0)
		return -1;
	if (h->in_header_field) {
		h->in_header_field = 0;
		h->header_is_ct = strcasecmp(h->header_name, "Content-Type") == 0;
		h->header_is_version = strcasecmp(h->header_name, "Dock-Protocol") == 0;
		if (strcasecmp(h->header_name, "Transfer-Encoding") == 0)
			return fail(h, DOCK_C_BAD_REQUEST, "Transfer-Encoding is not supported: "
				    "send a Content-Length body");
		if (h->header_is_ct)
			h->content_type[0] = 0;
		if (h->header_is_version)
			h->version_text[0] = 0;
	}
	if (h->header_is_ct)
		append_value(h->content_type, sizeof(h->content_type), at, len);
	if (h->header_is_version)
		append_value(h->version_text, sizeof(h->version_text), at, len);
	return 0;
}

static int on_headers_complete(http_parser *p)
{
	struct dock_http *h = from(p);

	if (h->version_text[0]) {
		char *end;
		h->version = strtol(h->version_text, &end, 10);
		if (*end || h->version <= 0)
			return fail(h, DOCK_C_BAD_REQUEST, "Dock-Protocol header is not a version number");
	}
	h->method = p->method;
	h->status = p->status_code;
	h->has_content_length = (p->flags & F_CONTENTLENGTH) != 0;
	h->content_length = h->has_content_length ? p->content_length : 0;
	if (h->kind == DOCK_HTTP_RESPONSE && !h->has_content_length)
		return fail(h, DOCK_C_BAD_REQUEST, "response without Content-Length");
	if (h->on_head) {
		int r = h->on_head(h, h->ud);
		if (r < 0) {
			if (!h->error)
				fail(h, DOCK_C_BAD_REQUEST, "request refused");
			return -1;
		}
		h->streaming = r == 1;
	}
	if (h->streaming) {
		if (h->content_length > h->stream_max)
			return fail(h, DOCK_C_TOO_LARGE, "body of %llu bytes over the limit of %zu",
				    (unsigned long long)h->content_length, h->stream_max);
		return 0;
	}
	if (h->content_length > h->max_body)
		return fail(h, DOCK_C_TOO_LARGE, "body of %llu bytes over the limit of %zu",
			    (unsigned long long)h->content_length, h->max_body);
	if (h->content_length > 0) {
		h->body = malloc(h->content_length + 1);
		if (!h->body)
			return fail(h, DOCK_C_INTERNAL, "out of memory for a %llu byte body",
				    (unsigned long long)h->content_length);
		h->body[0] = 0;
	}
	return 0;
}

static int on_body(http_parser *p, const char *at, size_t len)
{
	struct dock_http *h = from(p);

	if (h->streaming) {
		h->body_len += len;
		if (h->body_len > h->content_length)
			return fail(h, DOCK_C_BAD_REQUEST, "body longer than its Content-Length");
		return h->on_body(h->ud, at, len) < 0 ? -1 : 0;
	}
	if (!h->body || h->body_len + len > h->content_length)
		return fail(h, DOCK_C_BAD_REQUEST, "body longer than its Content-Length");
	memcpy(h->body + h->body_len, at, len);
	h->body_len += len;
	h->body[h->body_len] = 0;
	return 0;
}

static int on_message_complete(http_parser *p)
{
	from(p)->complete = 1;
	http_parser_pause(p, 1);
	return 0;
}

void dock_http_init(struct dock_http *h, enum dock_http_kind kind, size_t max_body)
{
	memset(h, 0, sizeof(*h));
	h->kind = kind;
	h->max_body = max_body;
	http_parser_init(&h->parser, kind == DOCK_HTTP_REQUEST ? HTTP_REQUEST : HTTP_RESPONSE);
	h->parser.data = h;
	http_parser_settings_init(&h->settings);
	h->settings.on_url = on_url;
	h->settings.on_status = on_status;
	h->settings.on_header_field = on_header_field;
	h->settings.on_header_value = on_header_value;
	h->settings.on_headers_complete = on_headers_complete;
	h->settings.on_body = on_body;
	h->settings.on_message_complete = on_message_complete;
}

void dock_http_reset(struct dock_http *h)
{
	if (!h)
		return;
	free(h->body);
	h->body = NULL;
}

int dock_http_feed(struct dock_http *h, const char *data, size_t len, size_t *consumed)
{
	size_t n;
	enum http_errno e;

	*consumed = 0;
	if (h->complete)
		return DOCK_HTTP_DONE;
	if (h->error)
		return -EBADMSG;
	if (len == 0)
		return DOCK_HTTP_MORE;
	n = http_parser_execute(&h->parser, &h->settings, data, len);
	*consumed = n;
	e = HTTP_PARSER_ERRNO(&h->parser);
	if (h->complete)
		return DOCK_HTTP_DONE;
	if (e != HPE_OK) {
		if (!h->error)
			fail(h, DOCK_C_BAD_REQUEST, "malformed HTTP: %s", http_errno_description(e));
		return -EBADMSG;
	}
	return DOCK_HTTP_MORE;
}

int dock_http_request_head_ct(char *out, size_t cap, const char *method, const char *path,
			      const char *content_type, size_t body_len)
{
	int n = snprintf(out, cap,
			 "%s %s HTTP/1.1\r\nHost: controller\r\nDock-Protocol: %d\r\n"
			 "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
			 method, path, DOCK_VERSION, content_type, body_len);

	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}

int dock_http_request_head(char *out, size_t cap, const char *method, const char *path,
			   size_t body_len)
{
	return dock_http_request_head_ct(out, cap, method, path, "application/json", body_len);
}

int dock_http_response_head(char *out, size_t cap, int status, size_t body_len)
{
	int n = snprintf(out, cap,
			 "HTTP/1.1 %d %s\r\nDock-Protocol: %d\r\nContent-Type: application/json\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 status, http_status_str((enum http_status)status), DOCK_VERSION, body_len);

	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}
