/* swift.c - Swift object-store client on libcurl for the forwarder. The
 * destination's HTTPS certificates from the connection file are the only
 * trust anchors (CAINFO_BLOB); without them only plain HTTP is possible, and
 * the connection file import allowed that only with an explicit flag. */
#include "controller/swift.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct swift {
	struct swift_config cfg;
	CURL *curl;
	char token[512];
	char storage_url[1024];
	long http;
	char err[256];
	/* answer headers */
	char h_token[512], h_url[1024], h_etag[64];
	const char *want_header;
	char *want_value;
	size_t want_cap;
	/* answer body */
	char *body;
	size_t body_len, body_max;
	int body_overflow;
};

const char *swift_strerror(int r)
{
	switch (r) {
	case SWIFT_OK: return "ok";
	case SWIFT_E_NETWORK: return "network or TLS failure";
	case SWIFT_E_AUTH: return "authentication refused";
	case SWIFT_E_REJECTED: return "rejected by the destination (400)";
	case SWIFT_E_FULL: return "destination out of storage or licences (402/507)";
	case SWIFT_E_BUSY: return "destination busy (503/500)";
	case SWIFT_E_INTEGRITY: return "ETag mismatch: the destination did not store what was sent";
	case SWIFT_E_NOT_FOUND: return "not found (404)";
	case SWIFT_E_LOCAL: return "local failure";
	default: return "unexpected answer";
	}
}

long swift_last_http(swift_t *s)
{
	return s ? s->http : 0;
}

const char *swift_last_error(swift_t *s)
{
	return s ? s->err : "no client";
}

int swift_open(const struct swift_config *cfg, swift_t **ret)
{
	swift_t *s;

	if (!cfg || !ret || cfg->n_auth_uris == 0 || cfg->n_auth_uris > SWIFT_MAX_URIS ||
	    !cfg->user || !cfg->key)
		return SWIFT_E_LOCAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return SWIFT_E_LOCAL;
	s->cfg = *cfg;
	s->curl = curl_easy_init();
	if (!s->curl) {
		free(s);
		return SWIFT_E_LOCAL;
	}
	*ret = s;
	return SWIFT_OK;
}

void swift_close(swift_t *s)
{
	if (!s)
		return;
	curl_easy_cleanup(s->curl);
	explicit_bzero(s->token, sizeof(s->token));
	free(s);
}

int swift_meta_header(const char *kind, const char *key, char *out, size_t cap)
{
	int n = snprintf(out, cap, "X-%s-Meta-", kind), up = 1;

	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	for (const char *k = key; *k; k++) {
		if ((size_t)n + 1 >= cap)
			return -ENOSPC;
		if (!isalnum((unsigned char)*k) && *k != '-')
			return -EINVAL;
		out[n++] = up ? (char)toupper((unsigned char)*k) : (char)tolower((unsigned char)*k);
		up = *k == '-';
	}
	out[n] = 0;
	return 0;
}

/* ---- curl plumbing ----------------------------------------------------------- */

int swift_header_value(const char *line, size_t len, const char *name, char *out, size_t cap)
{
	const char *colon = line ? memchr(line, ':', len) : NULL;
	const char *v;
	size_t klen, vlen;

	if (!colon || !name || !out || cap == 0)
		return 0;
	klen = (size_t)(colon - line);
	if (klen != strlen(name) || strncasecmp(line, name, klen) != 0)
		return 0;
	v = colon + 1;
	vlen = len - klen - 1;
	while (vlen && (*v == ' ' || *v == '\t')) {
		v++;
		vlen--;
	}
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') {
		v++;
		vlen -= 2;
	}
	/* a control character (a bare CR, NUL, ...) could smuggle a header into
	 * the requests that send this value back (the token): refused */
	for (size_t i = 0; i < vlen; i++) {
		if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) {
			out[0] = 0;
			return -1;
		}
	}
	if (vlen >= cap)
		vlen = cap - 1;
	memcpy(out, v, vlen);
	out[vlen] = 0;
	return 1;
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	swift_t *s = ud;
	size_t len = size * n;

	if (swift_header_value(buf, len, "X-Auth-Token", s->h_token, sizeof(s->h_token)) == 0 &&
	    swift_header_value(buf, len, "X-Storage-Url", s->h_url, sizeof(s->h_url)) == 0 &&
	    swift_header_value(buf, len, "Etag", s->h_etag, sizeof(s->h_etag)) == 0 &&
	    s->want_header)
		swift_header_value(buf, len, s->want_header, s->want_value, s->want_cap);
	return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
	swift_t *s = ud;
	size_t len = size * n;

	if (!s->body_max)
		return len;   /* not wanted: drop */
	if (s->body_len + len > s->body_max) {
		s->body_overflow = 1;
		return 0;
	}
	memcpy(s->body + s->body_len, buf, len);
	s->body_len += len;
	return len;
}

