/* ca_request.c - libFuzzer target: the requests the CA process answers
 * (controller/ca.c, ca_answer), as a compromised controller process could
 * send them - the CA process holds the system CA key and the TLS server key,
 * so it must treat every field as hostile. ca.c is compiled into this target
 * to reach its request handling; its keystore is a file keystore made once
 * per run.
 *
 * Input: byte 0 the kind (% 4: 0 is no kind), byte 1 the generation, byte 2
 * the digest length, bytes 3-6 the validity in seconds (signed, big-endian),
 * byte 7 the serial's length then its bytes, one byte the common name's
 * length then its bytes, the rest the public key (LDevID) or digest (sign).
 * Lengths may overflow the fields: the CA process must notice.
 *
 * Invariants beyond "no sanitizer finding": a refused request has no bytes
 * in its answer; an issued certificate verifies under the system CA and
 * names the serial (LDevID) or common name (server) asked for; a new server
 * key is the next generation; a signature is made only with a generation the
 * CA process holds and verifies with that key. */
#include "tests/fuzz/fuzz.h"

#include "controller/ca.c"

#define T0 INT64_C(1796601600)   /* 2026-12-01T00:00:00Z */

static struct ca_state st;
static char scratch[PATH_MAX];

static void cleanup(void)
{
	fz_rmtree(scratch);
}

/* A system CA key in a file keystore, its self-signed certificate, and one
 * server key (generation 1), loaded as the CA process loads them. */
static void setup(void)
{
	struct cert_req req = { .profile = CERT_PROFILE_SYSTEM_CA };
	struct ca_request q = { .kind = CA_NEW_SERVER };
	static struct ca_reply a;
	char spec[PATH_MAX + 16], cert[PATH_MAX + 16], pem[8192];
	uint8_t spki[CERTS_MAX_SPKI], der[CERTS_MAX_DER];
	size_t spki_len = 0, der_len = 0, pem_len = 0;
	keystore_t *ks = NULL;
	ecc_key key;
	WC_RNG rng;

	fz_mkdtemp(scratch);
	atexit(cleanup);
	snprintf(spec, sizeof(spec), "file:%s/keys", scratch);
	snprintf(cert, sizeof(cert), "%s/ca.pem", scratch);
	FZ_CHECK(ks_open(spec, &ks) == KS_OK);
	FZ_CHECK(ks_create_ec(ks, CA_KEY_NAME, spki, sizeof(spki), &spki_len) == KS_OK);
	FZ_CHECK(ks_load_signer(ks, CA_KEY_NAME, &key) == KS_OK);
	FZ_CHECK(wc_InitRng(&rng) == 0);
	snprintf(req.common_name, sizeof(req.common_name), "Fuzz system CA");
	snprintf(req.organization, sizeof(req.organization), "Fuzz system");
	req.not_before = T0 - 86400;
	req.not_after = T0 + 3650L * 86400;
	req.spki = spki;
	req.spki_len = spki_len;
	FZ_CHECK(certs_issue(&req, &key, NULL, 0, &rng, der, sizeof(der), &der_len) == CERTS_OK);
	FZ_CHECK(certs_der_to_pem(der, der_len, "CERTIFICATE", pem, sizeof(pem), &pem_len) ==
		 CERTS_OK);
	fz_write(cert, pem, pem_len);
	wc_FreeRng(&rng);
	wc_ecc_free(&key);
	ks_close(ks);

	FZ_CHECK(ca_load(&st, spec, cert) == 0);
	FZ_CHECK(wc_InitRng(&st.rng) == 0);
	snprintf(st.org, sizeof(st.org), "Fuzz system");
	st.max_validity = 91L * 86400;
	snprintf(q.common_name, sizeof(q.common_name), "BWC controller fuzz");
	q.not_before = T0;
	q.not_after = T0 + 86400;
	ca_answer(&st, &q, &a);
	FZ_CHECK(a.status == CERTS_OK && a.generation == 1);
}

/* A length byte at *at, then that many bytes (fewer if the input ends),
 * copied into out truncated to cap; *at moves past them. */
static void field(const uint8_t *d, size_t n, size_t *at, void *out, size_t cap)
{
	size_t len, take;

	if (*at >= n)
		return;
	len = d[(*at)++];
	take = len < n - *at ? len : n - *at;
	memcpy(out, d + *at, take < cap ? take : cap);
	*at += take;
}

/* The request an input describes; its lengths are taken as given. */
static void request_of(const uint8_t *d, size_t n, struct ca_request *q)
{
	size_t at = 7, rest;

	memset(q, 0, sizeof(*q));
	if (n < at)
		return;
	q->kind = d[0] % 4;
	q->generation = d[1];
	q->digest_len = d[2];
	q->not_before = T0;
	q->not_after = T0 + (int32_t)((uint32_t)d[3] << 24 | (uint32_t)d[4] << 16 |
				      (uint32_t)d[5] << 8 | d[6]);
	field(d, n, &at, q->serial, sizeof(q->serial));
	field(d, n, &at, q->common_name, sizeof(q->common_name));
	rest = n - at;
	q->spki_len = (uint32_t)rest;
	memcpy(q->spki, d + at, rest < sizeof(q->spki) ? rest : sizeof(q->spki));
	memcpy(q->digest, d + at, rest < sizeof(q->digest) ? rest : sizeof(q->digest));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ca_request q;
	static struct ca_reply a;
	struct cert_info info;
	uint32_t before;
	int held, ok;

	if (!scratch[0])
		setup();
	request_of(data, size, &q);
	before = st.server_gen;
	held = server_slot(&st, q.generation) != NULL;
	ca_answer(&st, &q, &a);
	if (a.status != CERTS_OK) {
		FZ_CHECK(a.status < 0 && a.der_len == 0);
		return 0;
	}
	FZ_CHECK(a.der_len > 0 && a.der_len <= sizeof(a.der));
	switch (q.kind) {
	case CA_ISSUE_LDEVID:
		FZ_CHECK(certs_verify_issued_by(a.der, a.der_len, st.cert, st.cert_len, 0, 0) ==
			 CERTS_OK);
		FZ_CHECK(certs_parse(a.der, a.der_len, &info) == CERTS_OK &&
			 strcmp(info.serial, q.serial) == 0);
		FZ_CHECK(q.not_after > q.not_before && q.not_after - q.not_before <= st.max_validity);
		break;
	case CA_NEW_SERVER:
		FZ_CHECK(a.generation == before + 1 && st.server_gen == a.generation);
		FZ_CHECK(certs_verify_issued_by(a.der, a.der_len, st.cert, st.cert_len, 0, 0) ==
			 CERTS_OK);
		FZ_CHECK(certs_parse(a.der, a.der_len, &info) == CERTS_OK &&
			 strcmp(info.common_name, q.common_name) == 0 && q.common_name[0]);
		break;
	case CA_SIGN_SERVER:
		FZ_CHECK(held && q.digest_len > 0 && q.digest_len <= sizeof(q.digest));
		ok = 0;
		FZ_CHECK(wc_ecc_verify_hash(a.der, a.der_len, q.digest, q.digest_len, &ok,
					    &st.server[q.generation % 2].key) == 0 && ok == 1);
		break;
	default:
		FZ_CHECK(!"an answer to a request of no kind");
	}
	return 0;
}
