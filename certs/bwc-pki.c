/* bwc-pki.c - factory and test PKI tool: makes the manufacturer root,
 * provisions IDevIDs into a file keystore, and issues test certificates. */
#include "certs/certs.h"
#include "hw/keystore.h"
#include "shared/util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT_KEY "manufacturer-root.key"
#define ROOT_CERT "manufacturer-root.pem"
#define IDEVID_KEY "idevid"
#define IDEVID_CERT "idevid.pem"
#define FILE_MAX 65536
#define PEM_MAX (CERTS_MAX_DER * 2)
#define EXIT_USAGE 2

static WC_RNG rng;

static int fail(const char *what, const char *why, const char *todo)
{
	fprintf(stderr, "bwc-pki: %s: %s%s%s\n", what, why, todo ? " " : "", todo ? todo : "");
	return EXIT_FAILURE;
}

static int usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "bwc-pki: %s\n", msg);
	fprintf(stderr,
		"usage: bwc-pki factory-init --dir DIR [--name ORG]\n"
		"       bwc-pki provision --factory DIR --serial SERIAL --keystore KSDIR [--years N]\n"
		"       bwc-pki issue [--ca-key K.key --ca-cert C.pem]\n"
		"               --profile ldevid|idevid|video|server|system-ca (--serial S | --cn NAME)\n"
		"               [--org O] [--days N | --not-before ISO --not-after ISO]\n"
		"               --out-key OUT.key --out-cert OUT.pem\n"
		"       bwc-pki csr --key K.key --serial S --out OUT.csr\n"
		"       bwc-pki pin FILE.pem\n");
	return EXIT_USAGE;
}

static int path_join(char *out, size_t cap, const char *dir, const char *file)
{
	int n = snprintf(out, cap, "%s/%s", dir, file);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

static time_t add_years(time_t t, int years)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	tm.tm_year += years;
	return timegm(&tm);
}

static int parse_count(const char *s, long min, long max, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int load_key(const char *path, ecc_key *key)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int r;

	r = util_read_file(path, FILE_MAX, &pem, &len);
	if (r < 0)
		return fail(path, strerror(-r), "Check the private key path.");
	r = certs_ec_from_pem((const char *)pem, len, key);
	util_free_secret(pem, len + 1);
	if (r != CERTS_OK)
		return fail(path, certs_strerror(r), "Expected a PEM \"EC PRIVATE KEY\" (P-256).");
	return 0;
}

static int load_cert(const char *path, uint8_t *der, size_t *ret_len)
{
	uint8_t *pem = NULL;
	size_t len = 0;
	int r;

	r = util_read_file(path, FILE_MAX, &pem, &len);
	if (r < 0)
		return fail(path, strerror(-r), "Check the certificate path.");
	r = certs_pem_to_der((const char *)pem, len, "CERTIFICATE", der, CERTS_MAX_DER, ret_len);
	free(pem);
	if (r != CERTS_OK)
		return fail(path, certs_strerror(r), "Expected a PEM \"CERTIFICATE\".");
	return 0;
}

static int refuse_existing(const char *path)
{
	if (access(path, F_OK) == 0)
		return fail(path, "already exists; refusing to overwrite it.",
			    "Remove it or choose another output path.");
	return 0;
}

static int save_key(const char *path, ecc_key *key)
{
	char pem[PEM_MAX];
	size_t len;
	int r;

	r = certs_ec_to_pem(key, pem, sizeof(pem), &len);
	if (r != CERTS_OK)
		return fail(path, certs_strerror(r), NULL);
	r = util_write_file_atomic(path, pem, len, 0600);
	explicit_bzero(pem, sizeof(pem));
	if (r < 0)
		return fail(path, strerror(-r), "Check that the directory exists and is writable.");
	return 0;
}

static int save_pem(const char *path, const uint8_t *der, size_t len, const char *type)
{
	char pem[PEM_MAX];
	size_t n;
	int r;

	r = certs_der_to_pem(der, len, type, pem, sizeof(pem), &n);
	if (r != CERTS_OK)
		return fail(path, certs_strerror(r), NULL);
	r = util_write_file_atomic(path, pem, n, 0644);
	if (r < 0)
		return fail(path, strerror(-r), "Check that the directory exists and is writable.");
	return 0;
}

/* The signing side of an issue: a key and, unless self-signed, its certificate. */
struct issuer {
	ecc_key *key;
	const uint8_t *der;
	size_t len;
};

