/* test-tpm-tls.c - ks_bind_tls: a TLS 1.3 handshake whose server key lives
 * in the TPM (CertificateVerify signed through the crypto callback), the
 * client verifying against a CA whose key is TPM-resident too. */
#include "swtpm.h"

#include "certs/certs.h"
#include "hw/keystore.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint8_t ca_der[CERTS_MAX_DER], srv_der[CERTS_MAX_DER];
static size_t ca_len, srv_len;

static size_t issue(keystore_t *ks, enum cert_profile profile, const char *name,
		    const uint8_t *issuer, size_t issuer_len, uint8_t *out)
{
	struct cert_req req = { .profile = profile };
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n = 0;
	ecc_key ca;
	WC_RNG rng;

	CHECK_KS(ks_create_ec(ks, name, spki, sizeof(spki), &req.spki_len), KS_OK);
	req.spki = spki;
	snprintf(req.common_name, sizeof(req.common_name), "%s", name);
	snprintf(req.organization, sizeof(req.organization), "BWC TPM test");
	req.not_before = time(NULL) - 60;
	req.not_after = time(NULL) + 86400;
	CHECK_KS(ks_load_signer(ks, "ca", &ca), KS_OK);
	CHECK(wc_InitRng(&rng) == 0);
	CHECK(certs_issue(&req, &ca, issuer, issuer_len, &rng, out, CERTS_MAX_DER, &n) == CERTS_OK);
	wc_FreeRng(&rng);
	wc_ecc_free(&ca);
	return n;
}

static void *client(void *arg)
{
	int fd = *(int *)arg;
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	WOLFSSL *ssl;
	long ok = 0;
	char buf[8] = { 0 };

	if (!ctx)
		return NULL;
	wolfSSL_CTX_load_verify_buffer(ctx, ca_der, (long)ca_len, WOLFSSL_FILETYPE_ASN1);
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, NULL);
	ssl = wolfSSL_new(ctx);
	if (ssl && wolfSSL_set_fd(ssl, fd) == WOLFSSL_SUCCESS && wolfSSL_connect(ssl) == WOLFSSL_SUCCESS &&
	    wolfSSL_read(ssl, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0)
		ok = 1;
	else
		fprintf(stderr, "client: %d\n", ssl ? wolfSSL_get_error(ssl, 0) : -1);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	wc_ecc_fp_free();   /* this thread's fixed-point ECC cache (FP_ECC is per thread) */
	return (void *)ok;
}

static void handshake(keystore_t *ks)
{
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	WOLFSSL *ssl = NULL;
	pthread_t th;
	void *ok = NULL;
	int sv[2];

	CHECK(ctx != NULL);
	CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	CHECK(wolfSSL_CTX_use_certificate_buffer(ctx, srv_der, (long)srv_len,
						 WOLFSSL_FILETYPE_ASN1) == WOLFSSL_SUCCESS);
	CHECK_KS(ks_bind_tls(ks, "srv", ctx), KS_OK);
	CHECK_KS(ks_bind_tls(ks, "absent", ctx), KS_E_NOT_FOUND);
	CHECK(pthread_create(&th, NULL, client, &sv[1]) == 0);
	ssl = wolfSSL_new(ctx);
	CHECK(ssl != NULL);
	if (ssl && wolfSSL_set_fd(ssl, sv[0]) == WOLFSSL_SUCCESS) {
		int r = wolfSSL_accept(ssl);
		if (r != WOLFSSL_SUCCESS)
			fprintf(stderr, "server: %d (%s)\n", wolfSSL_get_error(ssl, r),
				ks_last_detail());
		CHECK(r == WOLFSSL_SUCCESS);
		CHECK(wolfSSL_write(ssl, "hello", 5) == 5);
	}
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(th, &ok);
	CHECK(ok == (void *)1);
	wolfSSL_free(ssl);
	wolfSSL_CTX_free(ctx);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	struct swtpm tpm;
	keystore_t *ks;
	uint8_t spki[CERTS_MAX_SPKI];
	size_t n;

	swtpm_require();
	wolfSSL_Init();
	ks = swtpm_keystore(&tpm, "tpmstate", check_path("keys"));
	if (ks) {
		CHECK_KS(ks_create_ec(ks, "ca", spki, sizeof(spki), &n), KS_OK);
		{
			struct cert_req req = { .profile = CERT_PROFILE_SYSTEM_CA, .spki = spki,
						.spki_len = n };
			ecc_key ca;
			WC_RNG rng;

			snprintf(req.common_name, sizeof(req.common_name), "TPM CA");
			snprintf(req.organization, sizeof(req.organization), "BWC TPM test");
			req.not_before = time(NULL) - 60;
			req.not_after = time(NULL) + 86400;
			CHECK_KS(ks_load_signer(ks, "ca", &ca), KS_OK);
			CHECK(wc_InitRng(&rng) == 0);
			CHECK(certs_issue(&req, &ca, NULL, 0, &rng, ca_der, sizeof(ca_der),
					  &ca_len) == CERTS_OK);
			wc_FreeRng(&rng);
			wc_ecc_free(&ca);
		}
		srv_len = issue(ks, CERT_PROFILE_SERVER, "srv", ca_der, ca_len, srv_der);
		handshake(ks);
		ks_close(ks);
	}
	swtpm_stop(&tpm);
	wolfSSL_Cleanup();
	return check_done();
}