struct upload {
	FILE *f;
	const uint8_t *data;
	uint64_t len, pos;
};

static size_t on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct upload *u = ud;
	size_t want = size * n;

	if (u->f)
		return fread(buf, 1, want, u->f);
	if (want > u->len - u->pos)
		want = (size_t)(u->len - u->pos);
	memcpy(buf, u->data + u->pos, want);
	u->pos += want;
	return want;
}

static int classify(swift_t *s, CURLcode cc)
{
	if (cc != CURLE_OK) {
		snprintf(s->err, sizeof(s->err), "%s", curl_easy_strerror(cc));
		return SWIFT_E_NETWORK;
	}
	snprintf(s->err, sizeof(s->err), "HTTP %ld", s->http);
	if (s->http >= 200 && s->http < 300)
		return SWIFT_OK;
	switch (s->http) {
	case 400: return SWIFT_E_REJECTED;
	case 401: return SWIFT_E_AUTH;
	case 402:
	case 507: return SWIFT_E_FULL;
	case 404: return SWIFT_E_NOT_FOUND;
	case 500:
	case 502:
	case 503:
	case 504: return SWIFT_E_BUSY;
	default: return SWIFT_E_OTHER;
	}
}

static void base_options(swift_t *s, const char *url)
{
	CURL *c = s->curl;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, s->cfg.timeout_s > 0 ? s->cfg.timeout_s : 15L);
	/* A stalled transfer (under 1 kB/s for the timeout) is a network error. */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, s->cfg.timeout_s > 0 ? s->cfg.timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, s);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	if (s->cfg.ca_pem) {
		struct curl_blob blob = { (void *)s->cfg.ca_pem, strlen(s->cfg.ca_pem),
					  CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
		curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	} else {
		curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	}
	s->h_token[0] = s->h_url[0] = s->h_etag[0] = 0;
	s->body_len = 0;
	s->body_overflow = 0;
	s->http = 0;
}

static int run(swift_t *s, struct curl_slist *hdrs)
{
	CURLcode cc;

	curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, hdrs);
	cc = curl_easy_perform(s->curl);
	curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->http);
	return classify(s, cc);
}

static struct curl_slist *add_header(struct curl_slist *l, int *failed, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static struct curl_slist *add_header(struct curl_slist *l, int *failed, const char *fmt, ...)
{
	char line[2048];
	struct curl_slist *n;
	va_list ap;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len < 0 || (size_t)len >= sizeof(line)) {
		*failed = 1;
		return l;
	}
	n = curl_slist_append(l, line);
	if (!n)
		*failed = 1;
	explicit_bzero(line, sizeof(line));
	return n ? n : l;
}

/* ---- auth ------------------------------------------------------------------ */

int swift_auth(swift_t *s)
{
	int r = SWIFT_E_NETWORK;

	if (!s)
		return SWIFT_E_LOCAL;
	if (s->token[0])
		return SWIFT_OK;
	for (size_t i = 0; i < s->cfg.n_auth_uris; i++) {
		struct curl_slist *h = NULL;
		int failed = 0;

		base_options(s, s->cfg.auth_uris[i]);
		h = add_header(h, &failed, "X-Auth-User: %s", s->cfg.user);
		h = add_header(h, &failed, "X-Auth-Key: %s", s->cfg.key);
		r = failed ? SWIFT_E_LOCAL : run(s, h);
		curl_slist_free_all(h);
		if (r == SWIFT_OK && (!s->h_token[0] || !s->h_url[0])) {
			snprintf(s->err, sizeof(s->err), "auth answer without X-Auth-Token/X-Storage-Url");
			r = SWIFT_E_OTHER;
		}
		if (r == SWIFT_OK) {
			memcpy(s->token, s->h_token, sizeof(s->token));
			memcpy(s->storage_url, s->h_url, sizeof(s->storage_url));
			return SWIFT_OK;
		}
	}
	return r;
}

