/* registry.c - the controller's camera registry and small system facts in
 * SQLite (WAL mode: the daemon and bwcctl read and write it concurrently). */
#include "controller/controller.h"

#include <errno.h>
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
	"CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);";

int registry_open(const char *path, registry_t **ret)
{
	registry_t *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &r->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			     SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(r->db, 5000);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(r->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK) {
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
