/* bwc.c - the camera daemon: waits for a dock, finds the controller, proves
 * who it is and renews its certificate (enrols when factory-new), then waits
 * for the next dock. It opens no listening socket, ever. */
#include "bwc/bwc.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/doclink.h"
#include "shared/conf.h"
#include "shared/log.h"
#include "shared/privdrop.h"
#include "shared/util.h"

#define MAX_CANDIDATES 8

static volatile sig_atomic_t stopping;

/* What the rig and an operator can read about this camera (state/status.json). */
struct bwc_status {
	int docked;
	enum dock_standing standing;          /* now, as the controller last told us */
	enum dock_standing standing_at_dock;  /* what it was when this dock began */
	const char *last_result;
	char controller[80];
	long renewals;
	time_t last_renewal;
};

struct bwc {
	struct bwc_config cfg;
	struct bwc_identity id;
	struct doclink link;
	store_t *store;
	struct offload_stats off;
	const char *offload_result;
	struct bwc_status st;
};

static void write_status(struct bwc *b)
{
	char path[PATH_MAX], na[32], lr[32], cs[65];
	const struct cert_info *ci = &b->id.ldevid_info;
	json_t *o;
	char *s;

	util_time_iso(ci->not_after, na, sizeof(na));
	util_time_iso(b->st.last_renewal, lr, sizeof(lr));
	util_hex(ci->cert_serial, ci->cert_serial_len > 32 ? 32 : ci->cert_serial_len, cs);
	o = json_pack("{si ss sb ss ss ss? ss? ss? sI ss ss? ss}", "pid", (int)getpid(), "serial",
		      b->id.serial, "docked", b->st.docked, "standing",
		      b->id.sys.enrolled || b->st.standing != DOCK_S_UNKNOWN
			      ? dock_standing_name(b->st.standing) : "factory-new",
		      "standing_at_dock", dock_standing_name(b->st.standing_at_dock),
		      "not_after", b->id.sys.enrolled ? na : NULL, "controller",
		      b->st.controller[0] ? b->st.controller : NULL,
		      "cert_serial", b->id.sys.enrolled ? cs : NULL, "renewals",
		      (json_int_t)b->st.renewals, "last_result", b->st.last_result, "last_renewal",
		      b->st.last_renewal ? lr : NULL, "system_id",
		      b->id.sys.system_id);
	if (o)
		json_object_set_new(o, "offload", json_pack(
			"{sIsIsIsIssss}", "clips_pending", (json_int_t)b->off.clips_pending,
			"bytes_pending", (json_int_t)b->off.bytes_pending, "clips_receipted",
			(json_int_t)b->off.clips_receipted, "bytes_sent", (json_int_t)b->off.bytes_sent,
			"result", b->offload_result ? b->offload_result : "none", "last_error",
			b->off.last_error));
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (s && snprintf(path, sizeof(path), "%s/status.json", b->cfg.state_dir) < (int)sizeof(path) &&
	    util_write_file_atomic(path, s, strlen(s), 0644) < 0)
		log_warn("cannot write %s", path);
	free(s);
}

/* Counters survive restarts (the rig restarts daemons to move the clock). */
static void read_old_status(struct bwc *b)
{
	char path[PATH_MAX];
	json_t *o, *v;

	if (snprintf(path, sizeof(path), "%s/status.json", b->cfg.state_dir) >= (int)sizeof(path))
		return;
	o = json_load_file(path, 0, NULL);
	if (!o)
		return;
	if (json_is_integer(v = json_object_get(o, "renewals")))
		b->st.renewals = (long)json_integer_value(v);
	if (json_is_string(v = json_object_get(o, "last_renewal")))
		util_time_parse_iso(json_string_value(v), &b->st.last_renewal);
	if (json_is_string(v = json_object_get(o, "standing")))
		b->st.standing = dock_standing_parse(json_string_value(v));
	if (json_is_string(v = json_object_get(o, "standing_at_dock")))
		b->st.standing_at_dock = dock_standing_parse(json_string_value(v));
	json_decref(o);
}

