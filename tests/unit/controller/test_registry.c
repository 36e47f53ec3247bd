/* test_registry.c - the SQLite camera registry: every field survives put/get,
 * unknown serials, serial order, meta facts, WAL (a reader is not blocked by a
 * writer on another handle) and the display standing of every state. */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/controller.h"

#define DAY DAY_SECONDS

static const time_t T = 1767225600;   /* 2026-01-01T00:00:00Z */

static struct camera_rec make(const char *serial, enum cam_state state)
{
	struct camera_rec r;

	memset(&r, 0, sizeof(r));
	snprintf(r.serial, sizeof(r.serial), "%s", serial);
	r.state = state;
	snprintf(r.model, sizeof(r.model), "BWC-1000");
	snprintf(r.firmware, sizeof(r.firmware), "0.1.0");
	r.not_after = T + 28 * DAY;
	snprintf(r.cert_serial, sizeof(r.cert_serial), "0a1b2c");
	r.last_dock = T;
	r.created = T - DAY;
	return r;
}

static int rec_equal(const struct camera_rec *a, const struct camera_rec *b)
{
	return strcmp(a->serial, b->serial) == 0 && a->state == b->state &&
	       strcmp(a->model, b->model) == 0 && strcmp(a->firmware, b->firmware) == 0 &&
	       a->not_after == b->not_after && strcmp(a->cert_serial, b->cert_serial) == 0 &&
	       a->last_dock == b->last_dock && a->created == b->created;
}

static void fill_text(char *out, size_t cap, char c)
{
	memset(out, c, cap - 1);
	out[cap - 1] = 0;
}

static void round_trip(registry_t *reg)
{
	struct camera_rec in = make("RIG00001", CAM_ACTIVE), out;

	CHECK(registry_put(reg, &in) == 0);
	CHECK(registry_get(reg, "RIG00001", &out) == 0);
	CHECK(rec_equal(&in, &out));

	/* every field at its largest, every state */
	fill_text(in.serial, sizeof(in.serial), 'S');
	fill_text(in.model, sizeof(in.model), 'm');
	fill_text(in.firmware, sizeof(in.firmware), 'f');
	fill_text(in.cert_serial, sizeof(in.cert_serial), 'c');
	in.not_after = (time_t)253402300799;   /* 9999-12-31T23:59:59Z */
	in.last_dock = (time_t)4102444800;
	in.created = 1;
	for (int s = CAM_PENDING; s <= CAM_LOST; s++) {
		in.state = (enum cam_state)s;
		CHECK(registry_put(reg, &in) == 0);
		memset(&out, 0x55, sizeof(out));
		CHECK(registry_get(reg, in.serial, &out) == 0);
		CHECK(rec_equal(&in, &out));
	}
	/* empty texts and zero times (never docked, no certificate) */
	in = make("RIG00002", CAM_PENDING);
	in.model[0] = in.firmware[0] = in.cert_serial[0] = 0;
	in.not_after = in.last_dock = 0;
	CHECK(registry_put(reg, &in) == 0);
	CHECK(registry_get(reg, "RIG00002", &out) == 0);
	CHECK(rec_equal(&in, &out));
	/* a put replaces the whole record */
	in = make("RIG00002", CAM_ADMITTED);
	in.not_after = T + 99;
	snprintf(in.model, sizeof(in.model), "BWC-2000");
	CHECK(registry_put(reg, &in) == 0);
	CHECK(registry_get(reg, "RIG00002", &out) == 0);
	CHECK(rec_equal(&in, &out));
	/* an out-of-range state is refused by the schema */
	in.state = (enum cam_state)42;
	CHECK(registry_put(reg, &in) < 0);
	CHECK(registry_get(reg, "RIG00002", &out) == 0 && out.state == CAM_ADMITTED);
}

