/* tcheck.c - counters, in-memory PKI and process helpers of the certs unit
 * tests. Failures of the helpers themselves abort: they are not the subject. */
#include "tests/unit/certs/tcheck.h"

#include "shared/util.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

int t_passed, t_failed;

static WC_RNG rng;
static int rng_ready;
static char tmpdir[64];

int t_finish(void)
{
	t_cleanup();
	printf("%d passed, %d failed\n", t_passed, t_failed);
	return t_failed == 0 && t_passed > 0 ? 0 : 1;
}

static void die(const char *what)
{
	fprintf(stderr, "test helper failed: %s\n", what);
	t_cleanup();
	exit(2);
}

WC_RNG *t_rng(void)
{
	if (!rng_ready && wc_InitRng(&rng) != 0)
		die("wc_InitRng");
	rng_ready = 1;
	return &rng;
}

void t_make(struct t_ident *id, enum cert_profile profile, const char *name, const char *org,
	    const struct t_ident *issuer, time_t nb, time_t na)
{
	struct cert_req req = { .profile = profile, .not_before = nb, .not_after = na };
	uint8_t spki[CERTS_MAX_SPKI];
	int r;

	if (certs_ec_generate(t_rng(), &id->key) != CERTS_OK ||
	    certs_ec_spki(&id->key, spki, sizeof(spki), &req.spki_len) != CERTS_OK)
		die("key generation");
	req.spki = spki;
	snprintf(req.serial, sizeof(req.serial), "%s", name);
	snprintf(req.common_name, sizeof(req.common_name), "%s", name);
	snprintf(req.organization, sizeof(req.organization), "%s", org);
	if (issuer)
		r = certs_issue(&req, (ecc_key *)&issuer->key, issuer->der, issuer->len, t_rng(),
				id->der, sizeof(id->der), &id->len);
	else
		r = certs_issue(&req, &id->key, NULL, 0, t_rng(), id->der, sizeof(id->der),
				&id->len);
	if (r != CERTS_OK) {
		fprintf(stderr, "certs_issue(%s): %s\n", name, certs_strerror(r));
		die("certs_issue");
	}
}

void t_free(struct t_ident *id)
{
	wc_ecc_free(&id->key);
}

void t_write_pem(const char *path, const uint8_t *der, size_t len, const char *type)
{
	char pem[CERTS_MAX_DER * 2];
	size_t n;

	if (certs_der_to_pem(der, len, type, pem, sizeof(pem), &n) != CERTS_OK)
		die("certs_der_to_pem");
	if (util_write_file_atomic(path, pem, n, 0644) < 0)
		die(path);
}

size_t t_read(const char *path, void *buf, size_t cap)
{
	uint8_t *data;
	size_t len;

	if (util_read_file(path, 65536, &data, &len) < 0 || len > cap)
		die(path);
	memcpy(buf, data, len);
	free(data);
	return len;
}

const char *t_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bwc-certs-test.XXXXXX");
	if (!mkdtemp(tmpdir))
		die("mkdtemp");
	return tmpdir;
}

void t_cleanup(void)
{
	char cmd[128];

	if (!tmpdir[0])
		return;
	if (getenv("T_KEEP")) { /* for debugging a failure by hand */
		fprintf(stderr, "kept %s\n", tmpdir);
		return;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
	tmpdir[0] = 0;
}

int t_run(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[2048];
	size_t got = 0;
	va_list ap;
	FILE *p;
	int n, st;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(cmd))
		die("command too long");
	p = popen(cmd, "r");
	if (!p)
		die("popen");
	if (out && cap > 0) {
		got = fread(out, 1, cap - 1, p);
		out[got] = 0;
	}
	while (fgetc(p) != EOF)
		;
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