enum attempt { ATTEMPT_DONE, ATTEMPT_NEXT_CANDIDATE, ATTEMPT_RETRY_LATER, ATTEMPT_STOP };

static enum attempt handle_answer(struct bwc *b, struct uplink *u, int status, struct dock_http *h)
{
	char why[256];

	if (status == 200) {
		struct dock_cert_resp *a = calloc(1, sizeof(*a));
		int r = a ? dock_decode_cert_resp(h->body, h->body_len, a, why, sizeof(why)) : -ENOMEM;
		if (r == 0)
			r = identity_commit(&b->id, a, u->server_der, u->server_len, why, sizeof(why));
		if (r == 0) {
			char na[32];
			b->st.standing = DOCK_S_VALID;
			b->st.standing_at_dock = a->standing;
			b->st.renewals++;
			b->st.last_renewal = time(NULL);
			b->st.last_result = b->st.renewals == 1 ? "enrolled" : "renewed";
			/* Recordings made from now on are encrypted for the destination. */
			if (store_save_destination_key(b->store, a->dest_key_len ? a->dest_key : NULL,
						       a->dest_key_len, a->dest_key_id) < 0)
				log_error("cannot keep the destination key: new clips stay plaintext on "
					  "the data volume");
			util_time_iso(b->id.ldevid_info.not_after, na, sizeof(na));
			log_info("%s by %s (system %s): new certificate valid until %s, standing at "
				 "dock %s", b->st.last_result, u->peer, b->id.sys.system_id, na,
				 dock_standing_name(a->standing));
		} else {
			identity_abort_renewal(&b->id);
			b->st.last_result = "bad-answer";
			log_error("answer from %s refused: %s", u->peer, why);
		}
		free(a);
		return r == 0 ? ATTEMPT_DONE : ATTEMPT_RETRY_LATER;
	}
	identity_abort_renewal(&b->id);
	{
		struct dock_error_resp e;
		if (dock_decode_error(h->body, h->body_len, &e, why, sizeof(why)) < 0) {
			log_error("controller %s answered %d with a malformed body: %s", u->peer, status, why);
			b->st.last_result = "bad-answer";
			return ATTEMPT_RETRY_LATER;
		}
		log_warn("controller %s refused: %s (%s)", u->peer, dock_code_name(e.code), e.message);
		switch (e.code) {
		case DOCK_C_PENDING:
			b->st.standing = b->st.standing_at_dock = DOCK_S_PENDING;
			b->st.last_result = "pending";
			return ATTEMPT_RETRY_LATER;
		case DOCK_C_HELD:
			b->st.standing = b->st.standing_at_dock = DOCK_S_HELD;
			b->st.last_result = "held";
			return ATTEMPT_RETRY_LATER;
		case DOCK_C_LOST:
			b->st.standing = b->st.standing_at_dock = DOCK_S_LOST;
			b->st.last_result = "lost";
			return ATTEMPT_STOP;
		default:
			b->st.last_result = "refused";
			return ATTEMPT_RETRY_LATER;
		}
	}
}

static enum attempt try_controller(struct bwc *b, const struct in6_addr *addr)
{
	struct dock_csr_req req;
	struct dock_http h;
	struct uplink u;
	char why[256], *body = NULL;
	int status = 0, r;
	enum attempt out;

