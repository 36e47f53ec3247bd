/* controller.c - the system controller daemon (parent process): reads the
 * configuration, starts the CA process, makes a fresh TLS server identity,
 * then serves docked cameras on one libuv loop and advertises itself on the
 * dock link. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/asn_public.h>

#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "certs/certs.h"
#include "controller/conn.h"
#include "controller/ra.h"
#include "hw/storage.h"
#include "shared/conf.h"
#include "shared/log.h"
#include "shared/privdrop.h"
#include "shared/util.h"

#define SERVER_CERT_DAYS 90

static int load_pem_cert(const char *path, uint8_t *der, size_t cap, size_t *len)
{
	uint8_t *pem = NULL;
	size_t plen;
	int r = util_read_file(path, 65536, &pem, &plen);

	if (r < 0) {
		log_error("cannot read certificate %s: %s", path, strerror(-r));
		return r;
	}
	r = certs_pem_to_der((char *)pem, plen, "CERTIFICATE", der, cap, len);
	free(pem);
	if (r < 0)
		log_error("%s: %s", path, certs_strerror(r));
	return r;
}

/* The TLS server identity: at every start and at every certificate renewal
 * the CA process makes a new server key (in its TPM with that backend; never
 * stored) and issues its certificate; this process signs the handshakes and
 * the offload receipts with it through the CA process and never holds it.
 * The certificate is written out for operators to inspect. */
static int make_server_identity(struct ctl *ctl, WOLFSSL_CTX *tls)
{
	uint8_t der[CERTS_MAX_DER];
	char cn[CERTS_NAME_MAX], pem[8192], path[PATH_MAX];
	size_t der_len = 0, pem_len = 0;
	time_t now = time(NULL), not_after = now + SERVER_CERT_DAYS * DAY_SECONDS;
	uint32_t gen = 0;
	int r;

	snprintf(cn, sizeof(cn), "BWC controller %.32s", ctl->system_id);
	r = ca_new_server(&ctl->ca, cn, now - 60, not_after, der, sizeof(der), &der_len, &gen);
	if (r < 0) {
		log_error("the CA process made no TLS server key and certificate: %s", ca_strerror(r));
		return r;
	}
	if (ca_bind_tls(&ctl->ca, gen, tls) < 0 ||
	    wolfSSL_CTX_use_certificate_buffer(tls, der, (long)der_len, WOLFSSL_FILETYPE_ASN1) !=
		    WOLFSSL_SUCCESS) {
		log_error("cannot load the server identity into TLS");
		return -EIO;
	}
	ctl->server_not_after = not_after;
	pthread_mutex_lock(&ctl->signer_lock);
	ctl->signer_gen = gen;
	memcpy(ctl->signer_der, der, der_len);
	ctl->signer_len = der_len;
	pthread_mutex_unlock(&ctl->signer_lock);
	if (config_path(&ctl->cfg, "server.pem", path, sizeof(path)) == 0 &&
	    certs_der_to_pem(der, der_len, "CERTIFICATE", pem, sizeof(pem), &pem_len) == 0 &&
	    util_write_file_atomic(path, pem, pem_len, 0644) < 0)
		log_warn("cannot write %s (for inspection only)", path);
	return 0;
}

static WOLFSSL_CTX *make_tls(struct ctl *ctl)
{
	WOLFSSL_CTX *tls = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1 };

	if (!tls)
		return NULL;
	/* ChaCha20-Poly1305 first: this wolfSSL build has no AES-NI (docs). */
	if (wolfSSL_CTX_set_cipher_list(tls, "TLS13-CHACHA20-POLY1305-SHA256:"
					"TLS13-AES256-GCM-SHA384:TLS13-AES128-GCM-SHA256") != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_groups(tls, groups, 2) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_load_verify_buffer(tls, ctl->ca_der, (long)ctl->ca_len,
					   WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS ||
	    (ctl->next_ca_len &&
	     wolfSSL_CTX_load_verify_buffer(tls, ctl->next_ca_der, (long)ctl->next_ca_len,
					    WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) ||
	    wolfSSL_CTX_load_verify_buffer(tls, ctl->mfr_der, (long)ctl->mfr_len,
					   WOLFSSL_FILETYPE_ASN1) != WOLFSSL_SUCCESS) {
		log_error("cannot configure TLS (cipher suites, groups or trust anchors)");
		wolfSSL_CTX_free(tls);
		return NULL;
	}
	wolfSSL_CTX_set_session_cache_mode(tls, WOLFSSL_SESS_CACHE_OFF);
	wolfSSL_CTX_no_ticket_TLSv13(tls);
	return tls;
}

/* Link-local address of the dock interface, for status.json. */
static void dock_address(const char *ifname, char *out, size_t cap)
{
	struct ifaddrs *ifa, *i;

	snprintf(out, cap, "none");
	if (getifaddrs(&ifa) < 0)
		return;
	for (i = ifa; i; i = i->ifa_next) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)i->ifa_addr;
		char host[64];
		if (!s6 || s6->sin6_family != AF_INET6 || strcmp(i->ifa_name, ifname) ||
		    !IN6_IS_ADDR_LINKLOCAL(&s6->sin6_addr))
			continue;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(out, cap, "%s%%%s", host, ifname);
		break;
	}
	freeifaddrs(ifa);
}

