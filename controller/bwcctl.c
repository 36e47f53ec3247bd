/* bwcctl.c - the administrator's tool for the system controller: initialise
 * the system (master-key passphrase, system CA), admit, accept and report
 * cameras, and read the custody audit trail. Works on the state directory
 * next to a running daemon (SQLite WAL, locked audit appends). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "certs/certs.h"
#include "controller/bwcctl.h"
#include "controller/ca.h"
#include "controller/destination.h"
#include "shared/audit.h"
#include "shared/passphrase.h"
#include "shared/util.h"

#define CA_YEARS 10


int die(const char *fmt, ...)
{
	va_list ap;

	fputs("bwcctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

void bwcctl_audit(struct cli *c, const char *event, const char *serial, const char *note)
{
	json_t *d = json_pack("{ss}", "note", note);
	int r = audit_append(c->audit_path, event, serial, d);

	json_decref(d);
	if (r < 0)
		fprintf(stderr, "bwcctl: warning: cannot record \"%s\" in the audit trail %s (%d)\n",
			event, c->audit_path, r);
}

static int read_pass(struct cli *c, const char *prompt, char *out, size_t cap, size_t *len)
{
	int r = pp_read(c->passphrase_file, prompt, out, cap, len);

	if (r < 0)
		return die("cannot read the master-key passphrase%s%s: %s",
			   c->passphrase_file ? " from " : "",
			   c->passphrase_file ? c->passphrase_file : "", pp_strerror(r));
	return 0;
}

/* ---- init ---------------------------------------------------------------- */

/* The controller's keystore (config [system] keystore), opened on first use. */
keystore_t *bwcctl_keystore(struct cli *c)
{
	int r;

	if (c->ks)
		return c->ks;
	r = ks_open(c->cfg.keystore, &c->ks);
	if (r != KS_OK) {
		die("cannot open the keystore %s: %s %s", c->cfg.keystore, ks_strerror(r),
		    ks_last_detail());
		c->ks = NULL;
	}
	return c->ks;
}

/* The system CA key is made in the keystore (in the TPM with that backend)
 * and never leaves it; the self-signed certificate is signed there too. */
static int make_system_ca(struct cli *c, const char *system_id)
{
	struct cert_req req = { .profile = CERT_PROFILE_SYSTEM_CA };
	uint8_t spki[CERTS_MAX_SPKI], der[CERTS_MAX_DER];
	char pem[8192], path[PATH_MAX];
	size_t spki_len = 0, der_len, pem_len;
	keystore_t *ks = bwcctl_keystore(c);
	ecc_key key;
	WC_RNG rng;
	int r;

	if (!ks)
		return 1;
	if (wc_InitRng(&rng) != 0)
		return die("random number generator failed");
	/* A key left by an init that failed later belongs to no system. */
	r = ks_destroy(ks, CA_KEY_NAME);
	if (r == KS_OK)
		r = ks_create_ec(ks, CA_KEY_NAME, spki, sizeof(spki), &spki_len);
	if (r == KS_OK)
		r = ks_load_signer(ks, CA_KEY_NAME, &key);
	if (r != KS_OK) {
		wc_FreeRng(&rng);
		return die("cannot create the system CA key in keystore %s: %s %s",
			   c->cfg.keystore, ks_strerror(r), ks_last_detail());
	}
	snprintf(req.common_name, sizeof(req.common_name), "BWC system CA %s", system_id);
	snprintf(req.organization, sizeof(req.organization), "%s", c->system_name);
	req.not_before = time(NULL) - 60;
	req.not_after = req.not_before + (time_t)CA_YEARS * 365 * DAY_SECONDS;
	req.spki = spki;
	req.spki_len = spki_len;
	r = certs_issue(&req, &key, NULL, 0, &rng, der, sizeof(der), &der_len);
	if (r == 0)
		r = certs_der_to_pem(der, der_len, "CERTIFICATE", pem, sizeof(pem), &pem_len);
	if (r == 0 && config_path(&c->cfg, "ca/ca.pem", path, sizeof(path)) == 0)
		r = util_write_file_atomic(path, pem, pem_len, 0644);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
	if (r < 0)
		return die("cannot create the system CA in %s/ca: %s", c->cfg.state_dir,
			   r <= -10 ? certs_strerror(r) : strerror(-r));
	printf("system CA created: %s/ca/ca.pem (ECDSA P-256, %d years), key \"%s\" in %s\n",
	       c->cfg.state_dir, CA_YEARS, CA_KEY_NAME, c->cfg.keystore);
	return 0;
}