	dock_http_init(&h, DOCK_HTTP_RESPONSE, DOCK_MAX_BODY);
	r = uplink_connect(&u, &b->id, addr, why, sizeof(why));
	if (r != UPLINK_OK) {
		log_warn("%s", why);
		b->st.last_result = r == UPLINK_TLS_FAILED ? "tls-failed" : "no-controller";
		uplink_close(&u);
		return ATTEMPT_NEXT_CANDIDATE;
	}
	snprintf(b->st.controller, sizeof(b->st.controller), "%s", u.peer);
	memset(&req, 0, sizeof(req));
	snprintf(req.model, sizeof(req.model), "%s", b->cfg.model);
	snprintf(req.firmware, sizeof(req.firmware), "%s", b->cfg.firmware);
	r = identity_prepare_renewal(&b->id, req.csr, sizeof(req.csr), &req.csr_len);
	if (r < 0 || dock_encode_csr_req(&req, &body) < 0) {
		log_error("cannot make a certificate request (keystore: %s)", ks_strerror(r));
		uplink_close(&u);
		return ATTEMPT_RETRY_LATER;
	}
	r = uplink_post(&u, b->id.sys.enrolled ? "/v1/renew" : "/v1/enrol", body, &status, &h, why,
			sizeof(why));
	free(body);
	if (r != UPLINK_OK) {
		log_warn("%s", why);
		identity_abort_renewal(&b->id);
		b->st.last_result = "interrupted";
		out = ATTEMPT_RETRY_LATER;
	} else {
		out = handle_answer(b, &u, status, &h);
	}
	dock_http_reset(&h);
	uplink_close(&u);
	return out;
}

static enum offload_result offload_session(struct bwc *b, const struct in6_addr *addr)
{
	static const char *const names[] = { "done", "retry", "undocked", "no-space", "refused" };
	enum offload_result r;
	struct uplink u;
	char why[256];

	/* A new session: it authenticates with the certificate just renewed. */
	if (uplink_connect(&u, &b->id, addr, why, sizeof(why)) != UPLINK_OK) {
		log_warn("offload: %s", why);
		uplink_close(&u);
		return doclink_docked(&b->link) == 1 ? OFFLOAD_RETRY : OFFLOAD_UNDOCKED;
	}
	r = offload_all(&b->id, b->store, &b->link, &u, (uint64_t)b->cfg.chunk_kib * 1024, &b->off);
	uplink_close(&u);
	b->offload_result = names[r];
	write_status(b);   /* before the log line: readers of the log then see the status */
	if (r == OFFLOAD_DONE)
		log_info("offload finished: %" PRIu64 " clip(s) receipted this dock",
			 b->off.clips_receipted);
	return r;
}

/* After renewal: offload until everything is receipted, the camera is
 * undocked, or the controller refuses. */
static void offload_loop(struct bwc *b, const struct in6_addr *addr)
{
	int backoff_ms = 1000;

	memset(&b->off, 0, sizeof(b->off));
	for (;;) {
		uint64_t before = b->off.bytes_sent + b->off.clips_receipted;
		enum offload_result r = offload_session(b, addr);
		if (r == OFFLOAD_DONE || r == OFFLOAD_UNDOCKED || r == OFFLOAD_REFUSED || stopping)
			return;
		if (b->off.bytes_sent + b->off.clips_receipted > before)
			backoff_ms = 1000;   /* progress: the controller is back, retry soon */
		if (doclink_wait(&b->link, 0, backoff_ms) == 0)
			return;
		backoff_ms = backoff_ms * 2 > 10000 ? 10000 : backoff_ms * 2;
	}
}

/* One docking: find a controller of our system, renew, offload. Returns when
 * done, undocked or stopping. */
static void dock_session(struct bwc *b)
{
	int backoff_ms = 2000;

	for (;;) {
		struct in6_addr cand[MAX_CANDIDATES];
		enum attempt res = ATTEMPT_NEXT_CANDIDATE;
		int n = 0, waited = 0;

		if (b->cfg.controller[0]) {
			cand[0] = b->cfg.controller_addr;   /* fixed address: no discovery */
			n = 1;
		}
		while (!b->cfg.controller[0] &&
		       (n = discover_routers(b->cfg.interface, cand, MAX_CANDIDATES)) <= 0 &&
		       waited < b->cfg.discovery_timeout_ms && !stopping) {
			if (doclink_wait(&b->link, 0, 200) == 0)
				return;   /* undocked */
			waited += 200;
		}
		if (n <= 0) {
			log_warn("no controller advertised on %s after %d ms", b->cfg.interface, waited);
			b->st.last_result = "no-controller";
		}
		int i;
		for (i = 0; i < n && res == ATTEMPT_NEXT_CANDIDATE && !stopping; i++)
			res = try_controller(b, &cand[i]);
		write_status(b);
		if (res == ATTEMPT_DONE && !stopping)
			offload_loop(b, &cand[i - 1]);
		if (res == ATTEMPT_DONE || res == ATTEMPT_STOP || stopping)
			return;
		/* Wait before retrying, unless undocked meanwhile. */
		if (doclink_wait(&b->link, 0, backoff_ms) == 0)
			return;
		backoff_ms = backoff_ms * 2 > 30000 ? 30000 : backoff_ms * 2;
	}
}