static void write_status(struct ctl *ctl)
{
	char path[PATH_MAX], addr[96], buf[512];
	int n;

	dock_address(ctl->cfg.interface, addr, sizeof(addr));
	n = snprintf(buf, sizeof(buf),
		     "{\"pid\":%d,\"address\":\"%s\",\"port\":%d,\"system_id\":\"%s\"}\n",
		     (int)getpid(), addr, ctl->cfg.port, ctl->system_id);
	if (config_path(&ctl->cfg, "status.json", path, sizeof(path)) == 0 && n > 0 &&
	    util_write_file_atomic(path, buf, (size_t)n, 0644) < 0)
		log_warn("cannot write %s", path);
}

/* A new server key and certificate for new connections; connections in
 * progress keep the old ones (the CA process keeps the previous key). */
static int renew_server_identity(struct listener *l)
{
	WOLFSSL_CTX *tls = make_tls(l->ctl);

	if (!tls || make_server_identity(l->ctl, tls) < 0) {
		wolfSSL_CTX_free(tls);
		return -1;
	}
	listener_set_tls(l, tls);
	return 0;
}

/* A controller may run for months: its server certificate is replaced while
 * a third of its life remains. */
static void on_server_cert_timer(uv_timer_t *t)
{
	struct listener *l = t->data;

	if (time(NULL) < l->ctl->server_not_after - SERVER_CERT_DAYS / 3 * DAY_SECONDS)
		return;
	if (renew_server_identity(l) < 0)
		log_error("cannot renew the TLS server certificate; retrying in an hour");
	else
		log_info("TLS server certificate renewed");
}

/* SIGHUP (systemctl reload): a new server key and certificate now, e.g. when
 * an operator suspects the controller process was compromised. */
static void on_sighup(uv_signal_t *s, int signum)
{
	(void)signum;
	if (renew_server_identity(s->data) < 0)
		log_error("SIGHUP: cannot make a new TLS server key and certificate; the current "
			  "ones stay in use (see the CA process's message)");
	else
		log_info("SIGHUP: new TLS server key and certificate in use for new connections");
}

/* A stop was asked for (SIGTERM, SIGINT); a child process died on its own. */
static int stopping, child_died;

static void on_signal(uv_signal_t *s, int signum)
{
	log_info("signal %d: stopping", signum);
	stopping = 1;
	uv_stop(s->loop);
}

/* The CA process holds every key the controller signs with and the
 * forwarder is the only way to the EMS: without either the controller is of
 * no use, so it stops (exit code 1) and its service manager starts it again
 * with both (bwc-controller.service: Restart=on-failure). */
