/* registry.c - the controller's camera registry and small system facts in
 * SQLite (WAL mode: the daemon and bwcctl read and write it concurrently). */
#include "controller/controller.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct registry {
	sqlite3 *db;
};

static const char *const state_names[] = {
	[CAM_PENDING] = "pending", [CAM_ADMITTED] = "admitted", [CAM_ACTIVE] = "active",
	[CAM_HELD] = "held", [CAM_ACCEPTED] = "accepted", [CAM_LOST] = "lost",
};

const char *cam_state_name(enum cam_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

int cam_state_parse(const char *s, enum cam_state *ret)
{
	for (size_t i = 0; i < sizeof(state_names) / sizeof(state_names[0]); i++) {
		if (s && strcmp(s, state_names[i]) == 0) {
			*ret = (enum cam_state)i;
			return 0;
		}
	}
	return -EINVAL;
}

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS cameras ("
	" serial TEXT PRIMARY KEY NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('pending','admitted','active','held','accepted','lost')),"
	" model TEXT NOT NULL DEFAULT '', firmware TEXT NOT NULL DEFAULT '',"
	" not_after INTEGER NOT NULL DEFAULT 0, cert_serial TEXT NOT NULL DEFAULT '',"
	" last_dock INTEGER NOT NULL DEFAULT 0, created INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);"
	"CREATE TABLE IF NOT EXISTS recordings ("
	" serial TEXT NOT NULL, rid TEXT NOT NULL, meta TEXT NOT NULL,"
	" total_bytes INTEGER NOT NULL, received INTEGER NOT NULL,"
	" closed INTEGER NOT NULL DEFAULT 0,"
	" forward_state TEXT NOT NULL DEFAULT 'waiting' CHECK (forward_state IN"
	"  ('waiting','forwarding','complete','not-transferred')),"
	" container TEXT, attempts INTEGER NOT NULL DEFAULT 0, next_try INTEGER NOT NULL DEFAULT 0,"
	" last_error TEXT, forwarded_at INTEGER,"
	" PRIMARY KEY (serial, rid));"
	"CREATE TABLE IF NOT EXISTS users ("
	" uuid TEXT PRIMARY KEY NOT NULL, user_id TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
	" active INTEGER NOT NULL DEFAULT 1, synced INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS assignments ("
	" serial TEXT PRIMARY KEY NOT NULL, user_uuid TEXT, name TEXT NOT NULL DEFAULT '',"
	" active INTEGER NOT NULL DEFAULT 1, synced INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS alarms ("
	" name TEXT PRIMARY KEY NOT NULL, text TEXT NOT NULL, since INTEGER NOT NULL);"
	"CREATE TABLE IF NOT EXISTS clips ("
	" serial TEXT NOT NULL, rid TEXT NOT NULL, cid TEXT NOT NULL, container TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state IN ('partial','committed')),"
	" offset INTEGER NOT NULL, size INTEGER NOT NULL DEFAULT 0, sha256 TEXT NOT NULL DEFAULT '',"
	" complete INTEGER NOT NULL DEFAULT 1, receipt TEXT, path TEXT, committed_at INTEGER,"
	" PRIMARY KEY (serial, rid, cid));"
	"CREATE TABLE IF NOT EXISTS progress ("
	" serial TEXT PRIMARY KEY NOT NULL, bytes_total INTEGER NOT NULL, bytes_done INTEGER NOT NULL,"
	" started INTEGER NOT NULL, updated INTEGER NOT NULL);";

/* Columns added after the first schema: a registry made by an older controller
 * gets them (with their defaults) when it is opened. */
static const struct {
	const char *table, *column, *decl;
} added_columns[] = {
	{ "recordings", "closed", "INTEGER NOT NULL DEFAULT 0" },
	{ "recordings", "forward_state", "TEXT NOT NULL DEFAULT 'waiting' CHECK (forward_state IN "
					 "('waiting','forwarding','complete','not-transferred'))" },
	{ "recordings", "container", "TEXT" },
	{ "recordings", "attempts", "INTEGER NOT NULL DEFAULT 0" },
	{ "recordings", "next_try", "INTEGER NOT NULL DEFAULT 0" },
	{ "recordings", "last_error", "TEXT" },
	{ "recordings", "forwarded_at", "INTEGER" },
};

static int has_column(sqlite3 *db, const char *table, const char *column)
{
	char sql[128];
	sqlite3_stmt *st = NULL;
	int found = 0;

	snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW)
		found |= strcmp((const char *)sqlite3_column_text(st, 1), column) == 0;
	sqlite3_finalize(st);
	return found;
}

static int upgrade(sqlite3 *db)
{
	for (size_t i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]); i++) {
		char sql[512];
		int h = has_column(db, added_columns[i].table, added_columns[i].column);
		if (h < 0)
			return SQLITE_ERROR;
		if (h)
			continue;
		snprintf(sql, sizeof(sql), "ALTER TABLE %s ADD COLUMN %s %s", added_columns[i].table,
			 added_columns[i].column, added_columns[i].decl);
		if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
			return SQLITE_ERROR;
	}
	return SQLITE_OK;
}