static void unknown_and_arguments(registry_t *reg)
{
	struct camera_rec out, in = make("X", CAM_ACTIVE);
	char buf[8];

	CHECK(registry_get(reg, "NO-SUCH", &out) == -ENOENT);
	CHECK(registry_get(reg, "", &out) == -ENOENT);
	CHECK(registry_get(reg, "rig00001", &out) == -ENOENT);   /* serials are case-sensitive */
	CHECK(registry_get(reg, "RIG0000%", &out) == -ENOENT);
	CHECK(registry_get(NULL, "RIG00001", &out) == -EINVAL);
	CHECK(registry_get(reg, NULL, &out) == -EINVAL);
	CHECK(registry_get(reg, "RIG00001", NULL) == -EINVAL);
	CHECK(registry_put(NULL, &in) == -EINVAL);
	CHECK(registry_put(reg, NULL) == -EINVAL);
	CHECK(registry_foreach(NULL, NULL, NULL) == -EINVAL);
	CHECK(registry_foreach(reg, NULL, NULL) == -EINVAL);
	CHECK(registry_meta_get(NULL, "k", buf, sizeof(buf)) == -EINVAL);
	CHECK(registry_meta_get(reg, NULL, buf, sizeof(buf)) == -EINVAL);
	CHECK(registry_meta_get(reg, "k", NULL, sizeof(buf)) == -EINVAL);
	CHECK(registry_meta_get(reg, "k", buf, 0) == -EINVAL);
	CHECK(registry_meta_set(NULL, "k", "v") == -EINVAL);
	CHECK(registry_meta_set(reg, NULL, "v") == -EINVAL);
	CHECK(registry_meta_set(reg, "k", NULL) == -EINVAL);
	CHECK(registry_errmsg(NULL) != NULL);
	CHECK(registry_errmsg(reg) != NULL);
	registry_close(NULL);
}

struct seen {
	int n;
	char serial[8][40];
	int stop_at;
};

static int collect(const struct camera_rec *rec, void *ud)
{
	struct seen *s = ud;

	if (s->n < 8)
		snprintf(s->serial[s->n], sizeof(s->serial[0]), "%s", rec->serial);
	s->n++;
	return s->n == s->stop_at ? -ECANCELED : 0;
}

static void serial_order(const char *dir)
{
	static const char *const put_order[] = { "C3", "a0", "A1", "B2", "A10", "A2" };
	static const char *const sorted[] = { "A1", "A10", "A2", "B2", "C3", "a0" };
	char path[PATH_MAX];
	registry_t *reg = NULL;
	struct seen s = { 0 };

	snprintf(path, sizeof(path), "%s/order.db", dir);
	CHECK(registry_open(path, &reg) == 0);
	if (!reg)
		return;
	CHECK(registry_foreach(reg, collect, &s) == 0 && s.n == 0);
	for (size_t i = 0; i < 6; i++) {
		struct camera_rec r = make(put_order[i], CAM_ACTIVE);
		CHECK(registry_put(reg, &r) == 0);
	}
	CHECK(registry_foreach(reg, collect, &s) == 0);
	CHECK(s.n == 6);
	for (int i = 0; i < 6 && i < s.n; i++)
		CHECK(strcmp(s.serial[i], sorted[i]) == 0);
	/* a negative callback result stops the walk and is returned */
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	CHECK(registry_foreach(reg, collect, &s) == -ECANCELED);
	CHECK(s.n == 2);
	registry_close(reg);
}

static void meta(registry_t *reg)
{
	char buf[16];

	CHECK(registry_meta_get(reg, "system_id", buf, sizeof(buf)) == -ENOENT);
	CHECK(registry_meta_set(reg, "system_id", "5e1dd31c0c995c88") == -0);
	CHECK(registry_meta_get(reg, "system_id", buf, sizeof(buf)) == -ENOSPC);
	CHECK(registry_meta_set(reg, "system_id", "5e1dd31c0c995c8") == 0);
	CHECK(registry_meta_get(reg, "system_id", buf, sizeof(buf)) == 0);
	CHECK(strcmp(buf, "5e1dd31c0c995c8") == 0);
	CHECK(registry_meta_set(reg, "empty", "") == 0);
	CHECK(registry_meta_get(reg, "empty", buf, 1) == 0 && buf[0] == 0);
	CHECK(registry_meta_set(reg, "system_id", "new") == 0);
	CHECK(registry_meta_get(reg, "system_id", buf, 4) == 0 && strcmp(buf, "new") == 0);
	CHECK(registry_meta_get(reg, "system_id", buf, 3) == -ENOSPC);
	CHECK(registry_meta_get(reg, "System_id", buf, sizeof(buf)) == -ENOENT);
}