/* Issues req for the public key spki into der; says what failed. */
static int issue(struct cert_req *req, const uint8_t *spki, size_t spki_len,
		 const struct issuer *by, uint8_t *der, size_t *ret_len)
{
	int r;

	req->spki = spki;
	req->spki_len = spki_len;
	r = certs_issue(req, by->key, by->der, by->len, &rng, der, CERTS_MAX_DER, ret_len);
	if (r != CERTS_OK)
		return fail("issuing the certificate", certs_strerror(r),
			    "Check the names, dates and the CA certificate.");
	return 0;
}

/* New key written to key_path, certificate for it written to cert_path. */
static int issue_new_key(struct cert_req *req, const struct issuer *by, bool self_signed,
			 const char *key_path, const char *cert_path)
{
	uint8_t spki[CERTS_MAX_SPKI], der[CERTS_MAX_DER];
	struct issuer self = { 0 };
	size_t spki_len, len;
	ecc_key key;
	int r;

	if (refuse_existing(key_path) != 0)
		return EXIT_FAILURE;
	r = certs_ec_generate(&rng, &key);
	if (r != CERTS_OK)
		return fail("generating a P-256 key", certs_strerror(r), NULL);
	self.key = &key;
	r = certs_ec_spki(&key, spki, sizeof(spki), &spki_len) == CERTS_OK ? 0 : EXIT_FAILURE;
	if (r == 0)
		r = issue(req, spki, spki_len, self_signed ? &self : by, der, &len);
	if (r == 0)
		r = save_key(key_path, &key);
	if (r == 0)
		r = save_pem(cert_path, der, len, "CERTIFICATE");
	wc_ecc_free(&key);
	return r;
}

static int cmd_factory_init(int argc, char **argv)
{
	static const struct option opts[] = { { "dir", required_argument, NULL, 'd' },
					      { "name", required_argument, NULL, 'n' },
					      { NULL, 0, NULL, 0 } };
	struct cert_req req = { .profile = CERT_PROFILE_MANUFACTURER_ROOT };
	const char *dir = NULL, *org = "BWC Manufacturer";
	char key_path[PATH_MAX], cert_path[PATH_MAX];
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd')
			dir = optarg;
		else if (c == 'n')
			org = optarg;
		else
			return usage(NULL);
	}
	if (!dir || optind != argc)
		return usage("factory-init needs --dir DIR");
	if (strlen(org) == 0 || strlen(org) + sizeof(" Manufacturer Root") > CERTS_NAME_MAX)
		return usage("--name must be 1 to 45 characters");
	if (path_join(key_path, sizeof(key_path), dir, ROOT_KEY) < 0 ||
	    path_join(cert_path, sizeof(cert_path), dir, ROOT_CERT) < 0)
		return fail(dir, "path too long", NULL);
	if (refuse_existing(cert_path) != 0 || refuse_existing(key_path) != 0)
		return EXIT_FAILURE;
	r = util_mkdir_p(dir, 0700);
	if (r < 0)
		return fail(dir, strerror(-r), "Could not create the factory directory.");
	snprintf(req.organization, sizeof(req.organization), "%s", org);
	snprintf(req.common_name, sizeof(req.common_name), "%s Manufacturer Root", org);
	req.not_before = time(NULL);
	req.not_after = add_years(req.not_before, 25);
	r = issue_new_key(&req, NULL, true, key_path, cert_path);
	if (r != 0)
		return r;
	printf("created manufacturer root \"%s\" (25 years)\n  key:  %s\n  cert: %s\n",
	       req.common_name, key_path, cert_path);
	return 0;
}

/* Loads a CA key and certificate; the key must belong to the certificate. */
static int load_ca(const char *key_path, const char *cert_path, ecc_key *key, uint8_t *der,
		   size_t *len, struct cert_info *info)
{
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n;
	int r;

	if (load_cert(cert_path, der, len) != 0)
		return EXIT_FAILURE;
	r = certs_parse(der, *len, info);
	if (r != CERTS_OK)
		return fail(cert_path, certs_strerror(r), NULL);
	if (!info->is_ca)
		return fail(cert_path, "is not a CA certificate.", "Pass the CA's certificate.");
	if (load_key(key_path, key) != 0)
		return EXIT_FAILURE;
	if (certs_ec_spki(key, spki, sizeof(spki), &n) != CERTS_OK || n != info->spki_len ||
	    memcmp(spki, info->spki, n) != 0) {
		wc_ecc_free(key);
		return fail(key_path, "does not belong to the CA certificate.",
			    "Pass the key and certificate of the same CA.");
	}
	return 0;
}