/* storage_url/escaped(container)[/escaped(object)] */
static int object_url(swift_t *s, const char *container, const char *object, char *out, size_t cap)
{
	char *c = curl_easy_escape(s->curl, container, 0);
	char *o = object ? curl_easy_escape(s->curl, object, 0) : NULL;
	int n = c && (o || !object)
			? snprintf(out, cap, "%s/%s%s%s", s->storage_url, c, o ? "/" : "", o ? o : "")
			: -1;

	curl_free(c);
	curl_free(o);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

static struct curl_slist *meta_headers(swift_t *s, struct curl_slist *h, const char *kind,
				       const struct swift_meta *meta, size_t n, int *failed)
{
	for (size_t i = 0; i < n && !*failed; i++) {
		char name[128];
		char *v;
		if (swift_meta_header(kind, meta[i].key, name, sizeof(name)) < 0) {
			*failed = 1;
			break;
		}
		v = curl_easy_escape(s->curl, meta[i].value ? meta[i].value : "", 0);
		if (!v) {
			*failed = 1;
			break;
		}
		h = add_header(h, failed, "%s: %s", name, v);
		curl_free(v);
	}
	return h;
}

/* One authenticated request, re-authenticating once on 401. prepare() sets
 * the method and body; it is called again for the retry. */
typedef int (*prepare_fn)(swift_t *s, void *ud, const char *url);

static int authed(swift_t *s, const char *container, const char *object, prepare_fn prep,
		  void *ud, struct curl_slist *extra)
{
	char url[4096];
	int r, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		struct curl_slist *h = NULL;
		int failed = 0;

		if ((r = swift_auth(s)) != SWIFT_OK)
			return r;
		if (object_url(s, container, object, url, sizeof(url)) < 0)
			return SWIFT_E_LOCAL;
		base_options(s, url);
		if ((r = prep(s, ud, url)) != SWIFT_OK)
			return r;
		h = add_header(h, &failed, "X-Auth-Token: %s", s->token);
		h = add_header(h, &failed, "Expect:");
		for (struct curl_slist *e = extra; e && !failed; e = e->next)
			h = add_header(h, &failed, "%s", e->data);
		r = failed ? SWIFT_E_LOCAL : run(s, h);
		curl_slist_free_all(h);
		if (r != SWIFT_E_AUTH)
			return r;
		explicit_bzero(s->token, sizeof(s->token));   /* expired: log in again */
	}
	return r;
}

/* ---- containers -------------------------------------------------------------- */

static int prep_put_empty(swift_t *s, void *ud, const char *url)
{
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)0);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, ud);
	return SWIFT_OK;
}

static int prep_post(swift_t *s, void *ud, const char *url)
{
	curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, 0L);
	return SWIFT_OK;
}

static int container_op(swift_t *s, const char *container, const struct swift_meta *meta,
			size_t n, int post)
{
	struct upload empty = { 0 };
	struct curl_slist *h = NULL;
	int failed = 0, r;

	if (!s || !container || (n && !meta) || n > SWIFT_MAX_META)
		return SWIFT_E_LOCAL;
	h = meta_headers(s, h, "Container", meta, n, &failed);
	r = failed ? SWIFT_E_LOCAL
		   : authed(s, container, NULL, post ? prep_post : prep_put_empty, &empty, h);
	curl_slist_free_all(h);
	return r;
}

int swift_put_container(swift_t *s, const char *container, const struct swift_meta *meta,
			size_t n_meta)
{
	return container_op(s, container, meta, n_meta, 0);
}

int swift_post_container(swift_t *s, const char *container, const struct swift_meta *meta,
			 size_t n_meta)
{
	return container_op(s, container, meta, n_meta, 1);
}

/* ---- objects ----------------------------------------------------------------- */

struct put_ctx {
	const char *path;
	struct upload up;
};

