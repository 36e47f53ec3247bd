/* ca.c - the CA process. Loads the system CA key, drops privileges, then
 * answers fixed-size requests: issue a camera's certificate, make a TLS server
 * key and its certificate, sign a digest with that key. Anything of the wrong
 * size or shape ends the conversation (the parent is the only peer, so a bad
 * message is a bug). The client half (ca_issue, ca_new_server, ca_sign_server,
 * ca_bind_tls) runs in the parent. */
#include "controller/ca.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <errno.h>
#include <inttypes.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hw/keystore.h"
#include "shared/log.h"
#include "shared/util.h"

/* The parent's wolfCrypt device for the server key (the keystore's TPM
 * devices are 0x4b53xxxx). */
#define CA_DEV_ID 0x43410001

/* Server keys exist only here; generation g lives in slot g % 2 under the
 * keystore name of that slot (the TPM backend keeps its blob by name). */
static const char *const server_key_names[2] = TLS_SERVER_KEYS;

struct server_key {
	ecc_key key;
	uint32_t generation;   /* 0: none */
};

struct ca_state {
	keystore_t *ks;
	ecc_key key;
	struct server_key server[2];
	uint32_t server_gen;
	uint8_t cert[CERTS_MAX_DER];
	size_t cert_len;
	char org[CERTS_NAME_MAX];
	long max_validity;
	WC_RNG rng;
};

static int ca_load(struct ca_state *s, const char *keystore, const char *cert_path)
{
	uint8_t *pem = NULL, spki[CERTS_MAX_SPKI], pin[32];
	struct cert_info info;
	size_t len, spki_len;
	int r;

	r = util_read_file(cert_path, 65536, &pem, &len);
	if (r < 0) {
		log_error("ca: cannot read system CA certificate %s: %s", cert_path, strerror(-r));
		return r;
	}
	r = certs_pem_to_der((char *)pem, len, "CERTIFICATE", s->cert, sizeof(s->cert),
			     &s->cert_len);
	free(pem);
	if (r == 0)
		r = certs_parse(s->cert, s->cert_len, &info);
	if (r < 0) {
		log_error("ca: %s: %s", cert_path, certs_strerror(r));
		return -EINVAL;
	}
	r = ks_open(keystore, &s->ks);
	if (r == KS_OK)
		r = ks_public_spki(s->ks, CA_KEY_NAME, spki, sizeof(spki), &spki_len);
	if (r == KS_OK)
		r = ks_load_signer(s->ks, CA_KEY_NAME, &s->key);
	if (r != KS_OK) {
		log_error("ca: cannot load the system CA key \"%s\" from keystore %s: %s %s",
			  CA_KEY_NAME, keystore, ks_strerror(r), ks_last_detail());
		return -EIO;
	}
	/* The key must be the one the certificate names. */
	if (certs_spki_sha256(spki, spki_len, pin) != 0 ||
	    memcmp(pin, info.spki_sha256, sizeof(pin)) != 0) {
		log_error("ca: the keystore's \"%s\" is not the key of %s: restore the matching "
			  "keystore or re-initialise the system", CA_KEY_NAME, cert_path);
		return -EINVAL;
	}
	return 0;
}

/* After the key is loaded: no core dumps, no ptrace from the same uid, no new
 * privileges, and no root. */
static void ca_harden(void)
{
	prctl(PR_SET_DUMPABLE, 0);
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	prctl(PR_SET_NAME, "bwc-ca");
	if (geteuid() == 0) {
		gid_t g = 65534;
		if (setgroups(1, &g) < 0 || setresgid(g, g, g) < 0 || setresuid(65534, 65534, 65534) < 0) {
			log_error("ca: cannot drop privileges: %s", strerror(errno));
			_exit(1);
		}
	}
}

static const struct server_key *server_slot(const struct ca_state *s, uint32_t gen)
{
	const struct server_key *k = &s->server[gen % 2];
	return gen != 0 && k->generation == gen ? k : NULL;
}