struct provision_args {
	const char *factory, *serial, *ksdir;
	long years;
};

static int parse_provision(int argc, char **argv, struct provision_args *a)
{
	static const struct option opts[] = { { "factory", required_argument, NULL, 'f' },
					      { "serial", required_argument, NULL, 's' },
					      { "keystore", required_argument, NULL, 'k' },
					      { "years", required_argument, NULL, 'y' },
					      { NULL, 0, NULL, 0 } };
	int c;

	a->years = 20;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'f')
			a->factory = optarg;
		else if (c == 's')
			a->serial = optarg;
		else if (c == 'k')
			a->ksdir = optarg;
		else if (c == 'y' && parse_count(optarg, 1, 50, &a->years) == 0)
			continue;
		else
			return usage(c == 'y' ? "--years must be 1 to 50" : NULL);
	}
	if (!a->factory || !a->serial || !a->ksdir || optind != argc)
		return usage("provision needs --factory, --serial and --keystore");
	if (certs_check_serial(a->serial) != CERTS_OK)
		return usage("--serial must be 1 to 32 of A-Z, a-z, 0-9 and '-'");
	return 0;
}

/* Creates the device key in the keystore and writes its IDevID next to it. */
static int provision_device(const struct provision_args *a, const struct issuer *root,
			    const struct cert_info *root_info)
{
	struct cert_req req = { .profile = CERT_PROFILE_IDEVID };
	char spec[PATH_MAX], cert_path[PATH_MAX], root_path[PATH_MAX];
	uint8_t spki[CERTS_MAX_SPKI], der[CERTS_MAX_DER];
	keystore_t *ks = NULL;
	size_t spki_len, len;
	int r;

	if (snprintf(spec, sizeof(spec), "file:%s", a->ksdir) >= (int)sizeof(spec) ||
	    path_join(cert_path, sizeof(cert_path), a->ksdir, IDEVID_CERT) < 0 ||
	    path_join(root_path, sizeof(root_path), a->ksdir, ROOT_CERT) < 0)
		return fail(a->ksdir, "path too long", NULL);
	r = ks_open(spec, &ks);
	if (r != KS_OK)
		return fail(a->ksdir, ks_strerror(r), "Could not open the keystore directory.");
	r = ks_create_ec(ks, IDEVID_KEY, spki, sizeof(spki), &spki_len);
	ks_close(ks);
	if (r != KS_OK)
		return fail("creating key \"idevid\"", ks_strerror(r),
			    r == KS_E_EXISTS ? "This device is already provisioned." : NULL);
	memcpy(req.serial, a->serial, strlen(a->serial) + 1);
	memcpy(req.organization, root_info->organization, sizeof(req.organization));
	req.not_before = time(NULL);
	req.not_after = add_years(req.not_before, (int)a->years);
	r = issue(&req, spki, spki_len, root, der, &len);
	if (r == 0)
		r = save_pem(cert_path, der, len, "CERTIFICATE");
	if (r == 0)
		r = save_pem(root_path, root->der, root->len, "CERTIFICATE");
	if (r == 0)
		printf("provisioned device %s (IDevID, %ld years)\n  key:  %s/idevid.key\n"
		       "  cert: %s\n  root: %s\n",
		       a->serial, a->years, a->ksdir, cert_path, root_path);
	return r;
}

static int cmd_provision(int argc, char **argv)
{
	char key_path[PATH_MAX], cert_path[PATH_MAX];
	struct provision_args a = { 0 };
	uint8_t root_der[CERTS_MAX_DER];
	struct cert_info info;
	struct issuer root = { .der = root_der };
	ecc_key key;
	int r;

	r = parse_provision(argc, argv, &a);
	if (r != 0)
		return r;
	if (path_join(key_path, sizeof(key_path), a.factory, ROOT_KEY) < 0 ||
	    path_join(cert_path, sizeof(cert_path), a.factory, ROOT_CERT) < 0)
		return fail(a.factory, "path too long", NULL);
	if (load_ca(key_path, cert_path, &key, root_der, &root.len, &info) != 0)
		return EXIT_FAILURE;
	root.key = &key;
	r = provision_device(&a, &root, &info);
	wc_ecc_free(&key);
	return r;
}