static int prep_put(swift_t *s, void *ud, const char *url)
{
	struct put_ctx *p = ud;

	if (p->up.f)
		fclose(p->up.f);
	p->up.f = NULL;
	p->up.pos = 0;
	if (p->path && !(p->up.f = fopen(p->path, "rbe"))) {
		snprintf(s->err, sizeof(s->err), "cannot open %s", p->path);
		return SWIFT_E_LOCAL;
	}
	curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(s->curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)p->up.len);
	curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(s->curl, CURLOPT_READDATA, &p->up);
	return SWIFT_OK;
}

int swift_put_object(swift_t *s, const char *container, const char *object, const char *path,
		     const void *data, uint64_t len, const char md5_hex[33],
		     const char *content_type, const struct swift_meta *meta, size_t n_meta)
{
	struct put_ctx p = { .path = path, .up = { .data = data, .len = len } };
	struct curl_slist *h = NULL;
	int failed = 0, r;

	if (!s || !container || !object || (!path && !data && len) || !md5_hex ||
	    strlen(md5_hex) != 32 || n_meta > SWIFT_MAX_META)
		return SWIFT_E_LOCAL;
	h = add_header(h, &failed, "ETag: %s", md5_hex);
	h = add_header(h, &failed, "Content-Type: %s",
		       content_type ? content_type : "application/octet-stream");
	h = meta_headers(s, h, "Object", meta, n_meta, &failed);
	r = failed ? SWIFT_E_LOCAL : authed(s, container, object, prep_put, &p, h);
	curl_slist_free_all(h);
	if (p.up.f)
		fclose(p.up.f);
	/* The server checked our ETag (422 otherwise); we check its answer. */
	if (r == SWIFT_OK && strcasecmp(s->h_etag, md5_hex) != 0) {
		snprintf(s->err, sizeof(s->err), "stored object's ETag %.40s differs from %s",
			 s->h_etag, md5_hex);
		r = SWIFT_E_INTEGRITY;
	}
	if (r == SWIFT_E_OTHER && s->http == 422)
		r = SWIFT_E_INTEGRITY;
	return r;
}

static int prep_get(swift_t *s, void *ud, const char *url)
{
	curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
	return SWIFT_OK;
}

int swift_get_object(swift_t *s, const char *container, const char *object, size_t max,
		     char **ret_body, size_t *ret_len, char ret_etag[64])
{
	int r;

	if (!s || !container || !object || !ret_body || !ret_len || max == 0)
		return SWIFT_E_LOCAL;
	s->body = malloc(max + 1);
	if (!s->body)
		return SWIFT_E_LOCAL;
	s->body_max = max;
	r = authed(s, container, object, prep_get, NULL, NULL);
	s->body_max = 0;
	if (r == SWIFT_OK && s->body_overflow) {
		snprintf(s->err, sizeof(s->err), "object larger than %zu bytes", max);
		r = SWIFT_E_OTHER;
	}
	if (r != SWIFT_OK) {
		free(s->body);
		s->body = NULL;
		return r;
	}
	s->body[s->body_len] = 0;
	*ret_body = s->body;
	*ret_len = s->body_len;
	if (ret_etag)
		snprintf(ret_etag, 64, "%s", s->h_etag);
	s->body = NULL;
	return SWIFT_OK;
}

static int prep_head(swift_t *s, void *ud, const char *url)
{
	curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
	return SWIFT_OK;
}

int swift_head_object(swift_t *s, const char *container, const char *object,
		      const char *meta_key, char *value, size_t cap)
{
	char name[128];
	int r;

	if (!s || !container || !object || (meta_key && (!value || cap == 0)))
		return SWIFT_E_LOCAL;
	if (meta_key) {
		if (swift_meta_header("Object", meta_key, name, sizeof(name)) < 0)
			return SWIFT_E_LOCAL;
		value[0] = 0;
		s->want_header = name;
		s->want_value = value;
		s->want_cap = cap;
	}
	r = authed(s, container, object, prep_head, NULL, NULL);
	s->want_header = NULL;
	if (r == SWIFT_OK && meta_key && value[0]) {
		int n = 0;
		char *plain = curl_easy_unescape(s->curl, value, 0, &n);
		if (plain && (size_t)n < cap)
			memcpy(value, plain, (size_t)n + 1);
		curl_free(plain);
	}
	return r;
}