static int ca_check(const struct ca_state *s, const struct ca_request *q)
{
	if (q->kind == CA_SIGN_SERVER)
		return q->digest_len > 0 && q->digest_len <= sizeof(q->digest) &&
		       server_slot(s, q->generation) ? CERTS_OK : CERTS_E_INPUT;
	if (q->not_after <= q->not_before || q->not_after - q->not_before > s->max_validity)
		return CERTS_E_INPUT;
	if (memchr(q->serial, 0, sizeof(q->serial)) == NULL ||
	    memchr(q->common_name, 0, sizeof(q->common_name)) == NULL)
		return CERTS_E_INPUT;
	if (q->kind == CA_ISSUE_LDEVID)
		return q->spki_len == 0 || q->spki_len > sizeof(q->spki) ? CERTS_E_INPUT
									: certs_check_serial(q->serial);
	if (q->kind == CA_NEW_SERVER)
		return q->common_name[0] ? CERTS_OK : CERTS_E_INPUT;
	return CERTS_E_INPUT;
}

static void ca_certify(struct ca_state *s, const struct ca_request *q, const uint8_t *spki,
		       size_t spki_len, struct ca_reply *a)
{
	struct cert_req req;
	size_t len = 0;

	memset(&req, 0, sizeof(req));
	req.profile = q->kind == CA_ISSUE_LDEVID ? CERT_PROFILE_LDEVID : CERT_PROFILE_SERVER;
	snprintf(req.serial, sizeof(req.serial), "%s", q->serial);
	snprintf(req.common_name, sizeof(req.common_name), "%s", q->common_name);
	snprintf(req.organization, sizeof(req.organization), "%s", s->org);
	req.not_before = (time_t)q->not_before;
	req.not_after = (time_t)q->not_after;
	req.spki = spki;
	req.spki_len = spki_len;
	a->status = certs_issue(&req, &s->key, s->cert, s->cert_len, &s->rng, a->der,
				sizeof(a->der), &len);
	a->der_len = (uint32_t)len;
}

/* A new server key replaces the generation before the previous one. */
static void ca_new_server_key(struct ca_state *s, const struct ca_request *q, struct ca_reply *a)
{
	uint32_t gen = s->server_gen + 1;
	struct server_key *k = &s->server[gen % 2];
	uint8_t spki[CERTS_MAX_SPKI];
	size_t spki_len = 0;
	int r;

	if (k->generation) {
		wc_ecc_free(&k->key);
		k->generation = 0;
	}
	r = ks_create_ec_volatile(s->ks, server_key_names[gen % 2], &k->key, spki, sizeof(spki),
				  &spki_len);
	if (r != KS_OK) {
		log_error("ca: cannot make a TLS server key: %s %s", ks_strerror(r),
			  ks_last_detail());
		a->status = CERTS_E_CRYPTO;
		return;
	}
	k->generation = s->server_gen = gen;
	ca_certify(s, q, spki, spki_len, a);
	a->generation = gen;
}

static void ca_sign(struct ca_state *s, const struct ca_request *q, struct ca_reply *a)
{
	struct server_key *k = &s->server[q->generation % 2];
	word32 n = sizeof(a->der);

	if (wc_ecc_sign_hash(q->digest, q->digest_len, a->der, &n, &s->rng, &k->key) != 0) {
		log_error("ca: signing with TLS server key %u failed", (unsigned)q->generation);
		a->status = CERTS_E_CRYPTO;
		return;
	}
	a->der_len = n;
}

static void ca_answer(struct ca_state *s, const struct ca_request *q, struct ca_reply *a)
{
	memset(a, 0, sizeof(*a));
	a->seq = q->seq;
	a->status = ca_check(s, q);
	if (a->status != CERTS_OK)
		return;
	if (q->kind == CA_ISSUE_LDEVID)
		ca_certify(s, q, q->spki, q->spki_len, a);
	else if (q->kind == CA_NEW_SERVER)
		ca_new_server_key(s, q, a);
	else
		ca_sign(s, q, a);
}