struct issue_args {
	const char *ca_key, *ca_cert, *profile, *serial, *cn, *org, *nb, *na, *out_key, *out_cert;
	long days;
};

static const struct {
	const char *name;
	enum cert_profile profile;
} profiles[] = {
	{ "ldevid", CERT_PROFILE_LDEVID },
	{ "idevid", CERT_PROFILE_IDEVID },
	{ "server", CERT_PROFILE_SERVER },
	{ "system-ca", CERT_PROFILE_SYSTEM_CA },
	{ "video", CERT_PROFILE_VIDEO_SIGNING },
};

static int parse_issue(int argc, char **argv, struct issue_args *a)
{
	static const struct option opts[] = {
		{ "ca-key", required_argument, NULL, 'K' },  { "ca-cert", required_argument, NULL, 'C' },
		{ "profile", required_argument, NULL, 'p' }, { "serial", required_argument, NULL, 's' },
		{ "cn", required_argument, NULL, 'c' },      { "org", required_argument, NULL, 'o' },
		{ "days", required_argument, NULL, 'd' },    { "not-before", required_argument, NULL, 'b' },
		{ "not-after", required_argument, NULL, 'a' }, { "out-key", required_argument, NULL, 'k' },
		{ "out-cert", required_argument, NULL, 'x' }, { NULL, 0, NULL, 0 }
	};
	const char **slot[128] = { ['K'] = &a->ca_key, ['C'] = &a->ca_cert, ['p'] = &a->profile,
				   ['s'] = &a->serial, ['c'] = &a->cn,      ['o'] = &a->org,
				   ['b'] = &a->nb,     ['a'] = &a->na,      ['k'] = &a->out_key,
				   ['x'] = &a->out_cert };
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'd') {
			if (parse_count(optarg, 1, 36500, &a->days) != 0)
				return usage("--days must be 1 to 36500");
		} else if (c > 0 && c < 128 && slot[c]) {
			*slot[c] = optarg;
		} else {
			return usage(NULL);
		}
	}
	if (optind != argc || !a->profile || !a->out_key || !a->out_cert)
		return usage("issue needs --profile, --out-key and --out-cert");
	if (!a->nb != !a->na || (a->nb && a->days))
		return usage("give --days N, or both --not-before and --not-after");
	return 0;
}

static int lookup_profile(const char *name, enum cert_profile *ret)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcmp(profiles[i].name, name) == 0) {
			*ret = profiles[i].profile;
			return 0;
		}
	}
	return -EINVAL;
}

/* Names and dates of the new certificate from the arguments. */
static int fill_issue_req(const struct issue_args *a, const char *ca_org, struct cert_req *req)
{
	bool device = req->profile == CERT_PROFILE_LDEVID || req->profile == CERT_PROFILE_IDEVID ||
		      req->profile == CERT_PROFILE_VIDEO_SIGNING;
	const char *org = a->org ? a->org : ca_org;

	if (device && (!a->serial || certs_check_serial(a->serial) != CERTS_OK))
		return usage("this profile needs --serial: 1 to 32 of A-Z, a-z, 0-9 and '-'");
	if (!device && (!a->cn || strlen(a->cn) == 0 || strlen(a->cn) >= CERTS_NAME_MAX))
		return usage("this profile needs --cn NAME (1 to 63 characters)");
	if (!org || strlen(org) == 0 || strlen(org) >= CERTS_NAME_MAX)
		return usage("--org must be 1 to 63 characters");
	snprintf(req->serial, sizeof(req->serial), "%s", device ? a->serial : "");
	snprintf(req->common_name, sizeof(req->common_name), "%s", device ? "" : a->cn);
	snprintf(req->organization, sizeof(req->organization), "%s", org);
	if (a->nb) {
		if (util_time_parse_iso(a->nb, &req->not_before) < 0 ||
		    util_time_parse_iso(a->na, &req->not_after) < 0)
			return usage("dates are YYYY-MM-DDTHH:MM:SSZ");
		if (req->not_after <= req->not_before)
			return usage("--not-after must be later than --not-before");
	} else {
		req->not_before = time(NULL);
		req->not_after = req->not_before + (a->days ? a->days : 365) * 86400;
	}
	return 0;
}