static void on_child(uv_signal_t *s, int signum)
{
	struct ctl *ctl = s->data;
	pid_t *pids[2] = { &ctl->ca.pid, &ctl->fwd->pid };
	static const char *const names[2] = { "CA", "forwarder" };
	int st;

	(void)signum;
	for (size_t i = 0; i < 2; i++) {
		pid_t pid = *pids[i];
		if (pid <= 0 || waitpid(pid, &st, WNOHANG) != pid)
			continue;
		*pids[i] = 0;
		uv_stop(s->loop);
		/* The whole service is being stopped (systemd signals every process). */
		if (stopping || (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM)) {
			log_info("the %s process stopped: stopping", names[i]);
			continue;
		}
		child_died = 1;
		log_error("the %s process (pid %d) %s %d: stopping the controller so that it is "
			  "started again with all its processes", names[i], (int)pid,
			  WIFSIGNALED(st) ? "was killed by signal" : "exited with status",
			  WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	}
}

static int load_system(struct ctl *ctl)
{
	char path[PATH_MAX];
	struct cert_info info;
	int r;

	if (config_path(&ctl->cfg, "registry.db", path, sizeof(path)) < 0 ||
	    registry_open(path, &ctl->reg) < 0) {
		log_error("cannot open the registry %s: %s", path, registry_open_error());
		return -EIO;
	}
	if (registry_meta_get(ctl->reg, "system_id", ctl->system_id, sizeof(ctl->system_id)) < 0 ||
	    registry_meta_get(ctl->reg, "system_name", ctl->system_name, sizeof(ctl->system_name)) < 0) {
		log_error("this controller is not initialised: run bwcctl -c CONFIG init");
		return -ENOENT;
	}
	config_path(&ctl->cfg, "audit.log", ctl->audit_path, sizeof(ctl->audit_path));
	config_path(&ctl->cfg, "ca/ca.pem", path, sizeof(path));
	if ((r = load_pem_cert(path, ctl->ca_der, sizeof(ctl->ca_der), &ctl->ca_len)) < 0)
		return r;
	if ((r = certs_parse(ctl->ca_der, ctl->ca_len, &info)) < 0)
		return r;
	memcpy(ctl->ca_pin, info.spki_sha256, 32);
	config_path(&ctl->cfg, "ca/next-ca.pem", path, sizeof(path));
	if (access(path, F_OK) == 0) {
		if ((r = load_pem_cert(path, ctl->next_ca_der, sizeof(ctl->next_ca_der),
				       &ctl->next_ca_len)) < 0 ||
		    (r = certs_parse(ctl->next_ca_der, ctl->next_ca_len, &info)) < 0)
			return r;
		memcpy(ctl->next_ca_pin, info.spki_sha256, 32);
		log_info("next system CA staged for rotation: cameras receive its pin at renewal");
	}
	return load_pem_cert(ctl->cfg.manufacturer_root, ctl->mfr_der, sizeof(ctl->mfr_der),
			     &ctl->mfr_len);
}

/* Recordings are staged only on an encrypted volume (dm-crypt LUKS2, see
 * bwcctl staging), or - development and the rig, loudly - in a plain
 * directory when the configuration says so. */
static int check_staging(const struct ctl_config *cfg)
{
	char name[STORAGE_NAME_MAX + 1] = "";
	int r = storage_path_encrypted(cfg->staging_dir, name, sizeof(name));

	if (r == 1) {
		log_info("staging %s is on the encrypted volume %s (LUKS2)", cfg->staging_dir, name);
		return 0;
	}
	if (cfg->staging_allow_unencrypted) {
		r = storage_dev_open(cfg->staging_dir, STORAGE_ALLOW_UNENCRYPTED);
		if (r != STORAGE_OK) {
			log_error("staging %s: %s", cfg->staging_dir, storage_strerror(r));
			return -EIO;
		}
		log_warn("DEVELOPMENT ONLY: staging %s is NOT encrypted ([staging] "
			 "allow_unencrypted = true); recordings lie there in clear", cfg->staging_dir);
		return 0;
	}
	log_error("staging %s is not on an encrypted volume%s%s: provision one with `bwcctl "
		  "staging provision` ([staging] volume), open it with `bwcctl staging unlock` and "
		  "mount it there; only a development machine may set [staging] allow_unencrypted "
		  "= true", cfg->staging_dir, r < 0 ? " (" : "", r < 0 ? strerror(-r) : "");
	if (r < 0)
		log_error("(the directory could not be examined: create it on the mounted volume)");
	return -EPERM;
}

/* ctl_restrict_keys, and away with the TLS server keys that earlier versions
 * of this daemon stored in the keystore (now they never leave the CA
 * process). */
static int restrict_keys(const struct ctl_config *cfg)
{
	static const char *const stored_server_keys[2] = TLS_SERVER_KEYS;
	keystore_t *ks = NULL;
	char why[256];
	int r;

	r = ks_open(cfg->keystore, &ks);
	if (r != KS_OK) {
		log_error("cannot open the keystore %s: %s %s", cfg->keystore, ks_strerror(r),
			  ks_last_detail());
		return -EIO;
	}
	r = ctl_restrict_keys(ks, why, sizeof(why));
	if (r < 0)
		log_error("keystore %s: %s", cfg->keystore, why);
	for (size_t i = 0; r == 0 && i < 2; i++) {
		int d = ks_destroy(ks, stored_server_keys[i]);
		if (d != KS_OK) {
			log_error("keystore %s: cannot remove the stored TLS server key %s of an "
				  "earlier version: %s %s", cfg->keystore, stored_server_keys[i],
				  ks_strerror(d), ks_last_detail());
			r = -EIO;
		}
	}
	ks_close(ks);
	return r;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: bwc-controller -c CONFIG [-n] [-d]\n"
		     "  -c CONFIG  controller configuration (INI)\n"
		     "  -n         check the configuration, print it and exit\n"
		     "  -d         debug logging\n");
}

