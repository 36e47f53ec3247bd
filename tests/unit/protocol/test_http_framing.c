/* test_http_framing.c - dock_http_feed: the same result whatever the split of
 * the input, the limits of PROTOCOL.md §5 (path, header count, head size,
 * body size, no Transfer-Encoding), responses, and pipelined requests. */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dock-protocol/dock.h"

struct result {
	int rc;
	size_t used;
	enum dock_code error;
	int method, status;
	char path[DOCK_MAX_PATH];
	char content_type[64];
	long version;
	char *body;
	size_t body_len;
	int body_was_buffered;
};

/* Feeds s in pieces of step bytes until the parser stops asking for more. */
static void run(enum dock_http_kind kind, size_t max_body, const char *s, size_t len,
		size_t step, struct result *res)
{
	struct dock_http h;
	size_t off = 0;
	int r = DOCK_HTTP_MORE;

	dock_http_init(&h, kind, max_body);
	while (off < len && r == DOCK_HTTP_MORE) {
		size_t n = len - off < step ? len - off : step, c = 0;
		r = dock_http_feed(&h, s + off, n, &c);
		off += c;
		if (r == DOCK_HTTP_MORE && c != n) {
			fprintf(stderr, "  MORE but only %zu of %zu bytes used\n", c, n);
			break;
		}
	}
	memset(res, 0, sizeof(*res));
	res->rc = r;
	res->used = off;
	res->error = h.error;
	res->method = h.method;
	res->status = h.status;
	memcpy(res->path, h.path, sizeof(res->path));
	memcpy(res->content_type, h.content_type, sizeof(res->content_type));
	res->version = h.version;
	res->body_was_buffered = h.body_len > 0;
	res->body_len = h.body_len;
	res->body = h.body ? strdup(h.body) : NULL;
	dock_http_reset(&h);
}

static void result_free(struct result *r)
{
	free(r->body);
	r->body = NULL;
}

static int same(const struct result *a, const struct result *b)
{
	return a->rc == b->rc && a->used == b->used && a->error == b->error &&
	       a->method == b->method && a->status == b->status &&
	       strcmp(a->path, b->path) == 0 && strcmp(a->content_type, b->content_type) == 0 &&
	       a->version == b->version && a->body_len == b->body_len &&
	       (a->body == b->body || (a->body && b->body && strcmp(a->body, b->body) == 0));
}

/* Every split of s gives the result of feeding it at once. */
static void split_invariant(enum dock_http_kind kind, const char *s)
{
	static const size_t steps[] = { 1, 2, 3, 5, 7, 16, 64 };
	struct result whole, part;

	run(kind, DOCK_MAX_BODY, s, strlen(s), strlen(s), &whole);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		run(kind, DOCK_MAX_BODY, s, strlen(s), steps[i], &part);
		CHECK(same(&whole, &part));
		if (!same(&whole, &part))
			fprintf(stderr, "  step %zu: rc %d/%d version %ld/%ld path %s/%s ct %s/%s\n",
				steps[i], whole.rc, part.rc, whole.version, part.version,
				whole.path, part.path, whole.content_type, part.content_type);
		result_free(&part);
	}
	result_free(&whole);
}

#define ENROL_HEAD "POST /v1/enrol HTTP/1.1\r\nHost: controller\r\nDock-Protocol: 1\r\n" \
		   "Content-Type: application/json\r\n"

static void request_with_body(void)
{
	const char *req = ENROL_HEAD "Content-Length: 14\r\n\r\n{\"csr\":\"AAEC\"}";
	struct result r;

	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req), strlen(req), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	CHECK(r.used == strlen(req));
	CHECK(r.method == HTTP_POST);
	CHECK(strcmp(r.path, "/v1/enrol") == 0);
	CHECK(strcmp(r.content_type, "application/json") == 0);
	CHECK(r.version == 1);
	CHECK(r.body_len == 14);
	CHECK(r.body && strcmp(r.body, "{\"csr\":\"AAEC\"}") == 0);
	result_free(&r);
	split_invariant(DOCK_HTTP_REQUEST, req);

	/* an incomplete body asks for more */
	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req) - 1, 4096, &r);
	CHECK(r.rc == DOCK_HTTP_MORE);
	result_free(&r);
}

static void request_without_body(void)
{
	const char *req = "GET /v1/status HTTP/1.1\r\nHost: controller\r\n\r\n";
	struct result r;

	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req), strlen(req), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	CHECK(r.used == strlen(req));
	CHECK(r.method == HTTP_GET);
	CHECK(strcmp(r.path, "/v1/status") == 0);
	CHECK(r.version == 0);     /* no Dock-Protocol header */
	CHECK(r.body == NULL && r.body_len == 0);
	result_free(&r);
	split_invariant(DOCK_HTTP_REQUEST, req);

	req = "POST /v1/renew HTTP/1.1\r\nContent-Length: 0\r\n\r\n";
	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req), 1, &r);
	CHECK(r.rc == DOCK_HTTP_DONE && r.body_len == 0);
	result_free(&r);
}

