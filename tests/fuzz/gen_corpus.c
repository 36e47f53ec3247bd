/* gen_corpus.c - writes the seed corpora of tests/fuzz with the project's own
 * encoders and writers, so that seeds are real messages and files: dock
 * protocol bodies and HTTP framing, receipts, a recording store, an audit
 * trail, a key object, a connection file. Run by tests/fuzz/gen-corpus, which
 * makes the keys and certificates with openssl. Usage:
 *   gen_corpus CORPUS_DIR CERT.der CSR.der RSA_PUB.der */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bwc/store.h"
#include "dock-protocol/dock.h"
#include "shared/audit.h"
#include "shared/envelope.h"
#include "tests/fuzz/fuzz.h"
#include "tests/unit/store/fixture.h"

#define ID "0f8fad5b-d9cb-469f-a165-70867728950e"

static const char *corpus;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	(void)data;
	(void)size;
	return 0;   /* only to satisfy fuzz.h's prototype */
}

static void die(const char *what, int r)
{
	fprintf(stderr, "gen_corpus: %s failed (%d)\n", what, r);
	exit(1);
}

/* corpus/TARGET/NAME = prefix bytes + data */
static void seed(const char *target, const char *name, const void *prefix, size_t plen,
		 const void *data, size_t len)
{
	char path[PATH_MAX];
	uint8_t *buf = malloc(plen + len + 1);

	if (!buf)
		die("malloc", -ENOMEM);
	snprintf(path, sizeof(path), "%s/%s", corpus, target);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", corpus, target, name);
	memcpy(buf, prefix, plen);
	memcpy(buf + plen, data, len);
	fz_write(path, buf, plen + len);
	chmod(path, 0644);
	free(buf);
}

static void seed_text(const char *target, const char *name, uint8_t sel, const char *text)
{
	seed(target, name, &sel, 1, text, strlen(text));
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(1 << 20);

	if (!f || !buf)
		die(path, -errno);
	*len = fread(buf, 1, 1 << 20, f);
	fclose(f);
	return buf;
}

static void fill(uint8_t *p, size_t n, unsigned k)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 37 + k);
}

static struct dock_receipt receipt(const uint8_t *cert, size_t cert_len, int n)
{
	struct dock_receipt r;

	memset(&r, 0, sizeof(r));
	snprintf(r.system_id, sizeof(r.system_id), "5e1dd31c0c995c88");
	snprintf(r.serial, sizeof(r.serial), "RIG00001");
	snprintf(r.recording_id, sizeof(r.recording_id), ID);
	snprintf(r.clip_id, sizeof(r.clip_id), "%04d", n);
	r.size = 4194304u * (unsigned)n + 17;
	fill(r.sha256, 32, (unsigned)n);
	r.complete = n != 2;
	r.time = 1795428000 + n * 60;
	memcpy(r.signer, cert, cert_len);
	r.signer_len = cert_len;
	fill(r.sig, 71, 3);
	r.sig[0] = 0x30;
	r.sig[1] = 69;
	r.sig_len = 71;
	return r;
}

