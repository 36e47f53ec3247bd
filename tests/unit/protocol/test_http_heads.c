/* test_http_heads.c - the heads we send parse back with our own framing, and a
 * buffer too small for a head is reported (-ENOSPC), never overrun. */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <string.h>

#include "dock-protocol/dock.h"

static void request_head(void)
{
	char buf[512];
	int n = dock_http_request_head(buf, sizeof(buf), "POST", "/v1/renew", 14);
	struct dock_http h;
	size_t used = 0;

	CHECK(n > 0 && (size_t)n == strlen(buf));
	if (n <= 0)
		return;
	memcpy(buf + n, "{\"csr\":\"AAEC\"}", 15);
	dock_http_init(&h, DOCK_HTTP_REQUEST, DOCK_MAX_BODY);
	CHECK(dock_http_feed(&h, buf, (size_t)n + 14, &used) == DOCK_HTTP_DONE);
	CHECK(used == (size_t)n + 14);
	CHECK(h.method == HTTP_POST);
	CHECK(strcmp(h.path, "/v1/renew") == 0);
	CHECK(h.version == DOCK_VERSION);
	CHECK(strcmp(h.content_type, "application/json") == 0);
	CHECK(h.body_len == 14 && h.body && strcmp(h.body, "{\"csr\":\"AAEC\"}") == 0);
	dock_http_reset(&h);
}

static void response_head(int status, size_t body_len)
{
	char buf[512];
	int n = dock_http_response_head(buf, sizeof(buf), status, body_len);
	struct dock_http h;
	size_t used = 0;

	CHECK(n > 0 && (size_t)n == strlen(buf));
	if (n <= 0)
		return;
	memset(buf + n, 'x', body_len);
	dock_http_init(&h, DOCK_HTTP_RESPONSE, DOCK_MAX_BODY);
	CHECK(dock_http_feed(&h, buf, (size_t)n + body_len, &used) == DOCK_HTTP_DONE);
	CHECK(used == (size_t)n + body_len);
	CHECK(h.status == status);
	CHECK(h.version == DOCK_VERSION);
	CHECK(h.body_len == body_len);
	dock_http_reset(&h);
}

static void no_space(void)
{
	char buf[512];
	int full = dock_http_request_head(buf, sizeof(buf), "POST", "/v1/enrol", 0);
	int resp = dock_http_response_head(buf, sizeof(buf), 200, 0);

	CHECK(full > 0 && resp > 0);
	CHECK(dock_http_request_head(NULL, 0, "POST", "/v1/enrol", 0) == -ENOSPC);
	CHECK(dock_http_response_head(NULL, 0, 200, 0) == -ENOSPC);
	memset(buf, 'Z', sizeof(buf));
	CHECK(dock_http_request_head(buf, 8, "POST", "/v1/enrol", 0) == -ENOSPC);
	CHECK(buf[7] == 0 && buf[8] == 'Z');
	memset(buf, 'Z', sizeof(buf));
	CHECK(dock_http_response_head(buf, 8, 200, 0) == -ENOSPC);
	CHECK(buf[7] == 0 && buf[8] == 'Z');
	if (full > 0) {
		/* the terminating NUL needs one byte more than the head */
		CHECK(dock_http_request_head(buf, (size_t)full, "POST", "/v1/enrol", 0) == -ENOSPC);
		CHECK(dock_http_request_head(buf, (size_t)full + 1, "POST", "/v1/enrol", 0) == full);
	}
	if (resp > 0) {
		CHECK(dock_http_response_head(buf, (size_t)resp, 200, 0) == -ENOSPC);
		CHECK(dock_http_response_head(buf, (size_t)resp + 1, 200, 0) == resp);
	}
}

int main(void)
{
	request_head();
	response_head(200, 0);
	response_head(200, 300);
	response_head(403, 17);
	response_head(413, 0);
	response_head(422, 5);
	response_head(503, 1);
	no_space();
	return check_done();
}