/* Multi-digit versions and long content types must not depend on the split. */
static void header_values(void)
{
	const char *req = "POST /v1/renew HTTP/1.1\r\nDock-Protocol: 17\r\n"
			  "Content-Type: application/json; charset=utf-8\r\nContent-Length: 2\r\n\r\n{}";
	struct result r;

	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req), strlen(req), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	CHECK(r.version == 17);
	CHECK(strcmp(r.content_type, "application/json; charset=utf-8") == 0);
	result_free(&r);
	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req), 1, &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	CHECK(r.version == 17);
	if (r.version != 17)
		fprintf(stderr, "  Dock-Protocol: 17 fed byte by byte parsed as %ld\n", r.version);
	CHECK(strcmp(r.content_type, "application/json; charset=utf-8") == 0);
	result_free(&r);
	split_invariant(DOCK_HTTP_REQUEST, req);

	/* header names are case-insensitive */
	req = "POST /v1/renew HTTP/1.1\r\ndock-protocol: 2\r\ncontent-length: 0\r\n\r\n";
	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, req, strlen(req), strlen(req), &r);
	CHECK(r.rc == DOCK_HTTP_DONE && r.version == 2);
	result_free(&r);
}

static void expect_error(const char *label, enum dock_http_kind kind, size_t max_body,
			 const char *s, size_t len, enum dock_code code)
{
	struct result r;
	size_t steps[] = { len, 1 };

	for (int i = 0; i < 2; i++) {
		run(kind, max_body, s, len, steps[i], &r);
		CHECK(r.rc == -EBADMSG);
		CHECK(r.error == code);
		CHECK(!r.body_was_buffered);
		if (r.rc != -EBADMSG || r.error != code)
			fprintf(stderr, "  %s (step %zu): rc %d error %s\n", label, steps[i], r.rc,
				dock_code_name(r.error));
		result_free(&r);
	}
}

static char *request_with_path(size_t path_len)
{
	char *s = malloc(path_len + 64);
	size_t k;

	if (!s)
		abort();
	k = (size_t)sprintf(s, "GET /");
	memset(s + k, 'p', path_len - 1);
	k += path_len - 1;
	sprintf(s + k, " HTTP/1.1\r\n\r\n");
	return s;
}

static void path_limit(void)
{
	struct result r;
	char *s = request_with_path(DOCK_MAX_PATH - 1);

	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), strlen(s), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	CHECK(strlen(r.path) == DOCK_MAX_PATH - 1);
	result_free(&r);
	free(s);
	s = request_with_path(DOCK_MAX_PATH);
	expect_error("path of DOCK_MAX_PATH bytes", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_TOO_LARGE);
	free(s);
	s = request_with_path(DOCK_MAX_PATH + 1000);
	expect_error("long path", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), DOCK_C_TOO_LARGE);
	free(s);
}

static char *request_with_headers(int n)
{
	char *s = malloc((size_t)n * 32 + 64);
	size_t k;

	if (!s)
		abort();
	k = (size_t)sprintf(s, "GET /v1/x HTTP/1.1\r\n");
	for (int i = 0; i < n; i++)
		k += (size_t)sprintf(s + k, "X-H%d: %d\r\n", i, i);
	sprintf(s + k, "\r\n");
	return s;
}

static void header_limits(void)
{
	struct result r;
	char *s = request_with_headers(DOCK_MAX_HEADERS);
	size_t big = DOCK_MAX_HEADER_BYTES + 100;

	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), strlen(s), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	result_free(&r);
	free(s);
	s = request_with_headers(DOCK_MAX_HEADERS + 1);
	expect_error("33 headers", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), DOCK_C_TOO_LARGE);
	free(s);

	/* one long header value; then many headers each under any per-header limit */
	s = malloc(big + 64);
	if (!s)
		abort();
	strcpy(s, "GET /v1/x HTTP/1.1\r\nX-Big: ");
	memset(s + strlen(s), 'v', big);
	strcpy(s + 28 + big, "\r\n\r\n");
	s[28 + big - 1] = 'v';
	expect_error("head over 8192", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_TOO_LARGE);
	free(s);

	s = malloc(DOCK_MAX_HEADER_BYTES * 2);
	if (!s)
		abort();
	{
		size_t k = (size_t)sprintf(s, "GET /v1/x HTTP/1.1\r\n");
		for (int i = 0; i < 30; i++) {
			k += (size_t)sprintf(s + k, "X-%d: ", i);
			memset(s + k, 'a', 300);
			k += 300;
			k += (size_t)sprintf(s + k, "\r\n");
		}
		sprintf(s + k, "\r\n");
	}
	expect_error("30 headers of 300 bytes", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_TOO_LARGE);
	/* a head well under the limit passes */
	{
		size_t k = (size_t)sprintf(s, "GET /v1/x HTTP/1.1\r\nX-A: ");
		memset(s + k, 'a', 7000);
		sprintf(s + k + 7000, "\r\n\r\n");
	}
	run(DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), strlen(s), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	result_free(&r);
	free(s);
}