static __thread char open_error[320];

const char *registry_open_error(void)
{
	return open_error;
}

int registry_open(const char *path, registry_t **ret)
{
	registry_t *r = calloc(1, sizeof(*r));
	int rc;

	open_error[0] = '\0';
	if (!r) {
		snprintf(open_error, sizeof(open_error), "out of memory");
		return -ENOMEM;
	}
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(r->db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(r->db, schema, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = upgrade(r->db);
	if (rc != SQLITE_OK) {
		/* NOTADB/CORRUPT: the file is damaged; anything else is access. */
		int ec = r->db ? sqlite3_extended_errcode(r->db) & 0xff : rc;
		snprintf(open_error, sizeof(open_error), "%s (%s)",
			 r->db ? sqlite3_errmsg(r->db) : sqlite3_errstr(rc),
			 ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT
				 ? "the file is damaged: restore registry.db from a backup; "
				   "nothing was changed"
				 : "check that its directory exists and is writable, and that "
				   "the disk is not full");
		registry_close(r);
		return -EIO;
	}
	*ret = r;
	return 0;
}

void registry_close(registry_t *r)
{
	if (!r)
		return;
	sqlite3_close(r->db);
	free(r);
}

const char *registry_errmsg(registry_t *r)
{
	return r ? sqlite3_errmsg(r->db) : "no registry";
}

static void copy_text(sqlite3_stmt *st, int col, char *out, size_t cap)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	snprintf(out, cap, "%s", t ? (const char *)t : "");
}

static int row_to_rec(sqlite3_stmt *st, struct camera_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	copy_text(st, 0, rec->serial, sizeof(rec->serial));
	if (cam_state_parse((const char *)sqlite3_column_text(st, 1), &rec->state) < 0)
		return -EIO;
	copy_text(st, 2, rec->model, sizeof(rec->model));
	copy_text(st, 3, rec->firmware, sizeof(rec->firmware));
	rec->not_after = sqlite3_column_int64(st, 4);
	copy_text(st, 5, rec->cert_serial, sizeof(rec->cert_serial));
	rec->last_dock = sqlite3_column_int64(st, 6);
	rec->created = sqlite3_column_int64(st, 7);
	return 0;
}

#define COLS "serial, state, model, firmware, not_after, cert_serial, last_dock, created"

int registry_get(registry_t *r, const char *serial, struct camera_rec *ret)
{
	sqlite3_stmt *st = NULL;
	int rc, out;

	if (!r || !serial || !ret)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "SELECT " COLS " FROM cameras WHERE serial = ?", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		out = row_to_rec(st, ret);
	else
		out = rc == SQLITE_DONE ? -ENOENT : -EIO;
	sqlite3_finalize(st);
	return out;
}

int registry_put(registry_t *r, const struct camera_rec *rec)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !rec)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO cameras (" COLS ") VALUES "
			       "(?, ?, ?, ?, ?, ?, ?, ?)", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, rec->serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, cam_state_name(rec->state), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, rec->model, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, rec->firmware, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, rec->not_after);
	sqlite3_bind_text(st, 6, rec->cert_serial, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, rec->last_dock);
	sqlite3_bind_int64(st, 8, rec->created);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int registry_foreach(registry_t *r, int (*fn)(const struct camera_rec *, void *), void *ud)
{
	sqlite3_stmt *st = NULL;
	struct camera_rec rec;
	int rc, out = 0;

	if (!r || !fn)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "SELECT " COLS " FROM cameras ORDER BY serial", -1, &st,
			       NULL) != SQLITE_OK)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		out = row_to_rec(st, &rec);
		if (out == 0)
			out = fn(&rec, ud);
		if (out < 0)
			break;
	}
	if (out == 0 && rc != SQLITE_DONE)
		out = -EIO;
	sqlite3_finalize(st);
	return out;
}

