/* test_dock_roundtrip.c - every dock message survives encode then decode with
 * each field equal to the byte, including the limits (full-size DER, 2 CAs, 4 pins). */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dock-protocol/dock.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed * 31u + i * 7u + (i >> 8));
}

static void csr_round_trip(size_t der_len, const char *model, const char *firmware)
{
	static struct dock_csr_req in, out;
	char why[256] = "";
	char *json = NULL;

	memset(&in, 0, sizeof(in));
	fill(in.csr, der_len, (unsigned)der_len);
	in.csr_len = der_len;
	snprintf(in.model, sizeof(in.model), "%s", model);
	snprintf(in.firmware, sizeof(in.firmware), "%s", firmware);
	CHECK(dock_encode_csr_req(&in, &json) == 0);
	if (!json)
		return;
	CHECK(dock_decode_csr_req(json, strlen(json), &out, why, sizeof(why)) == 0);
	if (why[0])
		fprintf(stderr, "  csr %zu: %s\n", der_len, why);
	CHECK(out.csr_len == der_len);
	CHECK(memcmp(out.csr, in.csr, der_len) == 0);
	CHECK(strcmp(out.model, model) == 0);
	CHECK(strcmp(out.firmware, firmware) == 0);
	free(json);
}

static void cert_round_trip(size_t n_ca, size_t n_pins, enum dock_standing standing)
{
	static struct dock_cert_resp in, out;
	char why[256] = "";
	char *json = NULL;

	memset(&in, 0, sizeof(in));
	in.standing = standing;
	snprintf(in.system_id, sizeof(in.system_id), "5e1dd31c0c995c88");
	in.cert_len = 517;
	fill(in.cert, in.cert_len, 1);
	in.n_ca = n_ca;
	for (size_t i = 0; i < n_ca; i++) {
		in.ca_len[i] = i == 0 ? DOCK_MAX_DER : 1 + i;
		fill(in.ca[i], in.ca_len[i], 10 + (unsigned)i);
	}
	in.n_pins = n_pins;
	for (size_t i = 0; i < n_pins; i++)
		fill(in.pins[i], 32, 100 + (unsigned)i);
	CHECK(dock_encode_cert_resp(&in, &json) == 0);
	if (!json)
		return;
	CHECK(dock_decode_cert_resp(json, strlen(json), &out, why, sizeof(why)) == 0);
	if (why[0])
		fprintf(stderr, "  cert %zu/%zu: %s\n", n_ca, n_pins, why);
	CHECK(out.standing == standing);
	CHECK(strcmp(out.system_id, in.system_id) == 0);
	CHECK(out.cert_len == in.cert_len);
	CHECK(memcmp(out.cert, in.cert, in.cert_len) == 0);
	CHECK(out.n_ca == n_ca);
	for (size_t i = 0; i < n_ca && i < out.n_ca; i++) {
		CHECK(out.ca_len[i] == in.ca_len[i]);
		CHECK(memcmp(out.ca[i], in.ca[i], in.ca_len[i]) == 0);
	}
	CHECK(out.n_pins == n_pins);
	for (size_t i = 0; i < n_pins && i < out.n_pins; i++)
		CHECK(memcmp(out.pins[i], in.pins[i], 32) == 0);
	free(json);
}

static void error_round_trip(enum dock_code code, enum dock_standing standing, const char *msg)
{
	struct dock_error_resp in = { .code = code, .standing = standing }, out;
	char why[256] = "";
	char *json = NULL;

	snprintf(in.message, sizeof(in.message), "%s", msg);
	CHECK(dock_encode_error(&in, &json) == 0);
	if (!json)
		return;
	CHECK(dock_decode_error(json, strlen(json), &out, why, sizeof(why)) == 0);
	if (why[0])
		fprintf(stderr, "  error %d: %s\n", (int)code, why);
	CHECK(out.code == code);
	CHECK(out.standing == standing);
	CHECK(strcmp(out.message, msg) == 0);
	free(json);
}