/* The master-key verifier (Argon2id) is sealed by the keystore, not kept in
 * the registry: a copied registry or disk gives nothing to guess against. */

static int seal_verifier(struct cli *c, const char *verifier)
{
	keystore_t *ks = bwcctl_keystore(c);
	int r;

	if (!ks)
		return 1;
	r = ks_seal(ks, MASTER_VERIFIER, (const uint8_t *)verifier, strlen(verifier) + 1);
	if (r != KS_OK)
		return die("cannot seal the master-key verifier in keystore %s: %s %s",
			   c->cfg.keystore, ks_strerror(r), ks_last_detail());
	return 0;
}

static int unseal_verifier(struct cli *c, char *out, size_t cap)
{
	keystore_t *ks = bwcctl_keystore(c);
	size_t len = 0;
	int r;

	if (!ks)
		return 1;
	r = ks_unseal(ks, MASTER_VERIFIER, (uint8_t *)out, cap, &len);
	if (r == KS_E_NOT_FOUND)
		return die("no master-key verifier in keystore %s: run bwcctl init first",
			   c->cfg.keystore);
	if (r != KS_OK)
		return die("cannot unseal the master-key verifier from keystore %s: %s %s",
			   c->cfg.keystore, ks_strerror(r), ks_last_detail());
	if (len == 0 || out[len - 1] != '\0')
		return die("the sealed master-key verifier is malformed; re-initialise the system");
	return 0;
}

static int cmd_init(struct cli *c)
{
	char pass[256], again[256], verifier[256], id[17], path[PATH_MAX];
	uint8_t rnd[8];
	size_t len = 0, len2 = 0;
	WC_RNG rng;
	int r;

	if (registry_meta_get(c->reg, "system_id", id, sizeof(id)) == 0)
		return die("%s is already initialised (system %s); refusing to replace its CA",
			   c->cfg.state_dir, id);
	if (!c->system_name)
		return die("init needs --system-name NAME");
	if (read_pass(c, "New master-key passphrase: ", pass, sizeof(pass), &len))
		return 1;
	if (!c->passphrase_file) {
		if (read_pass(c, "Repeat it: ", again, sizeof(again), &len2))
			return 1;
		r = len != len2 || memcmp(pass, again, len) != 0;
		util_wipe(again, sizeof(again));
		if (r)
			return die("the two passphrases differ; nothing changed");
	}
	r = pp_make_verifier(pass, len, verifier, sizeof(verifier));
	util_wipe(pass, sizeof(pass));
	if (r < 0)
		return die("master-key passphrase refused: %s", pp_strerror(r));
	if (wc_InitRng(&rng) != 0 || wc_RNG_GenerateBlock(&rng, rnd, sizeof(rnd)) != 0)
		return die("random number generator failed");
	wc_FreeRng(&rng);
	util_hex(rnd, sizeof(rnd), id);
	config_path(&c->cfg, "ca", path, sizeof(path));
	if ((r = util_mkdir_p(path, 0700)) < 0)
		return die("cannot create %s: %s", path, strerror(-r));
	if (make_system_ca(c, id) || seal_verifier(c, verifier))
		return 1;
	if (registry_meta_set(c->reg, "system_name", c->system_name) < 0 ||
	    registry_meta_set(c->reg, "system_id", id) < 0)
		return die("cannot write the registry: %s", registry_errmsg(c->reg));
	bwcctl_audit(c, "init", NULL, "system initialised");
	printf("system %s (\"%s\") initialised; master-key verifier (Argon2id) sealed in the "
	       "keystore\n", id, c->system_name);
	return 0;
}