static void transfer_encoding(void)
{
	const char *s = "POST /v1/enrol HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
			"2\r\n{}\r\n0\r\n\r\n";

	expect_error("chunked", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), DOCK_C_BAD_REQUEST);
	s = "POST /v1/enrol HTTP/1.1\r\ntransfer-encoding: identity\r\nContent-Length: 2\r\n\r\n{}";
	expect_error("identity", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s), DOCK_C_BAD_REQUEST);
	s = "POST /v1/enrol HTTP/1.1\r\nContent-Length: 2\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
	    "2\r\n{}\r\n0\r\n\r\n";
	expect_error("cl + chunked", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_BAD_REQUEST);
	s = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n";
	expect_error("chunked response", DOCK_HTTP_RESPONSE, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_BAD_REQUEST);
}

static void body_limit(void)
{
	const char *head = "POST /v1/enrol HTTP/1.1\r\nContent-Length: 101\r\n\r\n";
	char s[512];
	struct result r;

	snprintf(s, sizeof(s), "%s", head);
	memset(s + strlen(head), 'b', 101);
	s[strlen(head) + 101] = 0;
	expect_error("body 101 > 100", DOCK_HTTP_REQUEST, 100, s, strlen(s), DOCK_C_TOO_LARGE);
	/* refused at the head, before the body arrives */
	expect_error("head of 101 > 100", DOCK_HTTP_REQUEST, 100, head, strlen(head),
		     DOCK_C_TOO_LARGE);
	head = "POST /v1/enrol HTTP/1.1\r\nContent-Length: 99999999999999\r\n\r\n";
	expect_error("huge length", DOCK_HTTP_REQUEST, DOCK_MAX_BODY, head, strlen(head),
		     DOCK_C_TOO_LARGE);
	/* exactly max_body is fine */
	snprintf(s, sizeof(s), "POST /v1/enrol HTTP/1.1\r\nContent-Length: 100\r\n\r\n");
	memset(s + strlen(s), 'b', 100);
	s[strlen("POST /v1/enrol HTTP/1.1\r\nContent-Length: 100\r\n\r\n") + 100] = 0;
	run(DOCK_HTTP_REQUEST, 100, s, strlen(s), 1, &r);
	CHECK(r.rc == DOCK_HTTP_DONE && r.body_len == 100);
	result_free(&r);
	/* more body bytes than announced: the rest is the next message */
	snprintf(s, sizeof(s), "POST /v1/enrol HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}xyz");
	run(DOCK_HTTP_REQUEST, 100, s, strlen(s), strlen(s), &r);
	CHECK(r.rc == DOCK_HTTP_DONE && r.body_len == 2 && r.used == strlen(s) - 3);
	result_free(&r);
}

static void malformed(void)
{
	static const char *const bad[] = {
		"GARBAGE\r\n\r\n",
		"HELLO /v1/enrol HTTP/1.1\r\n\r\n",
		"POST /v1/enrol HTTP/1.1 extra\r\n\r\n",
		"POST /v1/enrol FTP/1.1\r\n\r\n",
		"POST\r\n\r\n",
		"\x01\x02\x03\r\n\r\n",
		"POST /v1/enrol HTTP/1.1\r\nNo colon here\r\n\r\n",
		"POST /v1/enrol HTTP/1.1\r\nContent-Length: 2x\r\n\r\n{}",
		"POST /v1/enrol HTTP/1.1\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		expect_error(bad[i], DOCK_HTTP_REQUEST, DOCK_MAX_BODY, bad[i], strlen(bad[i]),
			     DOCK_C_BAD_REQUEST);
	expect_error("request to a response parser", DOCK_HTTP_RESPONSE, DOCK_MAX_BODY,
		     "GET / HTTP/1.1\r\n\r\n", 18, DOCK_C_BAD_REQUEST);
}