/* The wire form of a pin is 64 lower-case hex digits. */
static void pin_wire_form(void)
{
	static struct dock_cert_resp in;
	char *json = NULL;

	memset(&in, 0, sizeof(in));
	in.cert_len = 1;
	in.n_ca = 1;
	in.ca_len[0] = 1;
	in.n_pins = 1;
	for (int i = 0; i < 32; i++)
		in.pins[0][i] = (uint8_t)(0xa0 + i);
	CHECK(dock_encode_cert_resp(&in, &json) == 0);
	CHECK(json && strstr(json, "\"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf\""));
	free(json);
}

int main(void)
{
	static const char long_text[] =
		"123456789012345678901234567890123456789012345678901234567890123"; /* 63 */
	char msg[256];

	for (size_t n = 1; n <= 7; n++)
		csr_round_trip(n, "BWC-1000", "0.1.0");
	csr_round_trip(DOCK_MAX_DER - 1, "", "");
	csr_round_trip(DOCK_MAX_DER, long_text, long_text);
	csr_round_trip(300, "model \"quoted\" \\ é", "fw/1.2");

	for (int s = DOCK_S_UNKNOWN; s <= DOCK_S_LOST; s++)
		cert_round_trip(1, 1, (enum dock_standing)s);
	cert_round_trip(2, 2, DOCK_S_GRACE);
	cert_round_trip(1, 2, DOCK_S_VALID);
	cert_round_trip(2, DOCK_MAX_PINS, DOCK_S_ENROLLED);
	pin_wire_form();

	memset(msg, 'm', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = 0;
	for (int c = 0; c < DOCK_C__COUNT; c++)
		error_round_trip((enum dock_code)c, DOCK_S_HELD, "certificate expired");
	error_round_trip(DOCK_C_HELD, DOCK_S_UNKNOWN, "");
	error_round_trip(DOCK_C_LOST, DOCK_S_LOST, msg);

	/* Encoders validate their arguments. */
	{
		static struct dock_csr_req c;
		static struct dock_cert_resp r;
		struct dock_error_resp e = { 0 };
		char *json = NULL;

		memset(&c, 0, sizeof(c));
		CHECK(dock_encode_csr_req(NULL, &json) == -EINVAL);
		c.csr_len = 1;
		CHECK(dock_encode_csr_req(&c, NULL) == -EINVAL);
		c.csr_len = 0;
		CHECK(dock_encode_csr_req(&c, &json) == -EINVAL);
		c.csr_len = DOCK_MAX_DER + 1;
		CHECK(dock_encode_csr_req(&c, &json) == -EINVAL);

		memset(&r, 0, sizeof(r));
		r.cert_len = r.n_ca = r.n_pins = r.ca_len[0] = 1;
		CHECK(dock_encode_cert_resp(NULL, &json) == -EINVAL);
		CHECK(dock_encode_cert_resp(&r, NULL) == -EINVAL);
		r.cert_len = 0;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		r.cert_len = DOCK_MAX_DER + 1;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		r.cert_len = 1;
		r.n_ca = 0;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		r.n_ca = DOCK_MAX_CA + 1;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		r.n_ca = 1;
		r.n_pins = 0;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		r.n_pins = DOCK_MAX_PINS + 1;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		r.n_pins = 1;
		/* A CA length outside 1..DOCK_MAX_DER would produce a body the
		 * decoder refuses (0) or read past ca[i] (too large). */
		r.ca_len[0] = 0;
		json = NULL;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		free(json);
		json = NULL;
		r.ca_len[0] = DOCK_MAX_DER + 1;
		CHECK(dock_encode_cert_resp(&r, &json) == -EINVAL);
		free(json);
		json = NULL;

		CHECK(dock_encode_error(NULL, &json) == -EINVAL);
		CHECK(dock_encode_error(&e, NULL) == -EINVAL);
	}
	return check_done();
}