/* ---- cameras ------------------------------------------------------------- */

static int get_camera(struct cli *c, const char *serial, struct camera_rec *rec)
{
	int r = registry_get(c->reg, serial, rec);

	if (r == -ENOENT)
		return die("no camera %s in this system (bwcctl camera list shows them)", serial);
	if (r < 0)
		return die("registry read failed: %s", registry_errmsg(c->reg));
	return 0;
}

static int put_camera(struct cli *c, const struct camera_rec *rec)
{
	if (registry_put(c->reg, rec) < 0)
		return die("registry write failed: %s", registry_errmsg(c->reg));
	return 0;
}

static int cmd_enroll(struct cli *c, const char *serial)
{
	struct camera_rec rec;
	int r;

	if (certs_check_serial(serial) != 0)
		return die("\"%s\" is not a camera serial number", serial);
	r = registry_get(c->reg, serial, &rec);
	if (r == 0 && rec.state != CAM_PENDING)
		return die("camera %s is %s, not waiting for admission", serial,
			   cam_state_name(rec.state));
	if (r == -ENOENT) {
		memset(&rec, 0, sizeof(rec));
		snprintf(rec.serial, sizeof(rec.serial), "%s", serial);
		rec.created = time(NULL);
	} else if (r < 0) {
		return die("registry read failed: %s", registry_errmsg(c->reg));
	}
	rec.state = CAM_ADMITTED;
	if (put_camera(c, &rec))
		return 1;
	bwcctl_audit(c, "admit", serial, "admitted by the administrator");
	printf("camera %s admitted: it is enrolled on its next dock\n", serial);
	return 0;
}

static int cmd_lost(struct cli *c, const char *serial)
{
	struct camera_rec rec;

	if (get_camera(c, serial, &rec))
		return 1;
	rec.state = CAM_LOST;
	if (put_camera(c, &rec))
		return 1;
	bwcctl_audit(c, "lost", serial, "reported lost by the administrator");
	printf("camera %s marked lost: it is refused from now on and its return is reported\n",
	       serial);
	return 0;
}

/* Reads the master-key passphrase and checks it against the sealed verifier
 * (throttled, failures audited); on success the caller has it in pass (cap
 * bytes, NUL-terminated) and wipes it. */
int bwcctl_master(struct cli *c, const char *serial, char *pass, size_t cap)
{
	char verifier[256], num[32];
	unsigned failures = 0;
	time_t last = 0, now = time(NULL), next;
	size_t len = 0;
	int r;

	if (unseal_verifier(c, verifier, sizeof(verifier)))
		return 1;
	if (registry_meta_get(c->reg, "pp_failures", num, sizeof(num)) == 0)
		failures = (unsigned)strtoul(num, NULL, 10);
	if (registry_meta_get(c->reg, "pp_last_failure", num, sizeof(num)) == 0)
		last = (time_t)strtoll(num, NULL, 10);
	next = pp_next_allowed(failures, last);
	if (now < next) {
		char when[32];
		util_time_iso(next, when, sizeof(when));
		bwcctl_audit(c, "accept-throttled", serial, "passphrase attempt refused: too many wrong tries");
		return die("too many wrong passphrases (%u): try again after %s", failures, when);
	}
	if (read_pass(c, "Master-key passphrase: ", pass, cap, &len))
		return 1;
	r = pp_check(pass, len, verifier);
	util_wipe(verifier, sizeof(verifier));
	if (r != 0)
		util_wipe(pass, cap);
	if (r == 0) {
		registry_meta_set(c->reg, "pp_failures", "0");
		return 0;
	}
	snprintf(num, sizeof(num), "%u", failures + 1);
	registry_meta_set(c->reg, "pp_failures", num);
	snprintf(num, sizeof(num), "%lld", (long long)now);
	registry_meta_set(c->reg, "pp_last_failure", num);
	bwcctl_audit(c, "accept-failed", serial, "wrong master-key passphrase");
	return die("wrong master-key passphrase; the attempt is recorded in the audit trail");
}