static void ca_main(int fd, struct ca_state *s)
{
	struct ca_request q;
	struct ca_reply a;

	for (;;) {
		ssize_t n = recv(fd, &q, sizeof(q), MSG_TRUNC);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("ca: receive failed: %s", strerror(errno));
			break;
		}
		if ((size_t)n != sizeof(q)) {
			log_error("ca: request of %zd bytes, expected %zu: closing", n, sizeof(q));
			break;
		}
		ca_answer(s, &q, &a);
		if (send(fd, &a, sizeof(a), MSG_NOSIGNAL) != (ssize_t)sizeof(a)) {
			log_error("ca: reply failed: %s", strerror(errno));
			break;
		}
	}
	wc_ecc_free(&s->key);
	for (size_t i = 0; i < 2; i++)
		if (s->server[i].generation)
			wc_ecc_free(&s->server[i].key);
	ks_close(s->ks);
	wc_FreeRng(&s->rng);
	util_wipe(s, sizeof(*s));
}

int ca_start(const char *keystore, const char *cert_path, const char *org, long max_validity,
	     struct ca_client *ret)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		static struct ca_state s;
		close(sv[0]);
		signal(SIGINT, SIG_IGN);
		signal(SIGTERM, SIG_DFL);
		log_init("bwc-ca", LOG_LVL_INFO);
		if (ca_load(&s, keystore, cert_path) < 0)
			_exit(1);
		if (wc_InitRng(&s.rng) != 0) {
			log_error("ca: random number generator failed");
			_exit(1);
		}
		snprintf(s.org, sizeof(s.org), "%s", org);
		s.max_validity = max_validity;
		ca_harden();
		log_info("ca: system CA key loaded; serving certificate and signature requests");
		ca_main(sv[1], &s);
		_exit(0);
	}
	close(sv[1]);
	ret->fd = sv[0];
	ret->pid = pid;
	ret->dev_registered = 0;
	ret->seq = 0;
	pthread_mutex_init(&ret->lock, NULL);
	return 0;
}

/* The answer to request seq, within CA_TIMEOUT_MS of start. The answer to an
 * earlier request that timed out may still come first: it is dropped, never
 * taken for this one's. Called under c->lock. */
static int ca_receive(struct ca_client *c, uint64_t seq, uint64_t start, struct ca_reply *a)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	for (;;) {
		uint64_t now = util_monotonic_ms();
		int r = now - start >= CA_TIMEOUT_MS ? 0
						     : poll(&pfd, 1, (int)(CA_TIMEOUT_MS - (now - start)));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -ETIMEDOUT : -EIO;
		r = (int)recv(c->fd, a, sizeof(*a), MSG_TRUNC);
		if (r == 0)
			return -EPIPE;   /* the CA process is gone */
		if (r != (int)sizeof(*a) || a->der_len > sizeof(a->der))
			return -EPROTO;
		if (a->seq == seq)
			return 0;
		log_warn("ca: dropped a late answer (request %" PRIu64 ")", a->seq);
	}
}

