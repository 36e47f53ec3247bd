/* forward.c - the forwarder process. It alone holds the destination's
 * credentials and public key; it reads the registry (its own SQLite
 * connection) for recordings whose clips are all committed, uploads them with
 * a few worker threads, and deletes the staged files only after the
 * destination confirmed every object (MD5 ETag) and the container's
 * Status=Complete was set. Failures follow the integration API: 400 is a
 * permanent rejection, 401 re-authenticates, 402/507 keep and alarm, 503 and
 * network errors back off with jitter. The queue is the registry, so it
 * survives restarts; a recording being uploaded when the process died is
 * simply uploaded again (same names: nothing is duplicated). */
#include "controller/forward.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/md5.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "certs/certs.h"
#include "controller/destination.h"
#include "controller/swift.h"
#include "dock-protocol/dock.h"
#include "shared/audit.h"
#include "shared/bulkhash.h"
#include "shared/envelope.h"
#include "shared/log.h"
#include "shared/privdrop.h"
#include "shared/util.h"

#define BLOCK (1024 * 1024)
#define MAX_WORKERS 8

struct caps {
	int system_id, bookmarks, gnss, rejected, signed_video, user_id_key, categories;
};

struct fwd {
	struct ctl_config cfg;
	char system_id[DOCK_TEXT_MAX], system_name[CERTS_NAME_MAX];
	char audit_path[PATH_MAX];
	registry_t *reg;
	keystore_t *ks;               /* unseals the destination document */
	int unseal_reported, unreachable_reported;
	char *dest_form;              /* stored form last unsealed (or refused): main thread */
	int wake_fd;
	volatile sig_atomic_t stopping;
	pthread_mutex_t lock;
	pthread_mutex_t claim_lock;
	pthread_mutex_t session_lock;     /* one session set-up (auth, binding) at a time */
	pthread_cond_t cond;
	unsigned long generation;     /* bumped on every wake */
	/* destination snapshot, under lock */
	struct destination *dest;
	char *ca_pem;
	unsigned long dest_version;
};

static struct fwd *the_fwd;

/* Each worker thread has its own registry connection: SQLite transactions
 * belong to a connection, and a shared one would let one thread's ROLLBACK
 * undo another thread's update. */
static __thread registry_t *thread_reg;

static registry_t *reg_of(struct fwd *f)
{
	return thread_reg ? thread_reg : f->reg;
}

/* ---- names --------------------------------------------------------------- */

