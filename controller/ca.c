/* ca.c - the CA process. Loads the system CA key, drops privileges, then
 * answers fixed-size issue requests; anything of the wrong size or shape ends
 * the conversation (the parent is the only peer, so a bad message is a bug). */
#include "controller/ca.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include <errno.h>
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

struct ca_state {
	keystore_t *ks;
	ecc_key key;
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

static int ca_check(const struct ca_state *s, const struct ca_request *q)
{
	if (q->spki_len == 0 || q->spki_len > sizeof(q->spki))
		return CERTS_E_INPUT;
	if (q->not_after <= q->not_before || q->not_after - q->not_before > s->max_validity)
		return CERTS_E_INPUT;
	if (memchr(q->serial, 0, sizeof(q->serial)) == NULL ||
	    memchr(q->common_name, 0, sizeof(q->common_name)) == NULL)
		return CERTS_E_INPUT;
	if (q->kind == CA_ISSUE_LDEVID)
		return certs_check_serial(q->serial);
	if (q->kind == CA_ISSUE_SERVER)
		return q->common_name[0] ? CERTS_OK : CERTS_E_INPUT;
	return CERTS_E_INPUT;
}

static void ca_answer(struct ca_state *s, const struct ca_request *q, struct ca_reply *a)
{
	struct cert_req req;
	size_t len = 0;

	memset(a, 0, sizeof(*a));
	a->status = ca_check(s, q);
	if (a->status != CERTS_OK)
		return;
	memset(&req, 0, sizeof(req));
	req.profile = q->kind == CA_ISSUE_LDEVID ? CERT_PROFILE_LDEVID : CERT_PROFILE_SERVER;
	snprintf(req.serial, sizeof(req.serial), "%s", q->serial);
	snprintf(req.common_name, sizeof(req.common_name), "%s", q->common_name);
	snprintf(req.organization, sizeof(req.organization), "%s", s->org);
	req.not_before = (time_t)q->not_before;
	req.not_after = (time_t)q->not_after;
	req.spki = q->spki;
	req.spki_len = q->spki_len;
	a->status = certs_issue(&req, &s->key, s->cert, s->cert_len, &s->rng, a->der,
				sizeof(a->der), &len);
	a->der_len = (uint32_t)len;
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
		log_info("ca: system CA key loaded; serving issue requests");
		ca_main(sv[1], &s);
		_exit(0);
	}
	close(sv[1]);
	ret->fd = sv[0];
	ret->pid = pid;
	pthread_mutex_init(&ret->lock, NULL);
	return 0;
}

int ca_issue(struct ca_client *c, const struct ca_request *req, uint8_t *der, size_t cap,
	     size_t *ret_len)
{
	static struct ca_reply a;   /* under c->lock */
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };
	int r;

	pthread_mutex_lock(&c->lock);
	if (send(c->fd, req, sizeof(*req), MSG_NOSIGNAL) != (ssize_t)sizeof(*req)) {
		r = -EPIPE;
		goto out;
	}
	r = poll(&pfd, 1, 5000);
	if (r <= 0) {
		r = r == 0 ? -ETIMEDOUT : -errno;
		goto out;
	}
	if (recv(c->fd, &a, sizeof(a), MSG_TRUNC) != (ssize_t)sizeof(a) ||
	    a.der_len > sizeof(a.der)) {
		r = -EPROTO;
		goto out;
	}
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
	r = 0;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

void ca_stop(struct ca_client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	if (c->pid > 0)
		waitpid(c->pid, NULL, 0);
	pthread_mutex_destroy(&c->lock);
}