/* One request and its answer; der (cap bytes) gets the answer's bytes. */
static int ca_call(struct ca_client *c, struct ca_request *req, uint8_t *der, size_t cap,
		   size_t *ret_len, uint32_t *ret_gen)
{
	static struct ca_reply a;   /* under c->lock */
	int r;

	pthread_mutex_lock(&c->lock);
	req->seq = ++c->seq;
	if (send(c->fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		r = -EPIPE;
		goto out;
	}
	r = ca_receive(c, req->seq, util_monotonic_ms(), &a);
	if (r < 0)
		goto out;
	if (a.status != CERTS_OK) {
		r = a.status;
		goto out;
	}
	if (a.der_len > cap) {
		r = -ENOSPC;
		goto out;
	}
	memcpy(der, a.der, a.der_len);
	*ret_len = a.der_len;
	if (ret_gen)
		*ret_gen = a.generation;
	r = 0;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int ca_issue(struct ca_client *c, struct ca_request *req, uint8_t *der, size_t cap,
	     size_t *ret_len)
{
	return ca_call(c, req, der, cap, ret_len, NULL);
}

int ca_new_server(struct ca_client *c, const char *common_name, time_t not_before,
		  time_t not_after, uint8_t *der, size_t cap, size_t *ret_len, uint32_t *ret_gen)
{
	struct ca_request *q = calloc(1, sizeof(*q));   /* large: not on the stack */
	int r;

	if (!q)
		return CERTS_E_NOMEM;
	q->kind = CA_NEW_SERVER;
	snprintf(q->common_name, sizeof(q->common_name), "%s", common_name);
	q->not_before = not_before;
	q->not_after = not_after;
	r = ca_call(c, q, der, cap, ret_len, ret_gen);
	free(q);
	return r;
}

int ca_sign_server(struct ca_client *c, uint32_t gen, const uint8_t *digest, size_t len,
		   uint8_t *sig, size_t cap, size_t *ret_len)
{
	struct ca_request *q;
	int r;

	if (!digest || len == 0 || len > CA_DIGEST_MAX)
		return CERTS_E_INPUT;
	q = calloc(1, sizeof(*q));
	if (!q)
		return CERTS_E_NOMEM;
	q->kind = CA_SIGN_SERVER;
	q->generation = gen;
	q->digest_len = (uint32_t)len;
	memcpy(q->digest, digest, len);
	r = ca_call(c, q, sig, cap, ret_len, NULL);
	free(q);
	return r;
}

/* wolfCrypt hands this process's ECDSA signatures with a key of CA_DEV_ID to
 * the CA process: the key's id is its generation. Never a software fallback:
 * there is no private key here. */
static int ca_crypto_cb(int dev_id, wc_CryptoInfo *info, void *ctx)
{
	ecc_key *key;
	uint32_t gen;
	size_t len = 0;

	(void)dev_id;
	if (info->algo_type != WC_ALGO_TYPE_PK || info->pk.type != WC_PK_TYPE_ECDSA_SIGN)
		return CRYPTOCB_UNAVAILABLE;
	key = info->pk.eccsign.key;
	if (!key || key->idLen != (int)sizeof(gen) || !info->pk.eccsign.outlen)
		return BAD_FUNC_ARG;
	memcpy(&gen, key->id, sizeof(gen));
	if (ca_sign_server(ctx, gen, info->pk.eccsign.in, info->pk.eccsign.inlen,
			   info->pk.eccsign.out, *info->pk.eccsign.outlen, &len) != 0)
		return WC_HW_E;
	*info->pk.eccsign.outlen = (word32)len;
	return 0;
}

int ca_bind_tls(struct ca_client *c, uint32_t gen, WOLFSSL_CTX *ctx)
{
	if (!c->dev_registered) {
		if (wc_CryptoCb_RegisterDevice(CA_DEV_ID, ca_crypto_cb, c) != 0)
			return -EIO;
		c->dev_registered = 1;
	}
	if (wolfSSL_CTX_SetDevId(ctx, CA_DEV_ID) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_id(ctx, (const unsigned char *)&gen, (long)sizeof(gen),
					  CA_DEV_ID, 32) != WOLFSSL_SUCCESS)
		return -EIO;
	return 0;
}

const char *ca_strerror(int r)
{
	switch (r) {
	case -EPIPE:
		return "the CA process is gone";
	case -ETIMEDOUT:
		return "the CA process did not answer in time";
	case -EPROTO:
		return "the CA process gave a malformed answer";
	case -ENOSPC:
		return "the CA process's answer does not fit";
	case -EIO:
		return "the channel to the CA process failed";
	default:
		return certs_strerror(r);
	}
}

void ca_stop(struct ca_client *c)
{
	if (c->fd < 0)
		return;
	if (c->dev_registered)
		wc_CryptoCb_UnRegisterDevice(CA_DEV_ID);
	c->dev_registered = 0;
	close(c->fd);
	c->fd = -1;
	if (c->pid > 0)
		waitpid(c->pid, NULL, 0);
	pthread_mutex_destroy(&c->lock);
}