static void on_stop(int sig)
{
	stopping = 1;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: bwc -c CONFIG [-n] [-d] [-R]\n"
		     "  -c CONFIG  camera configuration (INI)\n"
		     "  -R         factory default: forget the system this camera is enrolled in\n"
		     "  -n         check the configuration, print it and exit\n"
		     "  -d         debug logging\n");
}

int main(int argc, char **argv)
{
	static struct bwc b;
	struct sigaction sa = { .sa_handler = on_stop };
	struct conf_cmdline cl;
	char why[256];
	int r = conf_cmdline(argc, argv, "R", usage, &cl), reset = cl.set[0];

	if (r >= 0)
		return r;
	log_init("bwc", cl.debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	if (bwc_config_load(cl.conf, &b.cfg, why, sizeof(why)) < 0) {
		log_error("configuration: %s", why);
		return 1;
	}
	if (cl.check) {
		bwc_config_print(&b.cfg, stdout);
		printf("configuration OK\n");
		return 0;
	}
	sigaction(SIGTERM, &sa, NULL);   /* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((r = util_mkdir_p(b.cfg.state_dir, 0700)) < 0) {
		log_error("cannot create state directory %s: %s", b.cfg.state_dir, strerror(-r));
		return 1;
	}
	wolfSSL_Init();
	if (identity_load(&b.id, &b.cfg) < 0)
		return 1;
	if (reset) {
		r = identity_factory_reset(&b.id);
		printf(r == 0 ? "camera %s reset to factory default: it enrols again at its next dock\n"
			      : "camera %s: factory reset incomplete (see errors above)\n", b.id.serial);
		identity_free(&b.id);
		return r == 0 ? 0 : 1;
	}
	if ((r = doclink_open(&b.link, b.cfg.interface)) < 0) {
		log_error("cannot watch dock interface %s: %s", b.cfg.interface, strerror(-r));
		return 1;
	}
	if (bwc_check_storage(&b.cfg, "bwc") < 0)
		return 1;
	if ((r = util_mkdir_p(b.cfg.data_dir, 0700)) < 0 ||
	    (r = store_open(b.cfg.data_dir, &b.store)) < 0) {
		log_error("cannot open the recording store %s: %s", b.cfg.data_dir, strerror(-r));
		return 1;
	}
	/* A client needs no capability at all: only its own files and outgoing TCP. */
	if ((r = privdrop_capabilities()) < 0) {
		log_error("cannot drop capabilities: %s", strerror(-r));
		return 1;
	}
	store_load_destination_key(b.store);
	read_old_status(&b);
	b.st.last_result = "started";
	log_info("camera %s (%s, firmware %s) %s; dock interface %s", b.id.serial, b.cfg.model,
		 b.cfg.firmware, b.id.sys.enrolled ? "enrolled in system" : "factory-new",
		 b.cfg.interface);
	while (!stopping) {
		b.st.docked = doclink_docked(&b.link) == 1;
		write_status(&b);
		if (!b.st.docked) {
			if (doclink_wait(&b.link, 1, -1) < 0 && !stopping)
				sleep(1);
			continue;
		}
		log_info("docked on %s", b.cfg.interface);
		dock_session(&b);
		write_status(&b);
		while (!stopping && doclink_wait(&b.link, 0, -1) == 1)
			;
		if (!stopping)
			log_info("undocked");
		b.st.controller[0] = 0;
	}
	log_info("stopping");
	doclink_close(&b.link);
	store_close(b.store);
	identity_free(&b.id);
	wolfSSL_Cleanup();
	return 0;
}