static int cmd_accept(struct cli *c, const char *serial)
{
	struct camera_rec rec;
	time_t now = time(NULL);
	enum dock_standing st;

	if (get_camera(c, serial, &rec))
		return 1;
	st = registry_standing(&rec, now, (long)c->cfg.grace_days * DAY_SECONDS);
	if (rec.state == CAM_LOST)
		return die("camera %s is reported lost; it cannot be re-accepted", serial);
	if (st != DOCK_S_HELD)
		return die("camera %s is %s, not held: nothing to accept", serial,
			   dock_standing_name(st));
	char pass[256];
	int bad = bwcctl_master(c, serial, pass, sizeof(pass));

	util_wipe(pass, sizeof(pass));
	if (bad)
		return 1;
	rec.state = CAM_ACCEPTED;
	if (put_camera(c, &rec))
		return 1;
	bwcctl_audit(c, "accept", serial, "held camera re-accepted with the master-key passphrase");
	printf("camera %s accepted: its certificate is renewed on its next dock\n", serial);
	return 0;
}

struct list_ctx {
	struct cli *c;
	json_t *arr;
	time_t now;
};

/* Offload progress of the last plan: done/total bytes and mean rate. */
static void progress_text(struct cli *c, const char *serial, struct progress_rec *p, double *rate,
			  char *out, size_t cap)
{
	*rate = 0;
	if (registry_progress_get(c->reg, serial, p) < 0) {
		memset(p, 0, sizeof(*p));
		snprintf(out, cap, "-");
		return;
	}
	if (p->updated > p->started)
		*rate = (double)p->bytes_done / (double)(p->updated - p->started);
	snprintf(out, cap, "%.1f/%.1f MB %.1f MB/s", p->bytes_done / 1e6, p->bytes_total / 1e6,
		 *rate / 1e6);
}

static int list_one(const struct camera_rec *rec, void *ud)
{
	struct list_ctx *l = ud;
	enum dock_standing st = registry_standing(rec, l->now, (long)l->c->cfg.grace_days * DAY_SECONDS);
	char na[32] = "-", ld[32] = "-", prog[64];
	struct progress_rec p;
	double rate;

	if (rec->not_after)
		util_time_iso(rec->not_after, na, sizeof(na));
	if (rec->last_dock)
		util_time_iso(rec->last_dock, ld, sizeof(ld));
	progress_text(l->c, rec->serial, &p, &rate, prog, sizeof(prog));
	if (l->arr)
		return json_array_append_new(l->arr, json_pack(
			"{ss ss ss ss? ss? ss ss s{sIsIsf}}", "serial", rec->serial, "state",
			cam_state_name(rec->state), "standing", dock_standing_name(st), "not_after",
			rec->not_after ? na : NULL, "last_dock", rec->last_dock ? ld : NULL, "model",
			rec->model, "firmware", rec->firmware, "offload", "bytes_done",
			(json_int_t)p.bytes_done, "bytes_total", (json_int_t)p.bytes_total,
			"rate_bytes_per_s", rate)) < 0 ? -ENOMEM : 0;
	printf("%-12s %-9s %-9s %-21s %-21s %s\n", rec->serial, dock_standing_name(st),
	       cam_state_name(rec->state), na, ld, prog);
	return 0;
}