static void responses(void)
{
	const char *s = "HTTP/1.1 403 Forbidden\r\nDock-Protocol: 1\r\nContent-Length: 16\r\n\r\n"
			"{\"error\":\"held\"}";
	struct result r;

	run(DOCK_HTTP_RESPONSE, DOCK_MAX_BODY, s, strlen(s), strlen(s), &r);
	CHECK(r.rc == DOCK_HTTP_DONE);
	CHECK(r.status == 403);
	CHECK(r.version == 1);
	CHECK(r.body && strcmp(r.body, "{\"error\":\"held\"}") == 0);
	result_free(&r);
	split_invariant(DOCK_HTTP_RESPONSE, s);

	s = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
	run(DOCK_HTTP_RESPONSE, DOCK_MAX_BODY, s, strlen(s), 1, &r);
	CHECK(r.rc == DOCK_HTTP_DONE && r.status == 200 && r.body_len == 0);
	result_free(&r);

	s = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}";
	expect_error("response without Content-Length", DOCK_HTTP_RESPONSE, DOCK_MAX_BODY, s,
		     strlen(s), DOCK_C_BAD_REQUEST);
	s = "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n";
	expect_error("close-delimited response", DOCK_HTTP_RESPONSE, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_BAD_REQUEST);
	s = "HTTP/1.1 200 OK\r\nContent-Length: 70000\r\n\r\n";
	expect_error("response over max_body", DOCK_HTTP_RESPONSE, DOCK_MAX_BODY, s, strlen(s),
		     DOCK_C_TOO_LARGE);
}

static void pipelined(void)
{
	const char *first = ENROL_HEAD "Content-Length: 2\r\n\r\n{}";
	const char *second = "POST /v1/renew HTTP/1.1\r\nContent-Length: 3\r\n\r\n[1]";
	char both[512];
	struct dock_http h;
	size_t used = 0;
	int r;

	snprintf(both, sizeof(both), "%s%s", first, second);
	dock_http_init(&h, DOCK_HTTP_REQUEST, DOCK_MAX_BODY);
	r = dock_http_feed(&h, both, strlen(both), &used);
	CHECK(r == DOCK_HTTP_DONE);
	CHECK(used == strlen(first));
	CHECK(used < strlen(both));
	CHECK(strcmp(h.path, "/v1/enrol") == 0);
	CHECK(h.body && strcmp(h.body, "{}") == 0);
	/* a finished message takes nothing more */
	r = dock_http_feed(&h, both + used, strlen(both) - used, &used);
	CHECK(r == DOCK_HTTP_DONE && used == 0);
	dock_http_reset(&h);

	dock_http_init(&h, DOCK_HTTP_REQUEST, DOCK_MAX_BODY);
	r = dock_http_feed(&h, both + strlen(first), strlen(second), &used);
	CHECK(r == DOCK_HTTP_DONE && used == strlen(second));
	CHECK(strcmp(h.path, "/v1/renew") == 0);
	CHECK(h.body && strcmp(h.body, "[1]") == 0);
	dock_http_reset(&h);

	/* bodiless first request */
	snprintf(both, sizeof(both), "GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n");
	dock_http_init(&h, DOCK_HTTP_REQUEST, DOCK_MAX_BODY);
	r = dock_http_feed(&h, both, strlen(both), &used);
	CHECK(r == DOCK_HTTP_DONE && used == 19 && strcmp(h.path, "/a") == 0);
	dock_http_reset(&h);
	split_invariant(DOCK_HTTP_REQUEST, both);
}

static void arguments(void)
{
	struct dock_http h;
	size_t used = 99;
	const char *bad = "HELLO / HTTP/1.1\r\n\r\n";

	dock_http_init(&h, DOCK_HTTP_REQUEST, DOCK_MAX_BODY);
	CHECK(dock_http_feed(&h, NULL, 0, &used) == DOCK_HTTP_MORE && used == 0);
	CHECK(dock_http_feed(&h, "", 0, &used) == DOCK_HTTP_MORE && used == 0);
	CHECK(dock_http_feed(&h, bad, strlen(bad), &used) == -EBADMSG);
	CHECK(h.why[0] != 0);
	/* an error sticks */
	CHECK(dock_http_feed(&h, "GET / HTTP/1.1\r\n\r\n", 18, &used) == -EBADMSG && used == 0);
	dock_http_reset(&h);
	dock_http_reset(&h);    /* twice is harmless */
	dock_http_reset(NULL);
	/* max_body 0: any body is too large, bodiless requests pass */
	dock_http_init(&h, DOCK_HTTP_REQUEST, 0);
	CHECK(dock_http_feed(&h, "POST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx", 39, &used) == -EBADMSG);
	CHECK(h.error == DOCK_C_TOO_LARGE);
	dock_http_reset(&h);
	dock_http_init(&h, DOCK_HTTP_REQUEST, 0);
	CHECK(dock_http_feed(&h, "GET / HTTP/1.1\r\n\r\n", 18, &used) == DOCK_HTTP_DONE);
	dock_http_reset(&h);
}

int main(void)
{
	request_with_body();
	request_without_body();
	header_values();
	path_limit();
	header_limits();
	transfer_encoding();
	body_limit();
	malformed();
	responses();
	pipelined();
	arguments();
	return check_done();
}