static void dock_json(const uint8_t *cert, size_t cert_len, const uint8_t *csr, size_t csr_len,
		      const uint8_t *pub, size_t pub_len)
{
	char *t;
	int r;

	struct dock_csr_req q = { .csr_len = csr_len };
	memcpy(q.csr, csr, csr_len);
	snprintf(q.model, sizeof(q.model), "BWC-1000");
	snprintf(q.firmware, sizeof(q.firmware), "0.1.0");
	if ((r = dock_encode_csr_req(&q, &t)) < 0)
		die("csr_req", r);
	seed_text("dock_json", "csr_req", 0, t);
	free(t);

	struct dock_cert_resp *c = calloc(1, sizeof(*c));
	c->standing = DOCK_S_GRACE;
	snprintf(c->system_id, sizeof(c->system_id), "5e1dd31c0c995c88");
	memcpy(c->cert, cert, cert_len);
	c->cert_len = cert_len;
	memcpy(c->ca[0], cert, cert_len);
	c->ca_len[0] = cert_len;
	c->n_ca = 1;
	fill(c->pins[0], 32, 9);
	c->n_pins = 1;
	if ((r = dock_encode_cert_resp(c, &t)) < 0)
		die("cert_resp", r);
	seed_text("dock_json", "cert_resp", 1, t);
	free(t);
	memcpy(c->dest_key, pub, pub_len);
	c->dest_key_len = pub_len;
	snprintf(c->dest_key_id, sizeof(c->dest_key_id), "ems-key-2024");
	if ((r = dock_encode_cert_resp(c, &t)) < 0)
		die("cert_resp", r);
	seed_text("dock_json", "cert_resp_dest_key", 1, t);
	free(t);
	free(c);

	struct dock_error_resp e = { .code = DOCK_C_HELD, .standing = DOCK_S_HELD };
	snprintf(e.message, sizeof(e.message), "beyond grace: re-accept with the master key");
	if ((r = dock_encode_error(&e, &t)) < 0)
		die("error", r);
	seed_text("dock_json", "error", 2, t);
	free(t);

	struct dock_plan p = { 3, 7, 123456789 };
	if ((r = dock_encode_plan(&p, &t)) < 0)
		die("plan", r);
	seed_text("dock_json", "plan", 3, t);
	free(t);

	struct dock_commit m = { .size = 4194321, .complete = 1 };
	fill(m.sha256, 32, 1);
	if ((r = dock_encode_commit(&m, &t)) < 0)
		die("commit", r);
	seed_text("dock_json", "commit", 4, t);
	free(t);

	struct dock_receipt rc = receipt(cert, cert_len, 1);
	if ((r = dock_encode_receipt(&rc, &t)) < 0)
		die("receipt", r);
	seed_text("dock_json", "receipt", 5, t);
	free(t);

	struct dock_clip_status *st = calloc(1, sizeof(*st));
	st->state = DOCK_CLIP_PARTIAL;
	st->offset = 8388608;
	if ((r = dock_encode_clip_status(st, &t)) < 0)
		die("clip_status", r);
	seed_text("dock_json", "clip_status_partial", 6, t);
	free(t);
	st->state = DOCK_CLIP_COMMITTED;
	st->has_receipt = 1;
	st->receipt = rc;
	if ((r = dock_encode_clip_status(st, &t)) < 0)
		die("clip_status", r);
	seed_text("dock_json", "clip_status_committed", 6, t);
	free(t);
	free(st);

	/* receipts.log: one receipt per line, as the camera appends them */
	char log[65536] = "";
	for (int i = 1; i <= 3; i++) {
		struct dock_receipt x = receipt(cert, cert_len, i);
		if ((r = dock_encode_receipt(&x, &t)) < 0)
			die("receipt", r);
		strcat(log, t);
		strcat(log, "\n");
		if (i == 1)
			seed("receipts_line", "one", "", 0, t, strlen(t));
		free(t);
	}
	seed("receipts_line", "receipts.log", "", 0, log, strlen(log));
}

static void http(void)
{
	static const char *body = "{\"recordings\":1,\"clips\":2,\"bytes\":8388608}";
	char head[512], msg[1024];
	uint8_t pre[2] = { 0, 128 };
	int n;

	n = dock_http_request_head(head, sizeof(head), "POST", "/v1/offload/plan", strlen(body));
	snprintf(msg, sizeof(msg), "%.*s%s", n, head, body);
	seed("dock_http_request", "plan", pre, 2, msg, strlen(msg));
	pre[0] = 1;   /* byte by byte */
	seed("dock_http_request", "plan_bytewise", pre, 2, msg, strlen(msg));
	n = dock_http_request_head_ct(head, sizeof(head), "PUT",
				      "/v1/recordings/" ID "/clips/0001?offset=0",
				      "application/octet-stream", 16);
	snprintf(msg, sizeof(msg), "%.*s0123456789abcdef", n, head);
	pre[0] = 4 | (1 << 3);   /* streamed to on_body */
	seed("dock_http_request", "clip_put_streamed", pre, 2, msg, strlen(msg));
	n = dock_http_request_head(head, sizeof(head), "GET", "/v1/recordings/" ID "/clips/0002", 0);
	pre[0] = 0;
	seed("dock_http_request", "clip_get", pre, 2, head, (size_t)n);

	n = dock_http_response_head(head, sizeof(head), 200, 13);
	snprintf(msg, sizeof(msg), "%.*s{\"bytes\":100}", n, head);
	seed("dock_http_response", "ok", pre, 2, msg, strlen(msg));
	/* two answers back to back */
	n = dock_http_response_head(head, sizeof(head), 403, 52);
	snprintf(msg + strlen(msg), sizeof(msg) - strlen(msg),
		 "%.*s{\"error\":\"held\",\"standing\":\"held\",\"message\":\"x\"}", n, head);
	seed("dock_http_response", "two", pre, 2, msg, strlen(msg));
}

