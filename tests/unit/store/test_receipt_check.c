/* test_receipt_check.c - the camera deletes a clip only against the pinned
 * system's receipt for exactly that clip: replayed receipts (another clip,
 * recording, camera, system, size or hash), a receipt altered after signing,
 * and one signed by another system's controller are refused. */
#include "bwc/bwc.h"
#include "../shared/check.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define SERIAL "CAM00001"
#define SYSTEM "5d1f0c3a9b7e4411"
#define REC "0f8e2a54-3b1c-4d6e-9a7b-2c3d4e5f6a7b"
#define REC2 "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"

struct ca {
	ecc_key key;
	uint8_t der[CERTS_MAX_DER];
	size_t len;
};

static WC_RNG rng;

static void make_ca(struct ca *ca, const char *name)
{
	struct cert_req req = { .profile = CERT_PROFILE_SYSTEM_CA };
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n = 0;

	CHECK(certs_ec_generate(&rng, &ca->key) == 0);
	CHECK(certs_ec_spki(&ca->key, spki, sizeof(spki), &n) == 0);
	snprintf(req.common_name, sizeof(req.common_name), "%s", name);
	snprintf(req.organization, sizeof(req.organization), "Test");
	req.not_before = time(NULL) - 60;
	req.not_after = time(NULL) + 86400;
	req.spki = spki;
	req.spki_len = n;
	CHECK(certs_issue(&req, &ca->key, NULL, 0, &rng, ca->der, sizeof(ca->der), &ca->len) == 0);
}

/* A controller (server) key and certificate issued by ca. */
static void make_server(struct ca *ca, ecc_key *key, uint8_t *der, size_t *len)
{
	struct cert_req req = { .profile = CERT_PROFILE_SERVER };
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n = 0;

	CHECK(certs_ec_generate(&rng, key) == 0);
	CHECK(certs_ec_spki(key, spki, sizeof(spki), &n) == 0);
	snprintf(req.common_name, sizeof(req.common_name), "controller");
	snprintf(req.organization, sizeof(req.organization), "Test");
	req.not_before = time(NULL) - 60;
	req.not_after = time(NULL) + 86400;
	req.spki = spki;
	req.spki_len = n;
	CHECK(certs_issue(&req, &ca->key, ca->der, ca->len, &rng, der, CERTS_MAX_DER, len) == 0);
}

/* A receipt as the controller makes it, signed with key/der. */
static void sign_receipt(struct dock_receipt *rc, const char *serial, const char *system,
			 const char *rec, const char *clip, uint64_t size, uint8_t fill,
			 ecc_key *key, const uint8_t *der, size_t der_len)
{
	char tbs[1024];
	int n;

	memset(rc, 0, sizeof(*rc));
	snprintf(rc->serial, sizeof(rc->serial), "%s", serial);
	snprintf(rc->system_id, sizeof(rc->system_id), "%s", system);
	snprintf(rc->recording_id, sizeof(rc->recording_id), "%s", rec);
	snprintf(rc->clip_id, sizeof(rc->clip_id), "%s", clip);
	rc->size = size;
	memset(rc->sha256, fill, sizeof(rc->sha256));
	rc->complete = 1;
	rc->time = time(NULL);
	memcpy(rc->signer, der, der_len);
	rc->signer_len = der_len;
	n = dock_receipt_tbs(rc, tbs, sizeof(tbs));
	CHECK(n > 0);
	CHECK(certs_sign(key, &rng, tbs, (size_t)n, rc->sig, sizeof(rc->sig), &rc->sig_len) == 0);
}

int main(void)
{
	static struct bwc_system sys;
	static struct dock_receipt good, rc;
	static uint8_t srv_der[CERTS_MAX_DER], rogue_der[CERTS_MAX_DER];
	struct ca ca, other;
	ecc_key srv, rogue;
	uint8_t sha[32], spki_pin[32];
	struct cert_info info;
	size_t srv_len = 0, rogue_len = 0;
	char why[256];

	CHECK(wc_InitRng(&rng) == 0);
	make_ca(&ca, "system CA");
	make_ca(&other, "another system's CA");
	make_server(&ca, &srv, srv_der, &srv_len);
	make_server(&other, &rogue, rogue_der, &rogue_len);

	/* the camera's pinned system */
	sys.enrolled = 1;
	snprintf(sys.system_id, sizeof(sys.system_id), "%s", SYSTEM);
	memcpy(sys.ca[0], ca.der, ca.len);
	sys.ca_len[0] = ca.len;
	sys.n_ca = 1;
	CHECK(certs_parse(ca.der, ca.len, &info) == 0);
	memcpy(spki_pin, info.spki_sha256, 32);
	memcpy(sys.pins[0], spki_pin, 32);
	sys.n_pins = 1;
	memset(sha, 0xab, sizeof(sha));

	/* the receipt for what was sent: accepted */
	sign_receipt(&good, SERIAL, SYSTEM, REC, "0002", 4096, 0xab, &srv, srv_der, srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &good, why, sizeof(why)) == 0);

	/* replays of genuine receipts for something else */
	sign_receipt(&rc, SERIAL, SYSTEM, REC, "0001", 4096, 0xab, &srv, srv_der, srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EBADMSG);
	CHECK(strstr(why, "does not match the clip sent") != NULL);
	sign_receipt(&rc, SERIAL, SYSTEM, REC2, "0002", 4096, 0xab, &srv, srv_der, srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EBADMSG);
	sign_receipt(&rc, "CAM00002", SYSTEM, REC, "0002", 4096, 0xab, &srv, srv_der, srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EBADMSG);
	sign_receipt(&rc, SERIAL, "ffffffffffffffff", REC, "0002", 4096, 0xab, &srv, srv_der,
		     srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EBADMSG);
	/* the same clip id, but a shorter or different file than the one sent */
	sign_receipt(&rc, SERIAL, SYSTEM, REC, "0002", 2048, 0xab, &srv, srv_der, srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EBADMSG);
	sign_receipt(&rc, SERIAL, SYSTEM, REC, "0002", 4096, 0xcd, &srv, srv_der, srv_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EBADMSG);

	/* a replayed receipt edited to match: its signature no longer holds */
	sign_receipt(&rc, SERIAL, SYSTEM, REC, "0001", 4096, 0xab, &srv, srv_der, srv_len);
	snprintf(rc.clip_id, sizeof(rc.clip_id), "0002");
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "invalid signature") != NULL);
	rc = good;
	rc.time += 1;
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EPERM);

	/* signed by a controller of another system */
	sign_receipt(&rc, SERIAL, SYSTEM, REC, "0002", 4096, 0xab, &rogue, rogue_der, rogue_len);
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EPERM);
	CHECK(strstr(why, "not of the pinned system") != NULL);
	/* the system's own CA certificate swapped in as "signer" */
	rc = good;
	memcpy(rc.signer, ca.der, ca.len);
	rc.signer_len = ca.len;
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &rc, why, sizeof(why)) == -EPERM);

	/* a camera not enrolled trusts no receipt */
	sys.enrolled = 0;
	CHECK(receipt_check(&sys, SERIAL, REC, "0002", 4096, sha, &good, why, sizeof(why)) == -EPERM);
	CHECK(receipt_check(NULL, SERIAL, REC, "0002", 4096, sha, &good, why, sizeof(why)) == -EINVAL);

	wc_ecc_free(&srv);
	wc_ecc_free(&rogue);
	wc_ecc_free(&ca.key);
	wc_ecc_free(&other.key);
	wc_FreeRng(&rng);
	return check_done();
}
