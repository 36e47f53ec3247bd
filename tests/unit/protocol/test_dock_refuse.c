/* test_dock_refuse.c - the JSON decoders refuse hostile bodies (syntax, types,
 * duplicates, unknown members, base64, sizes, counts, pins, text) with
 * -EBADMSG and a reason that names the member at fault. */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dock-protocol/dock.h"

enum msg { CSR, CERT, ERR };

struct refusal {
	enum msg kind;
	const char *json;
	const char *names;   /* must appear in why; NULL: not checked */
};

#define PIN "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define CERT_HEAD "{\"standing\":\"valid\",\"system_id\":\"s1\",\"certificate\":\"AAEC\","
#define CERT_OK CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}"

static const struct refusal cases[] = {
	/* not JSON / not an object */
	{ CSR, "nope", NULL },
	{ CSR, "{", NULL },
	{ CSR, "{\"csr\":\"AAEC\"", NULL },
	{ CSR, "{\"csr\":\"AAEC\"} x", NULL },
	{ CSR, "[\"AAEC\"]", NULL },
	{ CSR, "\"AAEC\"", NULL },
	{ CSR, "null", NULL },
	{ CERT, "42", NULL },
	{ ERR, "[]", NULL },
	/* duplicate keys, unknown members */
	{ CSR, "{\"csr\":\"AAEC\",\"csr\":\"AAEC\"}", "csr" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"],\"pins\":[]}", "pins" },
	{ ERR, "{\"error\":\"held\",\"error\":\"lost\"}", "error" },
	{ CSR, "{\"csr\":\"AAEC\",\"serial\":\"X\"}", "serial" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"],\"key\":1}", "key" },
	{ ERR, "{\"error\":\"held\",\"retry\":5}", "retry" },
	{ CSR, "{\"Csr\":\"AAEC\"}", "Csr" },
	/* wrong types, missing required members */
	{ CSR, "{}", "csr" },
	{ CSR, "{\"csr\":null}", "csr" },
	{ CSR, "{\"csr\":12}", "csr" },
	{ CSR, "{\"csr\":[\"AAEC\"]}", "csr" },
	{ CSR, "{\"csr\":\"AAEC\",\"model\":7}", "model" },
	{ CSR, "{\"csr\":\"AAEC\",\"firmware\":null}", "firmware" },
	{ CSR, "{\"csr\":\"AAEC\",\"firmware\":true}", "firmware" },
	{ CERT, "{\"system_id\":\"s1\",\"certificate\":\"AAEC\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "standing" },
	{ CERT, "{\"standing\":1,\"system_id\":\"s1\",\"certificate\":\"AAEC\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "standing" },
	{ CERT, "{\"standing\":\"valid\",\"certificate\":\"AAEC\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "system_id" },
	{ CERT, "{\"standing\":\"valid\",\"system_id\":\"s1\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "certificate" },
	{ CERT, "{\"standing\":\"valid\",\"system_id\":\"s1\",\"certificate\":{},\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "certificate" },
	{ CERT, CERT_HEAD "\"pins\":[\"" PIN "\"]}", "ca" },
	{ CERT, CERT_HEAD "\"ca\":\"AAEC\",\"pins\":[\"" PIN "\"]}", "ca" },
	{ CERT, CERT_HEAD "\"ca\":[12],\"pins\":[\"" PIN "\"]}", "\"ca\"" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"]}", "pins" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":\"" PIN "\"}", "pins" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[1]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[null]}", "pin" },
	{ ERR, "{}", "error" },
	{ ERR, "{\"error\":3}", "error" },
	{ ERR, "{\"error\":\"held\",\"standing\":[]}", "standing" },
	{ ERR, "{\"error\":\"held\",\"message\":{}}", "message" },
	/* base64: bad characters, padding, whitespace, empty */
	{ CSR, "{\"csr\":\"\"}", "csr" },
	{ CSR, "{\"csr\":\"AAE\"}", "csr" },
	{ CSR, "{\"csr\":\"AAECA\"}", "csr" },
	{ CSR, "{\"csr\":\"AA-_\"}", "csr" },
	{ CSR, "{\"csr\":\"AA*C\"}", "csr" },
	{ CSR, "{\"csr\":\"AAé\"}", "csr" },
	{ CSR, "{\"csr\":\"A===\"}", "csr" },
	{ CSR, "{\"csr\":\"====\"}", "csr" },
	{ CSR, "{\"csr\":\"AB=A\"}", "csr" },
	{ CSR, "{\"csr\":\"AA==AAEC\"}", "csr" },
	{ CSR, "{\"csr\":\"AAEC====\"}", "csr" },
	{ CSR, "{\"csr\":\"AAEC AAEC\"}", "csr" },
	{ CSR, "{\"csr\":\" AAECAAE\"}", "csr" },
	{ CSR, "{\"csr\":\"AAEC\\nAAEC\"}", "csr" },
	{ CSR, "{\"csr\":\"AAEC\\r\\nAAE\"}", "csr" },
	{ CSR, "{\"csr\":\"AAEC\\tAAE\"}", "csr" },
	{ CERT, "{\"standing\":\"valid\",\"system_id\":\"s1\",\"certificate\":\"AA=C\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "certificate" },
	{ CERT, CERT_HEAD "\"ca\":[\"AA C\"],\"pins\":[\"" PIN "\"]}", "\"ca\"" },
	{ CERT, CERT_HEAD "\"ca\":[\"\"],\"pins\":[\"" PIN "\"]}", "\"ca\"" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\",\"AB=A\"],\"pins\":[\"" PIN "\"]}", "\"ca\"" },
	/* CA and pin counts */
	{ CERT, CERT_HEAD "\"ca\":[],\"pins\":[\"" PIN "\"]}", "ca" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\",\"AAEC\",\"AAEC\"],\"pins\":[\"" PIN "\"]}", "ca" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[]}", "pins" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\",\"" PIN "\",\"" PIN "\",\"" PIN "\",\"" PIN "\"]}", "pins" },
	/* pins: 64 lower-case hex digits exactly */
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"00112233445566778899AABBCCDDEEFF00112233445566778899aabbccddeeff\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeef\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff0\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"g0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"0x112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\" 0112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"0 112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\"]}", "pin" },
	{ CERT, CERT_HEAD "\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\",\"" PIN "x\"]}", "pin" },
	/* text members: control characters and length (63 bytes max) */
	{ CSR, "{\"csr\":\"AAEC\",\"model\":\"a\\u0001b\"}", "model" },
	{ CSR, "{\"csr\":\"AAEC\",\"model\":\"a\\nb\"}", "model" },
	{ CSR, "{\"csr\":\"AAEC\",\"firmware\":\"\\u001f\"}", "firmware" },
	{ CSR, "{\"csr\":\"AAEC\",\"firmware\":\"1.0\\u007f\"}", "firmware" },
	{ CSR, "{\"csr\":\"AAEC\",\"model\":\"a\\u0000b\"}", NULL },
	{ CSR, "{\"csr\":\"AAEC\",\"model\":\"1234567890123456789012345678901234567890123456789012345678901234\"}", "model" },
	{ CSR, "{\"csr\":\"AAEC\",\"firmware\":\"1234567890123456789012345678901234567890123456789012345678901234\"}", "firmware" },
	{ CERT, "{\"standing\":\"valid\",\"system_id\":\"1234567890123456789012345678901234567890123456789012345678901234\",\"certificate\":\"AAEC\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "system_id" },
	{ CERT, "{\"standing\":\"valid\",\"system_id\":\"s\\t1\",\"certificate\":\"AAEC\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "system_id" },
	{ CERT, "{\"standing\":\"va\\rlid\",\"system_id\":\"s1\",\"certificate\":\"AAEC\",\"ca\":[\"AAEC\"],\"pins\":[\"" PIN "\"]}", "standing" },
	{ ERR, "{\"error\":\"he\\u001bld\"}", "error" },
	{ ERR, "{\"error\":\"held\",\"message\":\"line\\nbreak\"}", "message" },
};

static int decode(enum msg kind, const char *json, size_t len, char *why, size_t whylen)
{
	static struct dock_csr_req csr;
	static struct dock_cert_resp cert;
	static struct dock_error_resp err;

	switch (kind) {
	case CSR:
		return dock_decode_csr_req(json, len, &csr, why, whylen);
	case CERT:
		return dock_decode_cert_resp(json, len, &cert, why, whylen);
	case ERR:
		return dock_decode_error(json, len, &err, why, whylen);
	}
	return 0;
}

static void refuse(const struct refusal *c)
{
	char why[256] = "";
	int r = decode(c->kind, c->json, strlen(c->json), why, sizeof(why));
	int named = !c->names || strstr(why, c->names) != NULL;

	CHECK(r == -EBADMSG);
	CHECK(why[0] != 0);
	CHECK(named);
	if (r != -EBADMSG || !why[0] || !named)
		fprintf(stderr, "  case %s -> %d, why \"%s\" (should name %s)\n", c->json, r, why,
			c->names ? c->names : "-");
}

/* Valid bodies next to the refused ones, so that a refusal is for the reason tested. */
static void accept_neighbours(void)
{
	static const struct refusal ok[] = {
		{ CSR, "{\"csr\":\"AAEC\"}", NULL },
		{ CSR, "{\"csr\":\"AAE=\",\"model\":\"\",\"firmware\":\"\"}", NULL },
		{ CSR, "{\"csr\":\"AA==\"}", NULL },
		{ CSR, "{\"csr\":\"AAEC\",\"model\":\"123456789012345678901234567890123456789012345678901234567890123\"}", NULL },
		{ CSR, " {\"csr\" : \"AAEC\"}\n", NULL },
		{ CERT, CERT_OK, NULL },
		{ CERT, CERT_HEAD "\"ca\":[\"AAEC\",\"AAEC\"],\"pins\":[\"" PIN "\",\"" PIN "\",\"" PIN "\",\"" PIN "\"]}", NULL },
		{ ERR, "{\"error\":\"held\"}", NULL },
		{ ERR, "{\"error\":\"held\",\"standing\":\"held\",\"message\":\"run bwcctl camera accept\"}", NULL },
	};
	char why[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		int r;
		why[0] = 0;
		r = decode(ok[i].kind, ok[i].json, strlen(ok[i].json), why, sizeof(why));
		CHECK(r == 0);
		if (r != 0)
			fprintf(stderr, "  valid %s refused: %s\n", ok[i].json, why);
	}
}

/* A base64 member of n zero bytes ("A" * 4/3 n with padding). */
static char *csr_of(size_t n, size_t pad_to)
{
	size_t b64 = (n + 2) / 3 * 4;
	size_t total = b64 + 16 + (pad_to > b64 + 16 ? pad_to - b64 - 16 : 0);
	char *s = malloc(total + 1);
	size_t k = 0;

	if (!s)
		abort();
	k += (size_t)sprintf(s, "{\"csr\":\"");
	for (size_t i = 0; i < b64; i++)
		s[k++] = 'A';
	if (n % 3 == 1)
		s[k - 1] = s[k - 2] = '=';
	else if (n % 3 == 2)
		s[k - 1] = '=';
	s[k++] = '"';
	while (k < total - 1)
		s[k++] = ' ';
	s[k++] = '}';
	s[k] = 0;
	return s;
}

static void sizes(void)
{
	static struct dock_csr_req m;
	char why[256] = "";
	char *s;

	s = csr_of(DOCK_MAX_DER, 0);
	CHECK(dock_decode_csr_req(s, strlen(s), &m, why, sizeof(why)) == 0);
	CHECK(m.csr_len == DOCK_MAX_DER);
	free(s);
	for (size_t n = DOCK_MAX_DER + 1; n <= DOCK_MAX_DER + 4; n++) {
		why[0] = 0;
		s = csr_of(n, 0);
		CHECK(dock_decode_csr_req(s, strlen(s), &m, why, sizeof(why)) == -EBADMSG);
		CHECK(strstr(why, "csr") != NULL);
		free(s);
	}
	/* The whole body: DOCK_MAX_BODY bytes are fine, one more is not. */
	s = csr_of(3, DOCK_MAX_BODY);
	CHECK(strlen(s) == DOCK_MAX_BODY);
	CHECK(dock_decode_csr_req(s, strlen(s), &m, why, sizeof(why)) == 0);
	free(s);
	s = csr_of(3, DOCK_MAX_BODY + 1);
	CHECK(strlen(s) == DOCK_MAX_BODY + 1);
	CHECK(dock_decode_csr_req(s, strlen(s), &m, why, sizeof(why)) == -EBADMSG);
	free(s);
}

static void arguments(void)
{
	static struct dock_csr_req csr;
	static struct dock_cert_resp cert;
	struct dock_error_resp err;
	char why[8];
	const char *body = "{\"csr\":\"AAEC\"}trailing bytes outside len";

	CHECK(dock_decode_csr_req(NULL, 5, &csr, why, sizeof(why)) == -EBADMSG);
	CHECK(dock_decode_csr_req("{}", 0, &csr, why, sizeof(why)) == -EBADMSG);
	CHECK(dock_decode_csr_req("{\"csr\":\"AAEC\"}", 14, NULL, why, sizeof(why)) == -EINVAL);
	CHECK(dock_decode_cert_resp(CERT_OK, strlen(CERT_OK), NULL, why, sizeof(why)) == -EINVAL);
	CHECK(dock_decode_error("{\"error\":\"held\"}", 16, NULL, why, sizeof(why)) == -EINVAL);
	CHECK(dock_decode_cert_resp(NULL, 0, &cert, NULL, 0) == -EBADMSG);
	CHECK(dock_decode_error(NULL, 0, &err, NULL, 0) == -EBADMSG);
	/* no why buffer, or a tiny one: still refused, no overflow */
	CHECK(dock_decode_csr_req("{\"x\":1}", 7, &csr, NULL, 0) == -EBADMSG);
	CHECK(dock_decode_csr_req("{\"x\":1}", 7, &csr, why, sizeof(why)) == -EBADMSG);
	CHECK(strlen(why) < sizeof(why));
	/* only len bytes are read */
	CHECK(dock_decode_csr_req(body, 14, &csr, NULL, 0) == 0);
	CHECK(dock_decode_csr_req(body, 13, &csr, NULL, 0) == -EBADMSG);
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		refuse(&cases[i]);
	accept_neighbours();
	sizes();
	arguments();
	return check_done();
}