int registry_meta_get(registry_t *r, const char *key, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc, ret;

	if (!r || !key || !out || cap == 0)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "SELECT value FROM meta WHERE key = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(st, 0);
		ret = t && strlen((const char *)t) < cap ? 0 : -ENOSPC;
		if (ret == 0)
			strcpy(out, (const char *)t);
	} else {
		ret = rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	sqlite3_finalize(st);
	return ret;
}

int registry_meta_set(registry_t *r, const char *key, const char *value)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !key || !value)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
			       -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

enum dock_standing registry_standing(const struct camera_rec *rec, time_t now, long grace)
{
	switch (rec->state) {
	case CAM_PENDING:
		return DOCK_S_PENDING;
	case CAM_ADMITTED:
		return DOCK_S_ENROLLED;
	case CAM_LOST:
		return DOCK_S_LOST;
	case CAM_HELD:
		return DOCK_S_HELD;
	case CAM_ACCEPTED:
		return DOCK_S_ENROLLED;
	case CAM_ACTIVE:
		break;
	}
	return policy_time_standing(now, rec->not_after, grace);
}

/* ---- offload: recordings, clips, progress ---- */

int registry_exec(registry_t *r, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *st = NULL;
	va_list ap;
	int rc, i = 1;

	if (sqlite3_prepare_v2(r->db, sql, -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++, i++) {
		if (*f == 's')
			sqlite3_bind_text(st, i, va_arg(ap, const char *), -1, SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
	}
	va_end(ap);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int registry_recording_put(registry_t *r, const char *serial, const char *rid, const char *meta,
			   uint64_t total_bytes, int closed, time_t now)
{
	if (!r || !serial || !rid || !meta)
		return -EINVAL;
	return registry_exec(r, "INSERT INTO recordings (serial, rid, meta, total_bytes, received, closed) "
			 "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (serial, rid) DO UPDATE SET "
			 "meta = excluded.meta, total_bytes = excluded.total_bytes, "
			 "closed = excluded.closed WHERE forward_state = 'waiting'",
			 "sssiii", serial, rid, meta, (int64_t)total_bytes, (int64_t)now, (int64_t)closed);
}

int registry_recording_exists(registry_t *r, const char *serial, const char *rid)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !serial || !rid)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "SELECT 1 FROM recordings WHERE serial = ? AND rid = ?", -1,
			       &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

#define CLIP_COLS "serial, rid, cid, container, state, offset, size, sha256, complete, " \
		  "receipt, path"

static void row_to_clip(sqlite3_stmt *st, struct clip_rec *c)
{
	memset(c, 0, sizeof(*c));
	copy_text(st, 0, c->serial, sizeof(c->serial));
	copy_text(st, 1, c->rid, sizeof(c->rid));
	copy_text(st, 2, c->cid, sizeof(c->cid));
	copy_text(st, 3, c->container, sizeof(c->container));
	c->committed = !strcmp((const char *)sqlite3_column_text(st, 4), "committed");
	c->offset = (uint64_t)sqlite3_column_int64(st, 5);
	c->size = (uint64_t)sqlite3_column_int64(st, 6);
	copy_text(st, 7, c->sha256_hex, sizeof(c->sha256_hex));
	c->complete = sqlite3_column_int(st, 8);
	copy_text(st, 9, c->receipt, sizeof(c->receipt));
	copy_text(st, 10, c->path, sizeof(c->path));
}

int registry_clip_get(registry_t *r, const char *serial, const char *rid, const char *cid,
		      struct clip_rec *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !serial || !rid || !cid || !ret)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "SELECT " CLIP_COLS " FROM clips WHERE serial = ? AND "
			       "rid = ? AND cid = ?", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, rid, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, cid, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_to_clip(st, ret);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int registry_clip_set_offset(registry_t *r, const char *serial, const char *rid, const char *cid,
			     const char *container, uint64_t offset)
{
	if (!r || !serial || !rid || !cid || !container)
		return -EINVAL;
	return registry_exec(r, "INSERT INTO clips (serial, rid, cid, container, state, offset) "
			 "VALUES (?, ?, ?, ?, 'partial', ?) ON CONFLICT (serial, rid, cid) DO UPDATE "
			 "SET offset = excluded.offset WHERE state = 'partial'",
			 "ssssi", serial, rid, cid, container, (int64_t)offset);
}

int registry_clip_commit(registry_t *r, const struct clip_rec *c, time_t now)
{
	if (!r || !c)
		return -EINVAL;
	return registry_exec(r, "UPDATE clips SET state = 'committed', offset = ?, size = ?, "
			 "sha256 = ?, complete = ?, receipt = ?, path = ?, committed_at = ? "
			 "WHERE serial = ? AND rid = ? AND cid = ? AND state = 'partial'",
			 "iisississs", (int64_t)c->size, (int64_t)c->size, c->sha256_hex,
			 (int64_t)c->complete, c->receipt, c->path, (int64_t)now, c->serial, c->rid,
			 c->cid);
}

int registry_clip_foreach_partial(registry_t *r, int (*fn)(const struct clip_rec *, void *),
				  void *ud)
{
	sqlite3_stmt *st = NULL;
	struct clip_rec *c = malloc(sizeof(*c));
	int rc, out = 0;

	if (!r || !fn || !c) {
		free(c);
		return !c ? -ENOMEM : -EINVAL;
	}
	if (sqlite3_prepare_v2(r->db, "SELECT " CLIP_COLS " FROM clips WHERE state = 'partial'",
			       -1, &st, NULL) != SQLITE_OK) {
		free(c);
		return -EIO;
	}
	while (out == 0 && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_to_clip(st, c);
		out = fn(c, ud);
	}
	sqlite3_finalize(st);
	free(c);
	return out;
}

int registry_progress_plan(registry_t *r, const char *serial, uint64_t bytes, time_t now)
{
	return registry_exec(r, "INSERT OR REPLACE INTO progress (serial, bytes_total, bytes_done, "
			 "started, updated) VALUES (?, ?, 0, ?, ?)", "siii", serial,
			 (int64_t)bytes, (int64_t)now, (int64_t)now);
}

int registry_progress_add(registry_t *r, const char *serial, uint64_t bytes, time_t now)
{
	return registry_exec(r, "UPDATE progress SET bytes_done = bytes_done + ?, updated = ? "
			 "WHERE serial = ?", "iis", (int64_t)bytes, (int64_t)now, serial);
}

int registry_progress_get(registry_t *r, const char *serial, struct progress_rec *ret)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!r || !serial || !ret)
		return -EINVAL;
	if (sqlite3_prepare_v2(r->db, "SELECT bytes_total, bytes_done, started, updated FROM "
			       "progress WHERE serial = ?", -1, &st, NULL) != SQLITE_OK)
		return -EIO;
	sqlite3_bind_text(st, 1, serial, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		ret->bytes_total = (uint64_t)sqlite3_column_int64(st, 0);
		ret->bytes_done = (uint64_t)sqlite3_column_int64(st, 1);
		ret->started = sqlite3_column_int64(st, 2);
		ret->updated = sqlite3_column_int64(st, 3);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int registry_clip_declare(registry_t *r, const char *serial, const char *rid, const char *cid,
			  const char *container, uint64_t size, int complete)
{
	if (!r || !serial || !rid || !cid || !container)
		return -EINVAL;
	return registry_exec(r, "INSERT INTO clips (serial, rid, cid, container, state, offset, size, "
			 "complete) VALUES (?, ?, ?, ?, 'partial', 0, ?, ?) ON CONFLICT (serial, rid, "
			 "cid) DO UPDATE SET size = excluded.size, container = excluded.container, "
			 "complete = excluded.complete WHERE state = 'partial'",
			 "ssssii", serial, rid, cid, container, (int64_t)size, (int64_t)complete);
}

sqlite3 *registry_db(registry_t *r)
{
	return r ? r->db : NULL;
}
