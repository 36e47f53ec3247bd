/* identity.c - the camera's identities: the factory IDevID, the system
 * LDevID and the pins of the system it belongs to. A renewal is committed in
 * steps that can each be finished after a crash (identity_recover):
 *   1. state/renewal.json  <- the controller's answer (new certificate + pins)
 *   2. keystore: ldevid.next -> ldevid (atomic rename; the old key is destroyed)
 *   3. state/ldevid.pem, then renewal.json -> system.json (atomic rename)
 * So the camera always holds a working key+certificate pair, old or new. */
#include "bwc/bwc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/log.h"
#include "shared/util.h"

#define KEY_CUR "ldevid"
#define KEY_NEXT "ldevid.next"

static int state_path(const struct bwc_identity *id, const char *rel, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", id->cfg->state_dir, rel);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* The factory puts the IDevID certificate in the keystore's directory. */
static int load_idevid(struct bwc_identity *id)
{
	char path[PATH_MAX];
	uint8_t *pem = NULL;
	struct cert_info info;
	size_t len;
	char dir[PATH_MAX - 16];
	int r;

	if (ks_spec_dir(id->cfg->keystore, dir, sizeof(dir)) != 0) {
		log_error("keystore \"%s\" names no directory for the factory identity",
			  id->cfg->keystore);
		return -EINVAL;
	}
	snprintf(path, sizeof(path), "%s/idevid.pem", dir);
	r = util_read_file(path, 65536, &pem, &len);
	if (r < 0) {
		log_error("no factory identity: cannot read %s (%s); was this camera provisioned?",
			  path, strerror(-r));
		return r;
	}
	r = certs_pem_to_der((char *)pem, len, "CERTIFICATE", id->idevid, sizeof(id->idevid),
			     &id->idevid_len);
	free(pem);
	if (r == 0)
		r = certs_parse(id->idevid, id->idevid_len, &info);
	if (r < 0 || certs_check_serial(info.serial) != 0) {
		log_error("factory certificate %s unusable: %s", path, certs_strerror(r));
		return -EINVAL;
	}
	memcpy(id->serial, info.serial, sizeof(id->serial));
	return 0;
}

static int read_answer(struct bwc_identity *id, const char *rel, struct dock_cert_resp *ret)
{
	char path[PATH_MAX], why[160];
	uint8_t *buf = NULL;
	size_t len;
	int r;

	if (state_path(id, rel, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	r = util_read_file(path, DOCK_MAX_BODY, &buf, &len);
	if (r < 0)
		return r;
	r = dock_decode_cert_resp((char *)buf, len, ret, why, sizeof(why));
	free(buf);
	if (r < 0)
		log_error("%s is damaged (%s): moving it aside", path, why);
	return r;
}

static int key_matches(struct bwc_identity *id, const char *key, const uint8_t *cert, size_t len)
{
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len;
	struct cert_info info;

	if (ks_exists(id->ks, key) != 1 ||
	    ks_public_spki(id->ks, key, spki, sizeof(spki), &spki_len) != 0 ||
	    certs_parse(cert, len, &info) != 0)
		return 0;
	return spki_len == info.spki_len && memcmp(spki, info.spki, spki_len) == 0;
}

/* Steps 2 and 3 of a commit; also used to finish one after a crash. */
static int finish_commit(struct bwc_identity *id, const struct dock_cert_resp *a)
{
	char pem[8192], path[PATH_MAX], from[PATH_MAX];
	size_t pem_len;
	int r;

	if (key_matches(id, KEY_NEXT, a->cert, a->cert_len)) {
		r = ks_rename(id->ks, KEY_NEXT, KEY_CUR);
		if (r < 0)
			return r;
	} else if (!key_matches(id, KEY_CUR, a->cert, a->cert_len)) {
		return -ESTALE;
	}
	r = certs_der_to_pem(a->cert, a->cert_len, "CERTIFICATE", pem, sizeof(pem), &pem_len);
	if (r < 0)
		return -EINVAL;
	if ((r = state_path(id, "ldevid.pem", path, sizeof(path))) < 0 ||
	    (r = util_write_file_atomic(path, pem, pem_len, 0644)) < 0)
		return r;
	if ((r = state_path(id, "renewal.json", from, sizeof(from))) < 0 ||
	    (r = state_path(id, "system.json", path, sizeof(path))) < 0)
		return r;
	if (rename(from, path) < 0)
		return -errno;
	return util_fsync_parent(path);
}

static void identity_recover(struct bwc_identity *id)
{
	struct dock_cert_resp *a = calloc(1, sizeof(*a));
	char path[PATH_MAX];

	if (!a)
		return;
	if (read_answer(id, "renewal.json", a) == 0) {
		int r = finish_commit(id, a);
		if (r == 0)
			log_warn("finished a certificate renewal interrupted by a restart");
		else if (r == -ESTALE && state_path(id, "renewal.json", path, sizeof(path)) == 0)
			unlink(path);
	}
	if (ks_exists(id->ks, KEY_NEXT) == 1) {
		log_warn("dropping the key of an unfinished renewal; the current certificate stays");
		ks_destroy(id->ks, KEY_NEXT);
	}
	free(a);
}

static void load_system(struct bwc_identity *id)
{
	struct dock_cert_resp *a = calloc(1, sizeof(*a));

	memset(&id->sys, 0, sizeof(id->sys));
	id->ldevid_len = 0;
	if (!a)
		return;
	if (read_answer(id, "system.json", a) == 0 && key_matches(id, KEY_CUR, a->cert, a->cert_len) &&
	    certs_parse(a->cert, a->cert_len, &id->ldevid_info) == 0) {
		id->sys.enrolled = 1;
		memcpy(id->sys.system_id, a->system_id, sizeof(id->sys.system_id));
		memcpy(id->sys.ca, a->ca, sizeof(a->ca));
		memcpy(id->sys.ca_len, a->ca_len, sizeof(a->ca_len));
		id->sys.n_ca = a->n_ca;
		memcpy(id->sys.pins, a->pins, sizeof(a->pins));
		id->sys.n_pins = a->n_pins;
		memcpy(id->ldevid, a->cert, a->cert_len);
		id->ldevid_len = a->cert_len;
	}
	free(a);
}

int identity_load(struct bwc_identity *id, struct bwc_config *cfg)
{
	int r;

	memset(id, 0, sizeof(*id));
	id->cfg = cfg;
	r = ks_open(cfg->keystore, &id->ks);
	if (r < 0) {
		log_error("cannot open keystore %s: %s", cfg->keystore, ks_strerror(r));
		return r;
	}
	if ((r = load_idevid(id)) < 0)
		return r;
	identity_recover(id);
	load_system(id);
	return 0;
}

void identity_free(struct bwc_identity *id)
{
	ks_close(id->ks);
	id->ks = NULL;
}

int identity_prepare_renewal(struct bwc_identity *id, uint8_t *csr, size_t cap, size_t *ret_len)
{
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len;
	ecc_key key;
	WC_RNG rng;
	int r;

	ks_destroy(id->ks, KEY_NEXT);
	r = ks_create_ec(id->ks, KEY_NEXT, spki, sizeof(spki), &spki_len);
	if (r < 0)
		return r;
	r = ks_load_signer(id->ks, KEY_NEXT, &key);
	if (r < 0)
		return r;
	if (wc_InitRng(&rng) != 0) {
		wc_ecc_free(&key);
		return CERTS_E_CRYPTO;
	}
	r = certs_make_csr(id->serial, &key, &rng, csr, cap, ret_len);
	wc_FreeRng(&rng);
	wc_ecc_free(&key);
	return r;
}

void identity_abort_renewal(struct bwc_identity *id)
{
	ks_destroy(id->ks, KEY_NEXT);
}

static int pin_listed(const uint8_t pins[][32], size_t n, const uint8_t *der, size_t len)
{
	struct cert_info info;

	if (certs_parse(der, len, &info) != 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (memcmp(pins[i], info.spki_sha256, 32) == 0)
			return 1;
	return 0;
}

/* Index of the pinned CA in (cas, pins) that issued der, or -1. */
static int pinned_issuer(const uint8_t cas[][DOCK_MAX_DER], const size_t *ca_len, size_t n_ca,
			 const uint8_t pins[][32], size_t n_pins, const uint8_t *der, size_t len)
{
	for (size_t i = 0; i < n_ca; i++)
		if (pin_listed(pins, n_pins, cas[i], ca_len[i]) &&
		    certs_verify_issued_by(der, len, cas[i], ca_len[i], 1, time(NULL)) == 0)
			return (int)i;
	return -1;
}

int identity_pinned(const struct bwc_system *sys, const uint8_t *der, size_t len)
{
	return sys->enrolled &&
	       pinned_issuer(sys->ca, sys->ca_len, sys->n_ca, sys->pins, sys->n_pins, der, len) >= 0;
}

static int check_answer(struct bwc_identity *id, const struct dock_cert_resp *a,
			const uint8_t *server_der, size_t server_len, char *why, size_t whylen)
{
	struct cert_info info;
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len;

	/* The controller we talk to: pinned already, or (first enrolment) it must
	 * be a server of the system it offers us. */
	if (id->sys.enrolled ? !identity_pinned(&id->sys, server_der, server_len)
			     : pinned_issuer(a->ca, a->ca_len, a->n_ca, a->pins, a->n_pins,
					     server_der, server_len) < 0) {
		snprintf(why, whylen, "controller certificate does not belong to the %s system",
			 id->sys.enrolled ? "pinned" : "offered");
		return -EPERM;
	}
	if (pinned_issuer(a->ca, a->ca_len, a->n_ca, a->pins, a->n_pins, a->cert, a->cert_len) < 0) {
		snprintf(why, whylen, "new certificate is not issued by a pinned system CA");
		return -EPERM;
	}
	if (certs_parse(a->cert, a->cert_len, &info) != 0 || strcmp(info.serial, id->serial) != 0) {
		snprintf(why, whylen, "new certificate is not for serial %s", id->serial);
		return -EPERM;
	}
	if (ks_public_spki(id->ks, KEY_NEXT, spki, sizeof(spki), &spki_len) != 0 ||
	    spki_len != info.spki_len || memcmp(spki, info.spki, spki_len) != 0) {
		snprintf(why, whylen, "new certificate is not for the key this camera just made");
		return -EPERM;
	}
	return 0;
}

int identity_commit(struct bwc_identity *id, const struct dock_cert_resp *a,
		    const uint8_t *server_der, size_t server_len, char *why, size_t whylen)
{
	char path[PATH_MAX], *json = NULL;
	int r;

	r = check_answer(id, a, server_der, server_len, why, whylen);
	if (r < 0)
		return r;
	r = dock_encode_cert_resp(a, &json);
	if (r == 0)
		r = state_path(id, "renewal.json", path, sizeof(path));
	if (r == 0)
		r = util_write_file_atomic(path, json, strlen(json), 0644);
	free(json);
	if (r == 0)
		r = finish_commit(id, a);
	if (r < 0) {
		snprintf(why, whylen, "cannot store the new certificate in %s: %s", id->cfg->state_dir,
			 strerror(-r));
		return r;
	}
	load_system(id);
	return id->sys.enrolled ? 0 : -EIO;
}

int identity_factory_reset(struct bwc_identity *id)
{
	static const char *const files[] = { "system.json", "renewal.json", "ldevid.pem",
					     "status.json" };
	char path[PATH_MAX];
	int r, failed = 0;

	for (size_t i = 0; i < ARRAY_SIZE(files); i++) {
		if (state_path(id, files[i], path, sizeof(path)) < 0)
			return -ENAMETOOLONG;
		if (unlink(path) < 0 && errno != ENOENT) {
			log_error("factory reset: cannot remove %s: %s", path, strerror(errno));
			failed = 1;
		}
	}
	if ((r = ks_destroy(id->ks, KEY_CUR)) < 0 || (r = ks_destroy(id->ks, KEY_NEXT)) < 0) {
		log_error("factory reset: cannot destroy the system key: %s", ks_strerror(r));
		failed = 1;
	}
	if (!failed && state_path(id, "system.json", path, sizeof(path)) == 0)
		util_fsync_parent(path);
	memset(&id->sys, 0, sizeof(id->sys));
	return failed ? -EIO : 0;
}