static int cmd_list(struct cli *c)
{
	struct list_ctx l = { c, c->json ? json_array() : NULL, time(NULL) };
	int r;

	if (!c->json)
		printf("%-12s %-9s %-9s %-21s %-21s %s\n", "SERIAL", "STANDING", "STATE",
		       "CERT EXPIRES", "LAST DOCK", "OFFLOAD (LAST DOCK)");
	r = registry_foreach(c->reg, list_one, &l);
	if (r < 0) {
		json_decref(l.arr);
		return die("registry read failed: %s", registry_errmsg(c->reg));
	}
	if (l.arr) {
		json_dumpf(l.arr, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(l.arr);
	}
	return 0;
}

/* ---- destination ------------------------------------------------------ */

/* import FILE: validate and store the EMS connection file; show: print it
 * (the BlobAPIKey only as "(set)"). */
static int cmd_destination(struct cli *c, const char *verb, const char *file)
{
	struct destination *d = calloc(1, sizeof(*d));
	char why[512];
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	if (!d)
		return die("out of memory");
	if (!bwcctl_keystore(c)) {
		r = 1;
	} else if (!strcmp(verb, "show")) {
		r = destination_load(c->reg, c->ks, d);
		r = r == -ENOENT ? die("no destination: bwcctl destination import FILE")
		    : r == -EACCES ? die("the stored destination does not open with keystore %s "
					 "(%s): was the keystore replaced?", c->cfg.keystore,
					 ks_last_detail())
		    : r == -EAGAIN ? die("keystore %s is not reachable (%s): try again",
					 c->cfg.keystore, ks_last_detail())
		    : r < 0 ? die("cannot read the destination from the registry (%d)", r)
			    : destination_print(d, c->json, stdout) < 0;
	} else if ((r = util_read_file(file, DEST_FILE_MAX, &buf, &len)) < 0) {
		r = die("connection file %s: %s", file,
			r == -EFBIG ? "over 64 kB" : strerror(-r));
	} else if (destination_import(c->reg, c->ks, (const char *)buf, len, c->allow_insecure, d,
				      why, sizeof(why)) < 0) {
		r = die("connection file %s refused: %s", file, why);
	} else {
		bwcctl_audit(c, "destination-import", NULL, d->n_certs ? "content destination imported"
			  : "content destination imported: plain HTTP, allowed as insecure");
		printf("destination \"%s\" (%s) imported%s\n", d->site_name, d->app_name,
		       d->n_certs ? "" : "; WARNING: plain HTTP, no certificate");
		r = 0;
	}
	if (buf)
		util_free_secret(buf, len + 1);
	destination_wipe(d);
	free(d);
	return r;
}

/* ---- audit ---------------------------------------------------------------- */

static int cmd_audit_verify(struct cli *c)
{
	struct audit_problem p;
	int r = audit_verify(c->audit_path, &p);

	if (r < 0)
		return die("cannot read the audit trail %s (%d)", c->audit_path, r);
	if (r > 0) {
		fprintf(stderr, "bwcctl: audit trail %s FAILED verification: %s\n", c->audit_path,
			p.message);
		return 1;
	}
	printf("audit trail %s verified: chain intact\n", c->audit_path);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bwcctl -c CONFIG COMMAND\n"
		"  init --system-name NAME [--passphrase-file F]\n"
		"  camera list [--json]\n"
		"  camera enroll SERIAL        admit a camera waiting for enrolment\n"
		"  camera accept SERIAL [--passphrase-file F]\n"
		"                              re-accept a held camera (master-key passphrase)\n"
		"  camera lost SERIAL          refuse this camera from now on\n"
		"  audit verify                check the hash chain of the audit trail\n"
		"  audit show [--camera SERIAL] [--json]\n"
		"  destination import FILE [--allow-insecure]\n"
		"                              validate and store the EMS connection file\n"
		"  destination show [--json]   the stored destination (secrets as \"(set)\")\n"
		"  user add USERID --name NAME | user rename USERID --name NAME | user disable USERID\n"
		"  camera assign SERIAL USERID [--name DEVICE-NAME]\n"
		"  forward status [--json]     recordings waiting, forwarded, not transferred; alarms\n"
		"  staging provision [--passphrase-file F]\n"
		"                              format [staging] volume: LUKS2, a key sealed in the\n"
		"                              keystore, a recovery slot for the master passphrase\n"
		"  staging unlock              open it as /dev/mapper/bwc-staging (then mount it)\n"
		"  staging status              its LUKS2 header: cipher, key size, key slots\n"
		"  staging rekey               a new volume key (offline re-encryption, resumable)\n"
		"  staging erase               factory default: crypto-erase it, remove its key\n");
}