int forward_container_name(const char *user_id, const char *serial, time_t trigger_on,
			   char *out, size_t cap)
{
	char t[32];
	struct tm tm;
	int n;

	gmtime_r(&trigger_on, &tm);
	strftime(t, sizeof(t), "%Y%m%dT%H%M%SZ", &tm);
	n = snprintf(out, cap, "%s_%s_%s", user_id, serial, t);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

int forward_object_name(time_t start, const char *recording_id, const char *ext, char *out,
			size_t cap)
{
	char t[32];
	struct tm tm;
	int n;

	gmtime_r(&start, &tm);
	strftime(t, sizeof(t), "%Y%m%d_%H%M%S", &tm);
	n = snprintf(out, cap, "%s_%.8s.%s", t, recording_id, ext);
	return n < 0 || (size_t)n >= cap ? -ENOSPC : 0;
}

/* ---- helpers --------------------------------------------------------------- */

static void alarm_set(struct fwd *f, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void alarm_set(struct fwd *f, const char *name, const char *fmt, ...)
{
	char text[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	log_error("ALARM %s: %s", name, text);
	registry_exec(reg_of(f), "INSERT INTO alarms (name, text, since) VALUES (?, ?, ?) "
		      "ON CONFLICT (name) DO UPDATE SET text = excluded.text", "ssi", name, text,
		      (int64_t)time(NULL));
}

static void alarm_clear(struct fwd *f, const char *name)
{
	registry_exec(reg_of(f), "DELETE FROM alarms WHERE name = ?", "s", name);
}

static void audit(struct fwd *f, const char *event, const char *serial, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void audit(struct fwd *f, const char *event, const char *serial, const char *fmt, ...)
{
	char text[600];
	json_t *d;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	d = json_pack("{ss}", "note", text);
	if (audit_append(f->audit_path, event, serial, d) < 0)
		log_error("audit: cannot record \"%s\" for %s", event, serial ? serial : "-");
	json_decref(d);
}

static void hex(const uint8_t *in, size_t len, char *out)
{
	util_hex(in, len, out);
}

/* MD5 and SHA-256 of a file in one pass. */
static int hash_file(const char *path, char md5_hex[33], char sha_hex[65], uint64_t *ret_size)
{
	uint8_t md5[16], sha[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC), r;

	if (fd < 0)
		return -errno;
	r = bulkhash_fd(fd, UINT64_MAX, sha, md5, ret_size);
	close(fd);
	if (r == 0) {
		hex(md5, 16, md5_hex);
		hex(sha, 32, sha_hex);
	}
	return r;
}

static void md5_mem(const void *data, size_t len, char md5_hex[33])
{
	uint8_t d[16];
	wc_Md5 m;

	wc_InitMd5(&m);
	wc_Md5Update(&m, data, (word32)len);
	wc_Md5Final(&m, d);
	hex(d, 16, md5_hex);
}

/* ---- destination ------------------------------------------------------------- */

/* Reloads the destination when the admin imported a new connection file.
 * Only a changed stored form is unsealed: no keystore operation every
 * refresh, and a document the keystore refused is not tried again (each try
 * would count against the TPM's dictionary-attack lockout) until a new one
 * is imported. */
static int dest_refresh(struct fwd *f)
{
	struct destination *d;
	char *pem = NULL, *form = NULL;
	size_t pem_len = 0;
	int r;

	r = destination_stored_form(reg_of(f), &form);
	if (r == 0 && f->dest_form && strcmp(form, f->dest_form) == 0) {
		free(form);
		return f->unseal_reported ? -EACCES : 0;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		free(form);
		return -ENOMEM;
	}
	if (r == 0)
		r = destination_open_form(f->ks, form, d);
	if (form && (r == 0 || r == -EACCES)) {
		free(f->dest_form);
		f->dest_form = form;
	} else {
		free(form);
	}
	if (r < 0) {
		if (r == -EACCES && !f->unseal_reported)
			log_error("forward: the stored destination does not open with keystore %s "
				  "(%s): import the connection file again", f->cfg.keystore,
				  ks_last_detail());
		if (r == -EAGAIN && !f->unreachable_reported)
			log_error("forward: keystore %s is not reachable (%s): the destination is "
				  "read again every 10 s", f->cfg.keystore, ks_last_detail());
		f->unseal_reported = r == -EACCES;
		f->unreachable_reported = r == -EAGAIN;
		free(d);
		return r == -EACCES ? r : -ENOENT;
	}
	f->unseal_reported = f->unreachable_reported = 0;
	pthread_mutex_lock(&f->lock);
	if (f->dest && strcmp(f->dest->document, d->document) == 0) {
		pthread_mutex_unlock(&f->lock);
		util_free_secret(d, sizeof(*d));
		return 0;
	}
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < d->n_certs; i++) {
		char one[8192];
		size_t len;
		char *np;
		if (certs_der_to_pem(d->cert_der[i], d->cert_len[i], "CERTIFICATE", one, sizeof(one),
				     &len) < 0 || !(np = realloc(pem, pem_len + len + 1)))
			continue;
		pem = np;
		memcpy(pem + pem_len, one, len);
		pem_len += len;
		pem[pem_len] = 0;
	}
	pthread_mutex_lock(&f->lock);
	if (f->dest)
		util_free_secret(f->dest, sizeof(*f->dest));
	free(f->ca_pem);
	f->dest = d;
	f->ca_pem = pem;
	f->dest_version++;
	pthread_mutex_unlock(&f->lock);
	log_info("forward: destination \"%s\" (%zu authentication URI(s), %s, encryption %s)",
		 d->site_name, d->n_uris, d->n_certs ? "HTTPS, pinned certificates" : "plain HTTP",
		 d->want_encryption ? "on" : "off");
	return 0;
}

/* A worker's private copy of what it needs from the destination. */
struct session {
	struct fwd *f;
	unsigned long version;
	struct destination d;
	char *ca_pem;
	swift_t *sw;
	struct caps caps;
	char md5[33], sha[65];
};

static int session_open(struct fwd *f, struct session *s)
{
	struct swift_config sc = { 0 };

	memset(s, 0, sizeof(*s));
	s->f = f;
	pthread_mutex_lock(&f->lock);
	if (!f->dest) {
		pthread_mutex_unlock(&f->lock);
		return -ENOENT;
	}
	s->d = *f->dest;
	s->version = f->dest_version;
	s->ca_pem = f->ca_pem ? strdup(f->ca_pem) : NULL;
	pthread_mutex_unlock(&f->lock);
	for (size_t i = 0; i < s->d.n_uris && i < SWIFT_MAX_URIS; i++)
		sc.auth_uris[sc.n_auth_uris++] = s->d.uris[i];
	sc.user = s->d.blob_user;
	sc.key = s->d.blob_key;
	sc.ca_pem = s->ca_pem;
	sc.timeout_s = 30;
	return swift_open(&sc, &s->sw) == SWIFT_OK ? 0 : -ENOMEM;
}

static void session_close(struct session *s)
{
	swift_close(s->sw);
	free(s->ca_pem);
	util_wipe(&s->d, sizeof(s->d));
}

/* System/Capabilities.json: verified by its ETag (MD5 of the body). Missing or
 * malformed means nothing is supported (FullStoreAndReadSupport: everything). */
static void read_caps(struct session *s)
{
	static const struct { const char *group, *name; size_t off; } table[] = {
		{ "StoreAndRead", "StoreReadSystemID", offsetof(struct caps, system_id) },
		{ "Store", "StoreBookmarks", offsetof(struct caps, bookmarks) },
		{ "Store", "StoreGNSSTrackRecording", offsetof(struct caps, gnss) },
		{ "Store", "StoreRejectedContent", offsetof(struct caps, rejected) },
		{ "Store", "StoreSignedVideo", offsetof(struct caps, signed_video) },
		{ "Store", "StoreUserIDKey", offsetof(struct caps, user_id_key) },
		{ "Read", "ReadCategories", offsetof(struct caps, categories) },
	};
	char *body = NULL, etag[64], md5[33];
	size_t len = 0;
	json_t *root = NULL;

	memset(&s->caps, 0, sizeof(s->caps));
	if (s->d.full_store_and_read) {
		for (size_t i = 0; i < ARRAY_SIZE(table); i++)
			*(int *)((char *)&s->caps + table[i].off) = 1;
		return;
	}
	if (swift_get_object(s->sw, "System", "Capabilities.json", 65536, &body, &len, etag) != SWIFT_OK)
		return;
	md5_mem(body, len, md5);
	if (strcasecmp(md5, etag) != 0) {
		log_error("forward: System/Capabilities.json is corrupt (ETag %s, body MD5 %s): "
			  "treating every capability as unsupported", etag, md5);
	} else if ((root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL))) {
		for (size_t i = 0; i < ARRAY_SIZE(table); i++)
			*(int *)((char *)&s->caps + table[i].off) = json_is_true(
				json_object_get(json_object_get(root, table[i].group), table[i].name));
	}
	json_decref(root);
	free(body);
}

/* StoreReadSystemID: bind this system to the destination once, and check the
 * binding on every session. */
static int check_system_id(struct session *s)
{
	struct swift_meta meta[] = { { "ConnectionId", s->f->system_id },
				     { "SystemName", s->f->system_name } };
	char value[128], md5[33];
	int r;

	if (!s->caps.system_id)
		return 0;
	r = swift_head_object(s->sw, "System", s->f->system_id, "ConnectionId", value, sizeof(value));
	if (r == SWIFT_OK && strcmp(value, s->f->system_id) == 0)
		return 0;
	if (r == SWIFT_OK) {
		alarm_set(s->f, "destination-system-id", "System/%s at the destination names connection "
			  "\"%s\": refusing to forward to a destination bound to another system",
			  s->f->system_id, value);
		return SWIFT_E_REJECTED;
	}
	if (r != SWIFT_E_NOT_FOUND)
		return r;
	md5_mem("", 0, md5);
	r = swift_put_container(s->sw, "System", NULL, 0);
	if (r == SWIFT_OK)
		r = swift_put_object(s->sw, "System", s->f->system_id, NULL, "", 0, md5,
				     "application/octet-stream", meta, ARRAY_SIZE(meta));
	if (r == SWIFT_OK)
		log_info("forward: system %s bound to the destination (System/%s)", s->f->system_id,
			 s->f->system_id);
	return r;
}

/* ---- one recording ----------------------------------------------------------- */

struct rec_job {
	char serial[40], rid[40];
	char *meta_json;
	json_t *meta;
	int attempts;
	char container[300];
	char user_uuid[80];
	char error[300];
};

static const char *jstr(json_t *o, const char *key)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v ? v : "";
}

static time_t jtime(json_t *o, const char *key)
{
	time_t t = 0;
	const char *v = json_string_value(json_object_get(o, key));

	if (v)
		util_time_parse_iso(v, &t);
	return t;
}


/* The user of a recording: the camera's user id if the system knows it (by
 * UUID or by user-supplied id), else the user assigned to the camera now. */
static int resolve_user(struct fwd *f, struct rec_job *j)
{
	sqlite3 *db = registry_db(reg_of(f));
	const char *uid = jstr(j->meta, "user_id");
	sqlite3_stmt *st = NULL;
	int rc;

	j->user_uuid[0] = 0;
	if (sqlite3_prepare_v2(db, "SELECT uuid FROM users WHERE uuid = ?1 OR user_id = ?1 UNION ALL "
			       "SELECT u.uuid FROM assignments a JOIN users u ON u.uuid = a.user_uuid "
			       "WHERE a.serial = ?2 LIMIT 1", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, uid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, j->serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		snprintf(j->user_uuid, sizeof(j->user_uuid), "%s", (const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	if (!j->user_uuid[0])
		snprintf(j->user_uuid, sizeof(j->user_uuid), "%s", uid[0] ? uid : "unassigned");
	return 0;
}

/* Metadata being assembled for one request. */
struct metab {
	struct swift_meta m[SWIFT_MAX_META];
	char keys[SWIFT_MAX_META][48];
	char vals[SWIFT_MAX_META][192];
	size_t n;
};

static void mb_add(struct metab *b, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void mb_add(struct metab *b, const char *key, const char *fmt, ...)
{
	va_list ap;

	if (b->n >= SWIFT_MAX_META)
		return;
	snprintf(b->keys[b->n], sizeof(b->keys[0]), "%s", key);
	va_start(ap, fmt);
	vsnprintf(b->vals[b->n], sizeof(b->vals[0]), fmt, ap);
	va_end(ap);
	b->m[b->n] = (struct swift_meta){ b->keys[b->n], b->vals[b->n] };
	b->n++;
}

static void mb_time(struct metab *b, const char *key, time_t t)
{
	char iso[32], k[48];

	util_time_iso(t, iso, sizeof(iso));
	mb_add(b, key, "%lld", (long long)t);
	snprintf(k, sizeof(k), "%sISO", key);
	mb_add(b, k, "%s", iso);
}

static void place_meta(struct metab *b, json_t *place, const char *prefix)
{
	json_t *loc = json_object_get(place, "location");
	time_t t = jtime(place, "time");
	char k[48];

	if (!json_is_object(place))
		return;
	mb_add(b, prefix, "%s", jstr(place, "reason"));
	snprintf(k, sizeof(k), "%sTime", prefix);
	mb_time(b, k, t);
	if (json_is_object(loc)) {
		snprintf(k, sizeof(k), "%sLocation", prefix);
		mb_add(b, k, "%.6f,%.6f,0,%lld", json_number_value(json_object_get(loc, "latitude")),
		       json_number_value(json_object_get(loc, "longitude")), (long long)t);
	}
}

/* Container metadata of a recording (the integration API's keys). */
static void container_meta(struct session *s, struct rec_job *j, const char *status,
			   struct metab *b)
{
	b->n = 0;
	mb_add(b, "ContainerName", "%s", j->container);
	mb_add(b, "BWCSerialNumber", "%s", j->serial);
	mb_add(b, "SCUSerialNumber", "%s", s->f->system_id);
	mb_add(b, "FirmwareVersion", "%s", jstr(j->meta, "firmware"));
	mb_add(b, "UserID", "%s", j->user_uuid);
	mb_add(b, "BWCModel", "%s", jstr(j->meta, "model"));
	mb_add(b, "TimeZone", "%s", jstr(j->meta, "timezone"));
	mb_time(b, "StartTime", jtime(j->meta, "start"));
	mb_time(b, "StopTime", jtime(j->meta, "stop"));
	place_meta(b, json_object_get(j->meta, "trigger_on"), "TriggerOn");
	place_meta(b, json_object_get(j->meta, "trigger_off"), "TriggerOff");
	if (status)
		mb_add(b, "Status", "%s", status);
}

/* Encrypts path into tmp for the destination; fills the key object JSON and
 * the SHA-256 of plaintext and ciphertext and the MD5 of the ciphertext. */
static int encrypt_file(struct session *s, const char *path, const char *tmp, char **ret_key_json,
			char plain_sha[65], char cipher_sha[65], char cipher_md5[33])
{
	uint8_t *in = malloc(BLOCK), *out = malloc(BLOCK + ENV_BLOCK), ps[32], cs[32], md[16];
	int fd = -1, ofd = -1, r;
	env_stream_t *es = NULL;
	struct env_key key;
	size_t olen;
	ssize_t n;
	wc_Md5 m;

	if (!in || !out) {
		r = -ENOMEM;
		goto out;
	}
	r = env_encrypt_init(s->d.pubkey_der, s->d.pubkey_len, s->d.pubkey_id, &es, &key);
	if (r < 0) {
		log_error("forward: cannot encrypt for the destination key: %s", env_strerror(r));
		r = -EINVAL;
		goto out;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ofd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ofd < 0) {
		r = -errno;
		goto out;
	}
	wc_InitMd5(&m);
	while ((n = read(fd, in, BLOCK)) > 0) {
		if ((r = env_update(es, in, (size_t)n, out, &olen)) < 0)
			goto out;
		wc_Md5Update(&m, out, (word32)olen);
		if (write(ofd, out, olen) != (ssize_t)olen) {
			r = -EIO;
			goto out;
		}
	}
	if (n < 0 || (r = env_final(es, out, &olen, ps, cs)) < 0) {
		r = n < 0 ? -errno : -EIO;
		goto out;
	}
	wc_Md5Update(&m, out, (word32)olen);
	wc_Md5Final(&m, md);
	if (write(ofd, out, olen) != (ssize_t)olen || fsync(ofd) < 0) {
		r = -EIO;
		goto out;
	}
	hex(ps, 32, plain_sha);
	hex(cs, 32, cipher_sha);
	hex(md, 16, cipher_md5);
	r = env_key_to_json(&key, ret_key_json) < 0 ? -ENOMEM : 0;
out:
	env_free(es);
	if (fd >= 0)
		close(fd);
	if (ofd >= 0)
		close(ofd);
	free(in);
	util_free_secret(out, BLOCK + ENV_BLOCK);
	return r;
}

/* <StartTime>_<RecordingID>.key next to the clip object. */
static int upload_key_object(struct session *s, const char *container, const char *object,
			     const char *ext, time_t start, const char *key_json)
{
	struct metab kb = { .n = 0 };
	char keyobj[160], md5[33];

	snprintf(keyobj, sizeof(keyobj), "%.*s.key", (int)(strlen(object) - strlen(ext) - 1), object);
	mb_time(&kb, "StartTime", start);
	mb_add(&kb, "FileType", "key");
	md5_mem(key_json, strlen(key_json), md5);
	return swift_put_object(s->sw, container, keyobj, NULL, key_json, strlen(key_json), md5,
				"application/json", kb.m, kb.n);
}

/* A clip the camera already encrypted for the destination: it goes as it is,
 * with the key object the camera made (the controller never had the plaintext). */
static int upload_camera_encrypted(struct session *s, const char *container, const char *object,
				   const char *ext, time_t start, json_t *clip, const char *path,
				   uint64_t size, const char *md5, const char *cipher_sha,
				   struct metab *b)
{
	json_t *enc = json_object_get(clip, "encryption");
	json_t *ko = json_object_get(enc, "key_object");
	char *key_json = json_dumps(ko, JSON_COMPACT);
	int r;

	if (!key_json)
		return SWIFT_E_LOCAL;
	/* Sha256 is the plaintext's (what the EMS gets after decryption). */
	for (size_t i = 0; i < b->n; i++)
		if (!strcmp(b->keys[i], "Sha256"))
			snprintf(b->vals[i], sizeof(b->vals[i]), "%s", jstr(enc, "plain_sha256"));
	mb_add(b, "CipherSha256", "%s", cipher_sha);
	mb_add(b, "PublicKeyId", "%s", jstr(ko, "PublicKeyId"));
	mb_add(b, "EncryptedBy", "camera");
	r = swift_put_object(s->sw, container, object, path, NULL, size, md5,
			     "application/octet-stream", b->m, b->n);
	if (r == SWIFT_OK)
		r = upload_key_object(s, container, object, ext, start, key_json);
	free(key_json);
	return r;
}

/* Uploads one committed clip (and its key object when encrypting). */
static int upload_clip(struct session *s, struct rec_job *j, const char *container,
		       json_t *clip, const char *path, const char *sha_registry)
{
	char object[128], md5[33], sha[65], csha[65], cmd5[33], tmp[PATH_MAX];
	const char *cid = jstr(clip, "clip_id"), *ext = jstr(clip, "container");
	char *key_json = NULL;
	time_t start = jtime(clip, "start");
	struct metab b = { .n = 0 };
	uint64_t size = 0;
	int r;

	r = hash_file(path, md5, sha, &size);
	if (r < 0) {
		snprintf(j->error, sizeof(j->error), "cannot read staged clip %s/%.4s: %s", j->rid, cid,
			 strerror(-r));
		return SWIFT_E_LOCAL;
	}
	if (strcmp(sha, sha_registry) != 0) {
		alarm_set(s->f, "staging-corrupt", "staged clip %s no longer has the SHA-256 it was "
			  "committed with: not forwarded", path);
		snprintf(j->error, sizeof(j->error), "staged clip %s/%.4s corrupt", j->rid, cid);
		return SWIFT_E_LOCAL;
	}
	if (forward_object_name(start, j->rid, ext, object, sizeof(object)) < 0)
		return SWIFT_E_LOCAL;
	mb_time(&b, "StartTime", start);
	mb_time(&b, "StopTime", jtime(clip, "stop"));
	mb_add(&b, "ContainerType", "%s", ext);
	mb_add(&b, "Sha256", "%s", sha);
	mb_add(&b, "Complete", "%s", json_is_true(json_object_get(clip, "complete")) ? "true" : "false");
	mb_add(&b, "ClipId", "%s", cid);
	mb_add(&b, "RecordingUuid", "%s", j->rid);
	if (json_is_object(json_object_get(clip, "encryption")))
		return upload_camera_encrypted(s, container, object, ext, start, clip, path, size,
					       md5, sha, &b);
	if (!s->d.want_encryption)
		return swift_put_object(s->sw, container, object, path, NULL, size, md5,
					ext[1] == 'p' ? "video/mp4" : "video/x-matroska", b.m, b.n);
	/* Encrypted for the destination: ciphertext object + key object. The
	 * plaintext never leaves the controller unencrypted. */
	if (snprintf(tmp, sizeof(tmp), "%s.enc", path) >= (int)sizeof(tmp))
		return SWIFT_E_LOCAL;
	r = encrypt_file(s, path, tmp, &key_json, sha, csha, cmd5);
	if (r < 0) {
		snprintf(j->error, sizeof(j->error), "encryption of %s/%.4s failed", j->rid, cid);
		unlink(tmp);
		return SWIFT_E_LOCAL;
	}
	mb_add(&b, "CipherSha256", "%s", csha);
	mb_add(&b, "PublicKeyId", "%s", s->d.pubkey_id);
	mb_add(&b, "EncryptedBy", "controller");
	{
		struct stat st;
		r = stat(tmp, &st) < 0 ? SWIFT_E_LOCAL
		    : swift_put_object(s->sw, container, object, tmp, NULL, (uint64_t)st.st_size, cmd5,
				       "application/octet-stream", b.m, b.n);
	}
	unlink(tmp);
	if (r == SWIFT_OK)
		r = upload_key_object(s, container, object, ext, start, key_json);
	free(key_json);
	return r;
}

/* GNSS trail in the integration API's CoordinateEntries format. */
static int upload_gnss(struct session *s, struct rec_job *j, const char *container)
{
	json_t *pts = json_object_get(j->meta, "gnss"), *p, *entries, *doc;
	time_t start = jtime(j->meta, "start");
	struct metab b = { .n = 0 };
	char object[200], t[32], md5[33], *text;
	struct tm tm;
	size_t i;
	int r;

	if (!s->caps.gnss || !json_is_array(pts) || json_array_size(pts) == 0)
		return SWIFT_OK;
	entries = json_array();
	json_array_foreach(pts, i, p) {
		char wkt[96];
		snprintf(wkt, sizeof(wkt), "POINT(%.6f %.6f)",
			 json_number_value(json_object_get(p, "longitude")),
			 json_number_value(json_object_get(p, "latitude")));
		json_array_append_new(entries, json_pack("{sssfss}", "LocationWKT", wkt,
			"SecondsFromStart", (double)(jtime(p, "time") - start), "Timestamp", jstr(p, "time")));
	}
	doc = json_pack("{so}", "CoordinateEntries", entries);
	text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	json_decref(doc);
	if (!text)
		return SWIFT_E_LOCAL;
	gmtime_r(&start, &tm);
	strftime(t, sizeof(t), "%Y%m%d_%H%M%S", &tm);
	snprintf(object, sizeof(object), "%s_%.8s_%s_gpstrail.json", t, j->rid, j->serial);
	mb_add(&b, "FileType", "json");
	md5_mem(text, strlen(text), md5);
	r = swift_put_object(s->sw, container, object, NULL, text, strlen(text), md5,
			     "application/json", b.m, b.n);
	free(text);
	return r;
}

/* The certificate of the key that signed the video (signed-video/FORMAT.md),
 * as PEM beside the clips, for a destination that declares StoreSignedVideo
 * (it can show and export signed video untouched): it verifies the clips
 * against the manufacturer root with it (bwc-verify CLIP --cert OBJECT --trust
 * ROOT). The clips themselves always go as the camera signed them: the
 * signatures are SEIs that players ignore, and nothing is re-muxed. */
static int upload_signing_cert(struct session *s, struct rec_job *j, const char *container)
{
	const char *b64 = jstr(j->meta, "signing_cert");
	time_t start = jtime(j->meta, "start");
	struct metab b = { .n = 0 };
	uint8_t der[DOCK_MAX_DER];
	char object[200], t[32], md5[33], pem[8192];
	size_t der_len = 0, pem_len = 0;
	struct tm tm;

	if (!s->caps.signed_video || !b64 || !b64[0])
		return SWIFT_OK;
	if (env_b64_decode(b64, strlen(b64), der, sizeof(der), &der_len) < 0 ||
	    certs_der_to_pem(der, der_len, "CERTIFICATE", pem, sizeof(pem), &pem_len) < 0) {
		snprintf(j->error, sizeof(j->error), "the recording's signing certificate is malformed");
		return SWIFT_E_LOCAL;
	}
	gmtime_r(&start, &tm);
	strftime(t, sizeof(t), "%Y%m%d_%H%M%S", &tm);
	snprintf(object, sizeof(object), "%s_%.8s_%s_video-signing.pem", t, j->rid, j->serial);
	mb_add(&b, "FileType", "pem");
	md5_mem(pem, pem_len, md5);
	return swift_put_object(s->sw, container, object, NULL, pem, pem_len, md5,
				"application/x-pem-file", b.m, b.n);
}

static int upload_bookmarks(struct session *s, struct rec_job *j, const char *container)
{
	json_t *bms = json_object_get(j->meta, "bookmarks"), *bm;
	size_t i;
	int r = SWIFT_OK;

	if (!s->caps.bookmarks || !json_is_array(bms))
		return SWIFT_OK;
	json_array_foreach(bms, i, bm) {
		struct metab b = { .n = 0 };
		const char *label = jstr(bm, "label");
		char object[128], md5[33];
		time_t t = jtime(bm, "time");

		snprintf(object, sizeof(object), "bookmark_%lld_%zu", (long long)t, i + 1);
		mb_add(&b, "StartTime", "%s", jstr(bm, "time"));
		mb_add(&b, "Tags", "Source:camera");
		md5_mem(label, strlen(label), md5);
		r = swift_put_object(s->sw, container, object, NULL, label, strlen(label), md5,
				     "text/plain; charset=utf-8", b.m, b.n);
		if (r != SWIFT_OK)
			break;
	}
	return r;
}

/* Staged file of a clip as committed (registry clips.path, clips.sha256). */
static int clip_staged(struct fwd *f, struct rec_job *j, const char *cid, char *path, size_t cap,
		       char sha[65])
{
	struct clip_rec *c = malloc(sizeof(*c));
	int r = c ? registry_clip_get(reg_of(f), j->serial, j->rid, cid, c) : -ENOMEM;

	if (r == 0 && (!c->committed || !c->path[0]))
		r = -EAGAIN;
	if (r == 0) {
		snprintf(path, cap, "%s", c->path);
		memcpy(sha, c->sha256_hex, 65);
	}
	free(c);
	return r;
}

static int upload_to(struct session *s, struct rec_job *j, const char *container, int rejected,
		     const char *reason)
{
	json_t *clips = json_object_get(j->meta, "clips"), *clip;
	struct metab b;
	size_t i;
	int r;

	container_meta(s, j, rejected ? NULL : "Transferring", &b);
	if (rejected) {
		char when[32];
		util_time_iso(time(NULL), when, sizeof(when));
		mb_add(&b, "RejectedContentOriginalContainer", "%s", j->container);
		mb_add(&b, "RejectedContentTime", "%s", when);
		mb_add(&b, "RejectedContentReason", "%s", reason);
	}
	r = swift_put_container(s->sw, container, b.m, b.n);
	json_array_foreach(clips, i, clip) {
		char path[PATH_MAX], sha[65];
		if (r != SWIFT_OK)
			break;
		if (clip_staged(s->f, j, jstr(clip, "clip_id"), path, sizeof(path), sha) < 0) {
			snprintf(j->error, sizeof(j->error), "clip %s not committed", jstr(clip, "clip_id"));
			return SWIFT_E_LOCAL;
		}
		r = upload_clip(s, j, container, clip, path, sha);
	}
	if (r == SWIFT_OK)
		r = upload_gnss(s, j, container);
	if (r == SWIFT_OK)
		r = upload_bookmarks(s, j, container);
	if (r == SWIFT_OK)
		r = upload_signing_cert(s, j, container);
	if (r == SWIFT_OK && !rejected) {
		/* Last: only now does the destination consider the recording whole. */
		struct metab done = { .n = 0 };
		mb_add(&done, "Status", "Complete");
		r = swift_post_container(s->sw, container, done.m, done.n);
	}
	return r;
}

/* Deletes the recording's staged files (ready queue). */
static int delete_staged(struct fwd *f, struct rec_job *j, unsigned *ret_files)
{
	char dir[PATH_MAX];
	struct dirent *e;
	DIR *d;
	int r = 0;

	*ret_files = 0;
	if (snprintf(dir, sizeof(dir), "%s/ready/%s/%s", f->cfg.staging_dir, j->serial, j->rid) >=
	    (int)sizeof(dir))
		return -ENAMETOOLONG;
	d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (unlinkat(dirfd(d), e->d_name, 0) < 0)
			r = -errno;
		else
			(*ret_files)++;
	}
	closedir(d);
	if (r == 0 && rmdir(dir) < 0 && errno != ENOENT)
		r = -errno;
	util_fsync_parent(dir);
	return r;
}

/* Staged files of recordings already Complete at the destination (a crash
 * came between the registry update and the deletion): delete them now. */
static void sweep_forwarded(struct fwd *f)
{
	sqlite3_stmt *st = NULL;
	struct rec_job j;

	if (sqlite3_prepare_v2(registry_db(reg_of(f)), "SELECT serial, rid FROM recordings WHERE "
			       "forward_state = 'complete'", -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		unsigned files = 0;
		memset(&j, 0, sizeof(j));
		snprintf(j.serial, sizeof(j.serial), "%s", (const char *)sqlite3_column_text(st, 0));
		snprintf(j.rid, sizeof(j.rid), "%s", (const char *)sqlite3_column_text(st, 1));
		if (delete_staged(f, &j, &files) == 0 && files > 0) {
			audit(f, "delete", j.serial, "recording %s: %u staged file(s) of a forwarded "
			      "recording deleted after a restart", j.rid, files);
			log_info("forward: %s/%s was already Complete: %u staged file(s) deleted",
				 j.serial, j.rid, files);
		}
	}
	sqlite3_finalize(st);
}

static const char *result_state(int r)
{
	return r == SWIFT_OK ? "complete" : r == SWIFT_E_REJECTED ? "not-transferred" : "waiting";
}

/* Seconds until the next try: exponential with jitter; slow for a full destination. */
static long backoff(struct fwd *f, int r, int attempts)
{
	long base = f->cfg.forward_retry_s > 0 ? f->cfg.forward_retry_s : 5;
	long wait = base << (attempts < 8 ? attempts : 8);
	uint32_t jitter = 0;
	WC_RNG rng;

	if (r == SWIFT_E_FULL || r == SWIFT_E_AUTH)
		return f->cfg.forward_slow_retry_s > 0 ? f->cfg.forward_slow_retry_s : 300;
	if (wait > 300)
		wait = 300;
	if (wc_InitRng(&rng) == 0) {
		wc_RNG_GenerateBlock(&rng, (byte *)&jitter, sizeof(jitter));
		wc_FreeRng(&rng);
	}
	return wait / 2 + (long)(jitter % (uint32_t)(wait / 2 + 1));
}

static void forward_recording(struct session *s, struct rec_job *j)
{
	struct fwd *f = s->f;
	int r = SWIFT_OK;
	unsigned files = 0;

	j->error[0] = 0;
	resolve_user(f, j);
	if (forward_container_name(j->user_uuid, j->serial,
				   jtime(json_object_get(j->meta, "trigger_on"), "time"),
				   j->container, sizeof(j->container)) < 0)
		r = SWIFT_E_LOCAL;
	if (r == SWIFT_OK)
		r = upload_to(s, j, j->container, 0, NULL);
	if (r == SWIFT_E_REJECTED && s->caps.rejected) {
		char rc[300], uuid[33], when[32];
		uint8_t rnd[16];
		WC_RNG rng;
		struct tm tm;
		time_t now = time(NULL);

		if (wc_InitRng(&rng) == 0) {
			wc_RNG_GenerateBlock(&rng, rnd, sizeof(rnd));
			wc_FreeRng(&rng);
		}
		hex(rnd, sizeof(rnd), uuid);
		gmtime_r(&now, &tm);
		strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm);
		snprintf(rc, sizeof(rc), "RejectedContent_%s_%s", when, uuid);
		log_warn("forward: %s rejected %s (%s): storing it as rejected content in %s",
			 "destination", j->container, swift_last_error(s->sw), rc);
		r = upload_to(s, j, rc, 1, swift_last_error(s->sw));
		if (r == SWIFT_OK)
			snprintf(j->container, sizeof(j->container), "%s", rc);
	}
	if (r != SWIFT_OK && !j->error[0])
		snprintf(j->error, sizeof(j->error), "%s (%s)", swift_strerror(r), swift_last_error(s->sw));
	if (r == SWIFT_OK) {
		int d;
		/* Recorded as complete before the staged copy goes: a crash in between
		 * leaves files that the next start deletes (sweep_forwarded), never a
		 * queued recording without its files. */
		registry_exec(reg_of(f), "UPDATE recordings SET forward_state = 'complete', container = ?, "
			      "forwarded_at = ?, last_error = NULL WHERE serial = ? AND rid = ?", "siss",
			      j->container, (int64_t)time(NULL), j->serial, j->rid);
		audit(f, "forward", j->serial, "recording %s is Complete at the destination as %s",
		      j->rid, j->container);
		d = delete_staged(f, j, &files);
		audit(f, "delete", j->serial, "recording %s: %u staged file(s) deleted from staging%s",
		      j->rid, files, d < 0 ? " (some could not be removed)" : "");
		log_info("forward: %s/%s -> %s: Complete; staging emptied (%u files)", j->serial,
			 j->rid, j->container, files);
		alarm_clear(f, "destination-full");
		alarm_clear(f, "destination-unreachable");
		return;
	}
	log_warn("forward: %s/%s not forwarded (attempt %d): %s", j->serial, j->rid,
		 j->attempts + 1, j->error);
	if (r == SWIFT_E_FULL)
		alarm_set(f, "destination-full", "the destination is out of storage or licences "
			  "(HTTP %ld): recordings are kept and retried", swift_last_http(s->sw));
	else if (r == SWIFT_E_NETWORK || r == SWIFT_E_BUSY)
		alarm_set(f, "destination-unreachable", "forwarding fails: %s; recordings are kept "
			  "and retried", j->error);
	if (r == SWIFT_E_REJECTED) {
		alarm_set(f, "recording-rejected", "recording %s of %s was rejected by the destination "
			  "and stays in staging, shown as not transferred", j->rid, j->serial);
		audit(f, "forward-rejected", j->serial, "recording %s rejected by the destination: %s",
		      j->rid, j->error);
	}
	registry_exec(reg_of(f), "UPDATE recordings SET forward_state = ?, attempts = attempts + 1, "
		      "next_try = ?, last_error = ? WHERE serial = ? AND rid = ?", "sisss",
		      result_state(r), (int64_t)(time(NULL) + backoff(f, r, j->attempts)), j->error,
		      j->serial, j->rid);
}

/* ---- queue ------------------------------------------------------------------- */

/* Takes the next recording that is closed, fully committed and due. */
static int claim(struct fwd *f, struct rec_job *j)
{
	sqlite3 *db = registry_db(reg_of(f));
	sqlite3_stmt *st = NULL;
	int rc, found = 0;

	memset(j, 0, sizeof(*j));
	/* The workers share one connection: one claim at a time. */
	pthread_mutex_lock(&f->claim_lock);
	if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		pthread_mutex_unlock(&f->claim_lock);
		return 0;
	}
	if (sqlite3_prepare_v2(db,
		"SELECT r.serial, r.rid, r.meta, r.attempts FROM recordings r "
		"WHERE r.forward_state = 'waiting' AND r.closed = 1 AND r.next_try <= ? "
		"AND EXISTS (SELECT 1 FROM clips c WHERE c.serial = r.serial AND c.rid = r.rid) "
		"AND NOT EXISTS (SELECT 1 FROM clips c WHERE c.serial = r.serial AND c.rid = r.rid "
		"AND c.state != 'committed') ORDER BY r.received LIMIT 1", -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, time(NULL));
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			snprintf(j->serial, sizeof(j->serial), "%s", (const char *)sqlite3_column_text(st, 0));
			snprintf(j->rid, sizeof(j->rid), "%s", (const char *)sqlite3_column_text(st, 1));
			j->meta_json = strdup((const char *)sqlite3_column_text(st, 2));
			j->attempts = sqlite3_column_int(st, 3);
			found = j->meta_json != NULL;
		}
		sqlite3_finalize(st);
	}
	if (found)
		found = registry_exec(reg_of(f), "UPDATE recordings SET forward_state = 'forwarding' "
				      "WHERE serial = ? AND rid = ?", "ss", j->serial, j->rid) == 0;
	sqlite3_exec(db, found ? "COMMIT" : "ROLLBACK", NULL, NULL, NULL);
	pthread_mutex_unlock(&f->claim_lock);
	if (found && !(j->meta = json_loads(j->meta_json, 0, NULL))) {
		registry_exec(reg_of(f), "UPDATE recordings SET forward_state = 'not-transferred', "
			      "last_error = 'stored metadata unreadable' WHERE serial = ? AND rid = ?",
			      "ss", j->serial, j->rid);
		found = 0;
	}
	if (!found)
		free(j->meta_json);
	return found;
}

static void job_free(struct rec_job *j)
{
	json_decref(j->meta);
	free(j->meta_json);
}

/* Users/ and Devices/ objects the administrator changed with bwcctl. */
static void sync_directory(struct session *s)
{
	sqlite3 *db = registry_db(reg_of(s->f));
	sqlite3_stmt *st = NULL;
	char md5[33];

	md5_mem("", 0, md5);
	if (sqlite3_prepare_v2(db, "SELECT uuid, user_id, name, active FROM users WHERE synced = 0",
			       -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct metab b = { .n = 0 };
			const char *uuid = (const char *)sqlite3_column_text(st, 0);
			mb_add(&b, "Active", "%s", sqlite3_column_int(st, 3) ? "True" : "False");
			mb_add(&b, "Name", "%s", (const char *)sqlite3_column_text(st, 2));
			if (s->caps.user_id_key)
				mb_add(&b, "UserID", "%s", (const char *)sqlite3_column_text(st, 1));
			if (swift_put_container(s->sw, "Users", NULL, 0) == SWIFT_OK &&
			    swift_put_object(s->sw, "Users", uuid, NULL, "", 0, md5,
					     "application/octet-stream", b.m, b.n) == SWIFT_OK)
				registry_exec(reg_of(s->f), "UPDATE users SET synced = 1 WHERE uuid = ?", "s", uuid);
		}
		sqlite3_finalize(st);
	}
	if (sqlite3_prepare_v2(db, "SELECT a.serial, a.name, a.active, c.model FROM assignments a "
			       "LEFT JOIN cameras c ON c.serial = a.serial WHERE a.synced = 0", -1, &st,
			       NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			struct metab b = { .n = 0 };
			const char *serial = (const char *)sqlite3_column_text(st, 0);
			const unsigned char *model = sqlite3_column_text(st, 3);
			mb_add(&b, "Active", "%s", sqlite3_column_int(st, 2) ? "True" : "False");
			mb_add(&b, "Name", "%s", (const char *)sqlite3_column_text(st, 1));
			mb_add(&b, "Model", "%s", model ? (const char *)model : "");
			if (swift_put_container(s->sw, "Devices", NULL, 0) == SWIFT_OK &&
			    swift_put_object(s->sw, "Devices", serial, NULL, "", 0, md5,
					     "application/octet-stream", b.m, b.n) == SWIFT_OK)
				registry_exec(reg_of(s->f), "UPDATE assignments SET synced = 1 WHERE serial = ?",
					      "s", serial);
		}
		sqlite3_finalize(st);
	}
}

static void wait_for_work(struct fwd *f, unsigned long seen, int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&f->lock);
	while (!f->stopping && f->generation == seen)
		if (pthread_cond_timedwait(&f->cond, &f->lock, &ts) != 0)
			break;
	pthread_mutex_unlock(&f->lock);
}

static void *worker(void *arg)
{
	struct fwd *f = arg;
	struct session *sp = calloc(1, sizeof(*sp));   /* holds a destination: too big for a stack */
	int have_session = 0;
	time_t session_at = 0;

	char path[PATH_MAX];

	if (!sp)
		return NULL;
	if (config_path(&f->cfg, "registry.db", path, sizeof(path)) < 0 ||
	    registry_open(path, &thread_reg) < 0) {
		log_error("forward: a worker cannot open the registry %s: %s", path,
			  registry_open_error());
		free(sp);
		return NULL;
	}
	while (!f->stopping) {
		unsigned long seen;
		struct rec_job j;
		int r;

		pthread_mutex_lock(&f->lock);
		seen = f->generation;
		pthread_mutex_unlock(&f->lock);
		/* A fresh session (auth, capabilities, system binding) every 10 minutes
		 * and after any destination change. */
		if (have_session && (time(NULL) - session_at > 600 || f->dest_version != sp->version)) {
			session_close(sp);
			have_session = 0;
		}
		if (!have_session) {
			if (session_open(f, sp) < 0) {
				wait_for_work(f, seen, 2000);
				continue;
			}
			have_session = 1;
			session_at = time(NULL);
			if (swift_auth(sp->sw) != SWIFT_OK) {
				alarm_set(f, "destination-unreachable", "cannot authenticate at the "
					  "destination: %s", swift_last_error(sp->sw));
				session_close(sp);
				have_session = 0;
				wait_for_work(f, seen, 5000);
				continue;
			}
			read_caps(sp);
			pthread_mutex_lock(&f->session_lock);
			r = check_system_id(sp);
			if (r == 0)
				sync_directory(sp);
			pthread_mutex_unlock(&f->session_lock);
			if (r != 0) {
				session_close(sp);
				have_session = 0;
				wait_for_work(f, seen, 10000);
				continue;
			}
		}
		pthread_mutex_lock(&f->session_lock);
		sync_directory(sp);   /* users and devices the administrator changed */
		pthread_mutex_unlock(&f->session_lock);
		if (claim(f, &j) <= 0) {
			wait_for_work(f, seen, 2000);
			continue;
		}
		forward_recording(sp, &j);
		job_free(&j);
	}
	if (have_session)
		session_close(sp);
	free(sp);
	registry_close(thread_reg);
	thread_reg = NULL;
	return NULL;
}

/* ---- the process -------------------------------------------------------------- */

static void high_water(struct fwd *f)
{
	struct statvfs sv;
	int pct;

	if (statvfs(f->cfg.staging_dir, &sv) < 0 || sv.f_blocks == 0)
		return;
	pct = (int)(100 - (uint64_t)sv.f_bavail * 100 / sv.f_blocks);
	if (pct >= f->cfg.staging_high_water_pct)
		alarm_set(f, "staging-high-water", "staging area %s is %d%% full (alarm at %d%%): "
			  "is the destination reachable?", f->cfg.staging_dir, pct,
			  f->cfg.staging_high_water_pct);
	else
		alarm_clear(f, "staging-high-water");
}

static void on_term(int sig)
{
	if (the_fwd)
		the_fwd->stopping = 1;
}

static void forward_main(struct fwd *f)
{
	pthread_t th[MAX_WORKERS];
	int n = f->cfg.forward_workers > 0 && f->cfg.forward_workers <= MAX_WORKERS
			? f->cfg.forward_workers : 2;
	struct sigaction sa = { .sa_handler = on_term };
	char path[PATH_MAX];
	int started = 0, r;
	unsigned long ticks = 0;

	the_fwd = f;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	prctl(PR_SET_NAME, "bwc-forward");
	prctl(PR_SET_DUMPABLE, 0);
	/* It needs no capability: only its files and outgoing HTTPS. */
	if (privdrop_capabilities() < 0)
		log_warn("forward: cannot drop capabilities");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (config_path(&f->cfg, "registry.db", path, sizeof(path)) < 0 ||
	    registry_open(path, &f->reg) < 0) {
		log_error("forward: cannot open the registry %s: %s", path, registry_open_error());
		return;
	}
	r = ks_open(f->cfg.keystore, &f->ks);
	if (r != KS_OK) {
		log_error("forward: cannot open the keystore %s: %s %s", f->cfg.keystore,
			  ks_strerror(r), ks_last_detail());
		return;
	}
	sweep_forwarded(f);
	/* A recording being uploaded when the process died goes round again. */
	registry_exec(reg_of(f), "UPDATE recordings SET forward_state = 'waiting' "
		      "WHERE forward_state = 'forwarding'", "");
	pthread_mutex_init(&f->lock, NULL);
	pthread_mutex_init(&f->claim_lock, NULL);
	pthread_mutex_init(&f->session_lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	if (dest_refresh(f) < 0)
		log_info("forward: no destination configured yet (bwcctl destination import FILE); "
			 "recordings stay staged");
	for (int i = 0; i < n; i++)
		if (pthread_create(&th[started], NULL, worker, f) == 0)
			started++;
	while (!f->stopping) {
		struct pollfd p = { .fd = f->wake_fd, .events = POLLIN };
		char buf[64];

		r = poll(&p, 1, 1000);
		if (r > 0 && read(f->wake_fd, buf, sizeof(buf)) == 0)
			break;   /* parent gone */
		if (++ticks % 10 == 0) {
			dest_refresh(f);
			high_water(f);
		}
		pthread_mutex_lock(&f->lock);
		f->generation++;
		pthread_cond_broadcast(&f->cond);
		pthread_mutex_unlock(&f->lock);
	}
	f->stopping = 1;
	pthread_mutex_lock(&f->lock);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (f->dest)
		util_free_secret(f->dest, sizeof(*f->dest));
	free(f->ca_pem);
	free(f->dest_form);
	registry_close(f->reg);
	ks_close(f->ks);
	curl_global_cleanup();
}

int forward_start(const struct ctl_config *cfg, const char *system_id, const char *system_name,
		  const char *audit_path, struct forward_proc *ret)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		static struct fwd f;
		close(p[1]);
		log_init("bwc-forward", LOG_LVL_INFO);
		f.cfg = *cfg;
		snprintf(f.system_id, sizeof(f.system_id), "%s", system_id);
		snprintf(f.system_name, sizeof(f.system_name), "%s", system_name);
		snprintf(f.audit_path, sizeof(f.audit_path), "%s", audit_path);
		f.wake_fd = p[0];
		forward_main(&f);
		_exit(0);
	}
	close(p[0]);
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	ret->pid = pid;
	ret->wake_fd = p[1];
	return 0;
}

void forward_wake(struct forward_proc *f)
{
	if (f && f->wake_fd >= 0 && write(f->wake_fd, "w", 1) < 0) {
		/* full pipe: the forwarder has wake-ups pending anyway */
	}
}

void forward_stop(struct forward_proc *f)
{
	if (!f || f->pid <= 0)
		return;
	close(f->wake_fd);
	f->wake_fd = -1;
	kill(f->pid, SIGTERM);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}