int main(int argc, char **argv)
{
	static struct ctl ctl;
	static struct listener lst;
	static struct ra ra;
	static struct forward_proc fwd = { .pid = 0, .wake_fd = -1 };
	struct conf_cmdline cl;
	char why[256], path[PATH_MAX];
	uv_signal_t sigterm, sigint, sigchld, sighup;
	uv_timer_t cert_timer;
	WOLFSSL_CTX *tls = NULL;
	uv_loop_t *loop = uv_default_loop();
	int r, rc = 1;

	ctl.ca.fd = -1;
	pthread_mutex_init(&ctl.signer_lock, NULL);

	if ((r = conf_cmdline(argc, argv, "", usage, &cl)) >= 0)
		return r;
	log_init("bwc-controller", cl.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (config_load(cl.conf, &ctl.cfg, why, sizeof(why)) < 0) {
		log_error("configuration: %s", why);
		return 1;
	}
	if (cl.check) {
		config_print(&ctl.cfg, stdout);
		printf("configuration OK\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	if (load_system(&ctl) < 0 || check_staging(&ctl.cfg) < 0)
		goto out;
	/* The destination's credentials live only in the forwarder. */
	r = forward_start(&ctl.cfg, ctl.system_id, ctl.system_name, ctl.audit_path, &fwd);
	if (r < 0) {
		log_error("cannot start the forwarder process: %s", strerror(-r));
		goto out;
	}
	ctl.fwd = &fwd;
	/* The CA key's own process, before anything touches the network. */
	config_path(&ctl.cfg, "ca/ca.pem", path, sizeof(path));
	{
		r = ca_start(ctl.cfg.keystore, path, ctl.system_name,
			     (long)(ctl.cfg.lifetime_days > SERVER_CERT_DAYS ? ctl.cfg.lifetime_days
									    : SERVER_CERT_DAYS) * DAY_SECONDS + 120,
			     &ctl.ca);
	}
	if (r < 0) {
		log_error("cannot start the CA process: %s", strerror(-r));
		goto out;
	}
	wolfSSL_Init();
	/* Still privileged: make sure that once the capabilities are gone no
	 * process of the controller can load the CA key or the admin's secrets
	 * (the CA process loaded its key before this). This process then keeps
	 * no keystore: every key it uses is the CA process's. */
	if (restrict_keys(&ctl.cfg) < 0)
		goto out;
	tls = make_tls(&ctl);
	if (!tls || make_server_identity(&ctl, tls) < 0)
		goto out;
	if (offload_recover(&ctl) < 0)
		goto out;
	r = listener_start(&lst, loop, &ctl, tls);
	tls = NULL;   /* the listener owns it */
	if (r < 0) {
		log_error("cannot listen on [::]:%d on %s: %s", ctl.cfg.port, ctl.cfg.interface,
			  r > -4096 && r < -1000 ? uv_strerror(r) : strerror(-r));
		goto out;
	}
	r = ra_open(&ra, loop, ctl.cfg.interface, ctl.cfg.ra_interval_ms);
	if (r < 0) {
		log_error("cannot send router advertisements on %s: %s (needs CAP_NET_RAW)",
			  ctl.cfg.interface, strerror(-r));
		goto out;
	}
	/* Everything privileged is done (raw socket for router advertisements,
	 * bound listener, CA and forwarder forked): no capability from here on. */
	r = privdrop_capabilities();
	if (r < 0) {
		log_error("cannot drop capabilities: %s", strerror(-r));
		goto out;
	}
	uv_signal_init(loop, &sigterm);
	uv_signal_init(loop, &sigint);
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);
	uv_signal_init(loop, &sigchld);
	sigchld.data = &ctl;
	uv_signal_start(&sigchld, on_child, SIGCHLD);
	uv_signal_init(loop, &sighup);
	sighup.data = &lst;
	uv_signal_start(&sighup, on_sighup, SIGHUP);
	uv_timer_init(loop, &cert_timer);
	cert_timer.data = &lst;
	uv_timer_start(&cert_timer, on_server_cert_timer, 3600 * 1000, 3600 * 1000);
	write_status(&ctl);
	log_info("system %s (%s): serving docks on %s port %d, auto-enrol %s",
		 ctl.system_id, ctl.system_name, ctl.cfg.interface, ctl.cfg.port,
		 ctl.cfg.auto_enrol ? "on" : "off");
	uv_run(loop, UV_RUN_DEFAULT);
	ra_close(&ra);
	listener_stop(&lst);
	uv_close((uv_handle_t *)&sigterm, NULL);
	uv_close((uv_handle_t *)&sigint, NULL);
	uv_close((uv_handle_t *)&sigchld, NULL);
	uv_close((uv_handle_t *)&sighup, NULL);
	uv_close((uv_handle_t *)&cert_timer, NULL);
	uv_run(loop, UV_RUN_DEFAULT);   /* let the close callbacks run */
	rc = child_died;
out:
	forward_stop(&fwd);
	ca_stop(&ctl.ca);
	wolfSSL_CTX_free(tls);
	wolfSSL_CTX_free(lst.tls);   /* NULL after listener_stop */
	wolfSSL_Cleanup();
	registry_close(ctl.reg);
	return rc;
}