static int dispatch(struct cli *c, int argc, char **argv)
{
	const char *a0 = argc > 0 ? argv[0] : "", *a1 = argc > 1 ? argv[1] : "";
	const char *a2 = argc > 2 ? argv[2] : NULL;

	if (!strcmp(a0, "init") && argc == 1)
		return cmd_init(c);
	if (!strcmp(a0, "camera") && !strcmp(a1, "list") && argc == 2)
		return cmd_list(c);
	if (!strcmp(a0, "camera") && a2 && argc == 3) {
		if (!strcmp(a1, "enroll"))
			return cmd_enroll(c, a2);
		if (!strcmp(a1, "accept"))
			return cmd_accept(c, a2);
		if (!strcmp(a1, "lost"))
			return cmd_lost(c, a2);
	}
	if (!strcmp(a0, "destination") && !strcmp(a1, "import") && a2 && argc == 3)
		return cmd_destination(c, a1, a2);
	if (!strcmp(a0, "destination") && !strcmp(a1, "show") && argc == 2)
		return cmd_destination(c, a1, NULL);
	if (!strcmp(a0, "user") && a2 && argc == 3 &&
	    (!strcmp(a1, "add") || !strcmp(a1, "rename") || !strcmp(a1, "disable")))
		return cmd_user(c, a1, a2, c->name);
	if (!strcmp(a0, "camera") && !strcmp(a1, "assign") && a2 && argc == 4)
		return cmd_assign(c, a2, argv[3], c->name);
	if (!strcmp(a0, "forward") && !strcmp(a1, "status") && argc == 2)
		return cmd_forward_status(c);
	if (!strcmp(a0, "staging") && argc == 2 &&
	    (!strcmp(a1, "provision") || !strcmp(a1, "unlock") || !strcmp(a1, "status") ||
	     !strcmp(a1, "rekey") || !strcmp(a1, "erase")))
		return cmd_staging(c, a1);
	if (!strcmp(a0, "audit") && !strcmp(a1, "verify") && argc == 2)
		return cmd_audit_verify(c);
	if (!strcmp(a0, "audit") && !strcmp(a1, "show") && argc == 2)
		return audit_show(c->audit_path, c->camera_filter, c->json, stdout) < 0
			       ? die("cannot read the audit trail %s", c->audit_path) : 0;
	usage(stderr);
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-file", required_argument, NULL, 'p' },
		{ "system-name", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "camera", required_argument, NULL, 'C' },
		{ "allow-insecure", no_argument, NULL, 'I' },
		{ "name", required_argument, NULL, 'N' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli c = { 0 };
	const char *conf = NULL;
	char why[256], path[PATH_MAX];
	int opt, r;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': conf = optarg; break;
		case 'p': c.passphrase_file = optarg; break;
		case 's': c.system_name = optarg; break;
		case 'j': c.json = 1; break;
		case 'C': c.camera_filter = optarg; break;
		case 'I': c.allow_insecure = 1; break;
		case 'N': c.name = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!conf) {
		usage(stderr);
		return 2;
	}
	if (config_load(conf, &c.cfg, why, sizeof(why)) < 0)
		return die("configuration: %s", why);
	if ((r = util_mkdir_p(c.cfg.state_dir, 0700)) < 0)
		return die("cannot create the state directory %s: %s", c.cfg.state_dir, strerror(-r));
	config_path(&c.cfg, "audit.log", c.audit_path, sizeof(c.audit_path));
	if (config_path(&c.cfg, "registry.db", path, sizeof(path)) < 0 ||
	    registry_open(path, &c.reg) < 0)
		return die("cannot open the registry %s: %s", path, registry_open_error());
	r = dispatch(&c, argc - optind, argv + optind);
	/* whatever the command sealed or made: no process past its start-up may
	 * use the admin-only keys (keys.h) */
	if (c.ks && ctl_restrict_keys(c.ks, why, sizeof(why)) < 0)
		r = die("%s", why);
	registry_close(c.reg);
	ks_close(c.ks);
	return r;
}