static void store(const uint8_t *pub, size_t pub_len)
{
	char dir[PATH_MAX], path[PATH_MAX + 128];
	struct store_recording r;
	store_t *s;
	uint8_t bytes[1000];
	size_t len;
	int e;

	fz_mkdtemp(dir);
	if ((e = store_open(dir, &s)) < 0)
		die("store_open", e);
	fx_fill(&r);   /* the store unit tests' recording */
	if ((e = store_recording_begin(s, &r)) < 0)
		die("store_recording_begin", e);
	for (int i = 0; i < 2; i++) {
		char part[PATH_MAX];
		if ((e = store_clip_begin(s, &r, i ? "mp4" : "mkv", part, sizeof(part))) < 0)
			die("store_clip_begin", e);
		fill(bytes, sizeof(bytes), (unsigned)i);
		fz_write(part, bytes, sizeof(bytes));
		if ((e = store_clip_end(s, &r)) < 0)
			die("store_clip_end", e);
		if (i == 0) {   /* an open recording, one clip */
			snprintf(path, sizeof(path), "%s/recordings/%s/recording.json", dir, r.id);
			uint8_t *j = slurp(path, &len);
			seed("store_recording", "open", "\0", 1, j, len);
			free(j);
		}
	}
	struct store_place off = { .time = 0 };
	snprintf(off.reason, sizeof(off.reason), "holster");
	if ((e = store_recording_end(s, &r, &off)) < 0)
		die("store_recording_end", e);
	snprintf(path, sizeof(path), "%s/recordings/%s/recording.json", dir, r.id);
	uint8_t *j = slurp(path, &len);
	seed("store_recording", "closed", "\0", 1, j, len);
	free(j);
	store_recording_free(&r);

	/* a clip encrypted for the destination: key object beside it */
	if ((e = store_set_destination_key(s, pub, pub_len, "ems-key-2024")) < 0 ||
	    (e = store_save_destination_key(s, pub, pub_len, "ems-key-2024")) < 0)
		die("destination key", e);
	snprintf(path, sizeof(path), "%s/destination-key.json", dir);
	j = slurp(path, &len);
	seed("store_recording", "destination_key", "\1", 1, j, len);
	free(j);
	fx_fill(&r);   /* the store unit tests' recording */
	if ((e = store_recording_begin(s, &r)) < 0)
		die("store_recording_begin", e);
	char part[PATH_MAX];
	if ((e = store_clip_begin(s, &r, "mkv", part, sizeof(part))) < 0)
		die("store_clip_begin", e);
	fz_write(part, bytes, sizeof(bytes));
	if ((e = store_clip_end(s, &r)) < 0)
		die("store_clip_end", e);
	snprintf(path, sizeof(path), "%s/recordings/%s/recording.json", dir, r.id);
	j = slurp(path, &len);
	seed("store_recording", "encrypted", "\0", 1, j, len);
	if (r.clips[0].key_object[0])
		seed_text("envelope_key", "key_object", 1, r.clips[0].key_object);
	free(j);
	store_recording_free(&r);
	store_close(s);
	fz_rmtree(dir);
}

static void audit(void)
{
	char dir[PATH_MAX], log[PATH_MAX + 16], head[PATH_MAX + 32];
	uint8_t *a, *h, *buf;
	size_t alen, hlen;
	json_t *d;

	fz_mkdtemp(dir);
	snprintf(log, sizeof(log), "%s/audit.log", dir);
	snprintf(head, sizeof(head), "%s/audit.log.head", dir);
	d = json_pack("{ss}", "system_name", "Precinct 7");
	if (audit_append(log, "system-init", NULL, d) < 0)
		die("audit_append", -1);
	json_decref(d);
	d = json_pack("{sssi}", "cert_serial", "1f2e3d", "days", 28);
	if (audit_append(log, "camera-enrolled", "RIG00001", d) < 0 ||
	    audit_append(log, "camera-renewed", "RIG00001", d) < 0 ||
	    audit_append(log, "camera-held", "RIG00002", NULL) < 0)
		die("audit_append", -1);
	json_decref(d);
	a = slurp(log, &alen);
	h = slurp(head, &hlen);
	buf = malloc(alen + 1 + hlen);
	memcpy(buf, a, alen);
	buf[alen] = 0;
	memcpy(buf + alen + 1, h, hlen);
	seed("audit_verify", "four_entries", "", 0, buf, alen + 1 + hlen);
	seed("audit_verify", "no_head", "", 0, a, alen);
	seed("audit_verify", "torn_last", "", 0, a, alen - 5);
	free(a);
	free(h);
	free(buf);
	fz_rmtree(dir);
}

int main(int argc, char **argv)
{
	uint8_t *cert, *csr, *pub;
	size_t cert_len, csr_len, pub_len;

	if (argc != 5) {
		fprintf(stderr, "usage: gen_corpus CORPUS_DIR CERT.der CSR.der RSA_PUB.der\n");
		return 2;
	}
	corpus = argv[1];
	cert = slurp(argv[2], &cert_len);
	csr = slurp(argv[3], &csr_len);
	pub = slurp(argv[4], &pub_len);
	dock_json(cert, cert_len, csr, csr_len, pub, pub_len);
	http();
	store(pub, pub_len);
	audit();
	free(cert);
	free(csr);
	free(pub);
	return 0;
}