static void print_issued(const struct issue_args *a, const struct cert_req *req)
{
	char nb[32], na[32];

	util_time_iso(req->not_before, nb, sizeof(nb));
	util_time_iso(req->not_after, na, sizeof(na));
	printf("issued %s certificate for %s (O=%s), valid %s to %s\n  key:  %s\n  cert: %s\n",
	       a->profile, req->serial[0] ? req->serial : req->common_name, req->organization, nb,
	       na, a->out_key, a->out_cert);
}

static int cmd_issue(int argc, char **argv)
{
	struct issue_args a = { 0 };
	struct cert_req req = { 0 };
	uint8_t ca_der[CERTS_MAX_DER];
	struct issuer ca = { .der = ca_der };
	struct cert_info info = { 0 };
	bool self_signed;
	ecc_key key;
	int r;

	r = parse_issue(argc, argv, &a);
	if (r != 0)
		return r;
	if (lookup_profile(a.profile, &req.profile) < 0)
		return usage("--profile is one of ldevid, idevid, server, system-ca");
	self_signed = req.profile == CERT_PROFILE_SYSTEM_CA;
	if (self_signed && (a.ca_key || a.ca_cert))
		return usage("--profile system-ca is self-signed: no --ca-key/--ca-cert");
	if (!self_signed && (!a.ca_key || !a.ca_cert))
		return usage("this profile needs --ca-key and --ca-cert");
	if (self_signed)
		snprintf(info.organization, sizeof(info.organization), "BWC System");
	else if (load_ca(a.ca_key, a.ca_cert, &key, ca_der, &ca.len, &info) != 0)
		return EXIT_FAILURE;
	ca.key = self_signed ? NULL : &key;
	r = fill_issue_req(&a, info.organization, &req);
	if (r == 0)
		r = issue_new_key(&req, &ca, self_signed, a.out_key, a.out_cert);
	if (r == 0)
		print_issued(&a, &req);
	if (!self_signed)
		wc_ecc_free(&key);
	return r;
}

static int cmd_csr(int argc, char **argv)
{
	static const struct option opts[] = { { "key", required_argument, NULL, 'k' },
					      { "serial", required_argument, NULL, 's' },
					      { "out", required_argument, NULL, 'o' },
					      { NULL, 0, NULL, 0 } };
	const char *key_path = NULL, *serial = NULL, *out = NULL;
	uint8_t der[CERTS_MAX_DER];
	ecc_key key;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'k')
			key_path = optarg;
		else if (c == 's')
			serial = optarg;
		else if (c == 'o')
			out = optarg;
		else
			return usage(NULL);
	}
	if (!key_path || !serial || !out || optind != argc)
		return usage("csr needs --key, --serial and --out");
	if (certs_check_serial(serial) != CERTS_OK)
		return usage("--serial must be 1 to 32 of A-Z, a-z, 0-9 and '-'");
	if (load_key(key_path, &key) != 0)
		return EXIT_FAILURE;
	r = certs_make_csr(serial, &key, &rng, der, sizeof(der), &len);
	wc_ecc_free(&key);
	if (r != CERTS_OK)
		return fail("making the CSR", certs_strerror(r), NULL);
	if (save_pem(out, der, len, "CERTIFICATE REQUEST") != 0)
		return EXIT_FAILURE;
	printf("wrote CSR for %s to %s\n", serial, out);
	return 0;
}

static int cmd_pin(int argc, char **argv)
{
	uint8_t der[CERTS_MAX_DER];
	struct cert_info info;
	char hex[65];
	size_t len;
	int r;

	if (argc != 2)
		return usage("pin needs exactly one certificate file");
	if (load_cert(argv[1], der, &len) != 0)
		return EXIT_FAILURE;
	r = certs_parse(der, len, &info);
	if (r != CERTS_OK)
		return fail(argv[1], certs_strerror(r), NULL);
	util_hex(info.spki_sha256, sizeof(info.spki_sha256), hex);
	printf("%s\n", hex);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
	{ "factory-init", cmd_factory_init },
	{ "provision", cmd_provision },
	{ "issue", cmd_issue },
	{ "csr", cmd_csr },
	{ "pin", cmd_pin },
};

int main(int argc, char **argv)
{
	int r = -1;

	if (argc < 2)
		return usage(NULL);
	if (wc_InitRng(&rng) != 0)
		return fail("initialising the random number generator", "wolfCrypt failed", NULL);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			r = commands[i].run(argc - 1, argv + 1);
	if (r < 0)
		r = usage("unknown command");
	wc_FreeRng(&rng);
	return r;
}