static int count(const struct camera_rec *rec, void *ud)
{
	(*(int *)ud)++;
	return 0;
}

/* A writer holding a transaction on one connection does not block readers on
 * another, and they see only committed rows. */
static void wal(const char *dir)
{
	char path[PATH_MAX];
	registry_t *a = NULL, *b = NULL;
	sqlite3 *raw = NULL;
	sqlite3_stmt *st = NULL;
	struct camera_rec in = make("WAL-1", CAM_ACTIVE), out;
	int n = 0;

	snprintf(path, sizeof(path), "%s/wal.db", dir);
	CHECK(registry_open(path, &a) == 0);
	CHECK(registry_open(path, &b) == 0);
	if (!a || !b)
		goto out;
	CHECK(registry_put(a, &in) == 0);
	CHECK(registry_get(b, "WAL-1", &out) == 0 && rec_equal(&in, &out));

	CHECK(sqlite3_open(path, &raw) == SQLITE_OK);
	CHECK(sqlite3_prepare_v2(raw, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK);
	CHECK(sqlite3_step(st) == SQLITE_ROW);
	CHECK(strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0);
	sqlite3_finalize(st);

	CHECK(sqlite3_exec(raw, "BEGIN EXCLUSIVE; INSERT INTO cameras (serial, state, created) "
			   "VALUES ('WAL-2', 'pending', 1);", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(registry_get(b, "WAL-1", &out) == 0);
	CHECK(registry_get(a, "WAL-1", &out) == 0);
	CHECK(registry_get(b, "WAL-2", &out) == -ENOENT);
	CHECK(registry_foreach(b, count, &n) == 0 && n == 1);
	CHECK(registry_meta_get(b, "none", (char[4]){ 0 }, 4) == -ENOENT);
	CHECK(sqlite3_exec(raw, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
	CHECK(registry_get(b, "WAL-2", &out) == 0 && out.state == CAM_PENDING);
	/* and the other way round: a registry write is seen by the other handle */
	in.state = CAM_HELD;
	CHECK(registry_put(b, &in) == 0);
	CHECK(registry_get(a, "WAL-1", &out) == 0 && out.state == CAM_HELD);
out:
	sqlite3_close(raw);
	registry_close(a);
	registry_close(b);
}

static void states(void)
{
	enum cam_state s;

	for (int i = CAM_PENDING; i <= CAM_LOST; i++) {
		const char *name = cam_state_name((enum cam_state)i);
		CHECK(cam_state_parse(name, &s) == 0 && s == (enum cam_state)i);
	}
	CHECK(strcmp(cam_state_name(CAM_ACCEPTED), "accepted") == 0);
	CHECK(cam_state_parse("Active", &s) == -EINVAL);
	CHECK(cam_state_parse("", &s) == -EINVAL);
	CHECK(cam_state_parse(NULL, &s) == -EINVAL);
	CHECK(strcmp(cam_state_name((enum cam_state)99), "?") == 0);
}

static void standing(void)
{
	static const struct {
		enum cam_state state;
		enum dock_standing want;
	} fixed[] = {
		{ CAM_PENDING, DOCK_S_PENDING }, { CAM_ADMITTED, DOCK_S_ENROLLED },
		{ CAM_HELD, DOCK_S_HELD }, { CAM_ACCEPTED, DOCK_S_ENROLLED },
		{ CAM_LOST, DOCK_S_LOST },
	};
	const long grace = 56 * DAY;
	struct camera_rec r = make("S", CAM_ACTIVE);

	/* states other than active do not depend on time */
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		r.state = fixed[i].state;
		r.not_after = T;
		CHECK(registry_standing(&r, T - DAY, grace) == fixed[i].want);
		CHECK(registry_standing(&r, T + 1, grace) == fixed[i].want);
		CHECK(registry_standing(&r, T + grace + 1, grace) == fixed[i].want);
		r.not_after = 0;
		CHECK(registry_standing(&r, T, grace) == fixed[i].want);
	}
	r.state = CAM_ACTIVE;
	r.not_after = T + 28 * DAY;
	CHECK(registry_standing(&r, T + 27 * DAY, grace) == DOCK_S_VALID);
	CHECK(registry_standing(&r, T + 28 * DAY, grace) == DOCK_S_VALID);
	CHECK(registry_standing(&r, T + 28 * DAY + 1, grace) == DOCK_S_GRACE);
	CHECK(registry_standing(&r, T + 84 * DAY, grace) == DOCK_S_GRACE);
	CHECK(registry_standing(&r, T + 84 * DAY + 1, grace) == DOCK_S_HELD);
	CHECK(registry_standing(&r, T + 84 * DAY + 1, 0) == DOCK_S_HELD);
	CHECK(registry_standing(&r, T + 28 * DAY + 1, 0) == DOCK_S_HELD);
	/* an active camera beyond grace shows held although it has not docked */
	r.not_after = 0;
	CHECK(registry_standing(&r, T, grace) == DOCK_S_HELD);
}

/* A registry file that is not a database: refused with the reason and what to
 * do, and left exactly as it was. */
static void damaged(const char *dir)
{
	static const char junk[] = "this is not an SQLite database, it was overwritten\n";
	char path[PATH_MAX], back[sizeof(junk)] = "";
	registry_t *reg = NULL;
	FILE *f;

	snprintf(path, sizeof(path), "%s/damaged.db", dir);
	f = fopen(path, "w");
	CHECK(f && fwrite(junk, 1, sizeof(junk) - 1, f) == sizeof(junk) - 1);
	if (f)
		fclose(f);
	CHECK(registry_open(path, &reg) < 0 && reg == NULL);
	CHECK(strstr(registry_open_error(), "not a database") != NULL &&
	      strstr(registry_open_error(), "restore registry.db from a backup") != NULL);
	f = fopen(path, "r");
	CHECK(f && fread(back, 1, sizeof(back), f) == sizeof(junk) - 1 && strcmp(back, junk) == 0);
	if (f)
		fclose(f);
	CHECK(registry_open(dir, &reg) < 0);   /* a directory */
	CHECK(registry_open_error()[0] != '\0');
}

int main(void)
{
	const char *dir = check_tmpdir();
	char path[PATH_MAX];
	registry_t *reg = NULL;

	snprintf(path, sizeof(path), "%s/registry.db", dir);
	CHECK(registry_open(path, &reg) == 0);
	if (reg) {
		round_trip(reg);
		unknown_and_arguments(reg);
		meta(reg);
		registry_close(reg);
	}
	/* state survives a reopen */
	reg = NULL;
	CHECK(registry_open(path, &reg) == 0);
	if (reg) {
		struct camera_rec out;
		char buf[16];
		CHECK(registry_get(reg, "RIG00001", &out) == 0 && out.state == CAM_ACTIVE);
		CHECK(registry_meta_get(reg, "system_id", buf, sizeof(buf)) == 0);
		registry_close(reg);
	}
	snprintf(path, sizeof(path), "%s/no-such-dir/registry.db", dir);
	reg = NULL;
	CHECK(registry_open(path, &reg) < 0 && reg == NULL);
	CHECK(strstr(registry_open_error(), "directory exists") != NULL);
	damaged(dir);
	serial_order(dir);
	wal(dir);
	states();
	standing();
	return check_done();
}
