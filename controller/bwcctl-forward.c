/* bwcctl-forward.c - the administrator's view of forwarding: users and
 * camera assignments (synced by the forwarder to the destination's Users/
 * and Devices/), the forward queue and the alarms. */
#include "controller/bwcctl.h"

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/random.h>

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/certs.h"
#include "shared/util.h"

static int text_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static void new_uuid(char out[37])
{
	uint8_t b[16];
	char h[33];
	WC_RNG rng;

	if (wc_InitRng(&rng) == 0) {
		wc_RNG_GenerateBlock(&rng, b, sizeof(b));
		wc_FreeRng(&rng);
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x40);
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80);
	util_hex(b, sizeof(b), h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12, h + 16, h + 20);
}

int cmd_user(struct cli *c, const char *verb, const char *user_id, const char *arg)
{
	char uuid[37];
	int r;

	if (!text_ok(user_id, 100))
		return die("a user id is 1..100 printable characters");
	if (!strcmp(verb, "add")) {
		if (!text_ok(arg, 100))
			return die("user add needs --name NAME (1..100 printable characters)");
		new_uuid(uuid);
		r = registry_exec(c->reg, "INSERT INTO users (uuid, user_id, name) VALUES (?, ?, ?)",
				  "sss", uuid, user_id, arg);
		if (r < 0)
			return die("cannot add user %s: %s (is the id already taken?)", user_id,
				   registry_errmsg(c->reg));
		bwcctl_audit(c, "user-add", NULL, "user added");
		printf("user %s added as %s; the forwarder creates Users/%s at the destination\n",
		       user_id, uuid, uuid);
		return 0;
	}
	if (!strcmp(verb, "rename") && !text_ok(arg, 100))
		return die("user rename needs --name NAME");
	r = !strcmp(verb, "rename")
		    ? registry_exec(c->reg, "UPDATE users SET name = ?, synced = 0 WHERE user_id = ?",
				    "ss", arg, user_id)
		    : registry_exec(c->reg, "UPDATE users SET active = 0, synced = 0 WHERE user_id = ?",
				    "s", user_id);
	if (r < 0 || sqlite3_changes(registry_db(c->reg)) != 1)
		return die("no user %s", user_id);
	bwcctl_audit(c, !strcmp(verb, "rename") ? "user-rename" : "user-disable", NULL, user_id);
	printf("user %s %s\n", user_id, !strcmp(verb, "rename") ? "renamed" : "disabled");
	return 0;
}

int cmd_assign(struct cli *c, const char *serial, const char *user_id, const char *name)
{
	char note[200];
	int r;

	/* A camera may be assigned before its first dock. */
	if (certs_check_serial(serial) != 0)
		return die("\"%s\" is not a camera serial number", serial);
	r = registry_exec(c->reg, "INSERT INTO assignments (serial, user_uuid, name) SELECT ?, uuid, ? "
			  "FROM users WHERE user_id = ? AND active = 1 ON CONFLICT (serial) DO UPDATE "
			  "SET user_uuid = excluded.user_uuid, name = excluded.name, synced = 0",
			  "sss", serial, name ? name : serial, user_id);
	if (r < 0 || sqlite3_changes(registry_db(c->reg)) != 1)
		return die("no active user %s (bwcctl user add %s --name NAME)", user_id, user_id);
	snprintf(note, sizeof(note), "camera assigned to user %s", user_id);
	bwcctl_audit(c, "assign", serial, note);
	printf("camera %s assigned to %s; its recordings are filed under that user\n", serial, user_id);
	return 0;
}

int cmd_forward_status(struct cli *c)
{
	sqlite3 *db = registry_db(c->reg);
	sqlite3_stmt *st = NULL;
	json_t *arr = c->json ? json_array() : NULL, *alarms = c->json ? json_array() : NULL;

	if (sqlite3_prepare_v2(db, "SELECT serial, rid, forward_state, attempts, "
			       "COALESCE(container, ''), COALESCE(last_error, ''), total_bytes, closed "
			       "FROM recordings ORDER BY received", -1, &st, NULL) != SQLITE_OK)
		return die("registry read failed: %s", registry_errmsg(c->reg));
	if (!c->json)
		printf("%-10s %-36s %-15s %-8s %s\n", "SERIAL", "RECORDING", "FORWARD", "ATTEMPTS",
		       "CONTAINER / LAST ERROR");
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(st, 2);
		const char *container = (const char *)sqlite3_column_text(st, 4);
		const char *err = (const char *)sqlite3_column_text(st, 5);
		if (!strcmp(state, "not-transferred"))
			state = "not-transferred";
		if (arr)
			json_array_append_new(arr, json_pack("{sssssssisssssIsb}", "serial",
				sqlite3_column_text(st, 0), "recording", sqlite3_column_text(st, 1),
				"state", state, "attempts", sqlite3_column_int(st, 3), "container",
				container, "last_error", err, "bytes",
				(json_int_t)sqlite3_column_int64(st, 6), "closed",
				sqlite3_column_int(st, 7)));
		else
			printf("%-10s %-36s %-15s %-8d %s\n", sqlite3_column_text(st, 0),
			       sqlite3_column_text(st, 1), state, sqlite3_column_int(st, 3),
			       container[0] ? container : err);
	}
	sqlite3_finalize(st);
	if (sqlite3_prepare_v2(db, "SELECT name, text, since FROM alarms ORDER BY since", -1, &st,
			       NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			char since[32];
			util_time_iso(sqlite3_column_int64(st, 2), since, sizeof(since));
			if (alarms)
				json_array_append_new(alarms, json_pack("{ssssss}", "name",
					sqlite3_column_text(st, 0), "text", sqlite3_column_text(st, 1),
					"since", since));
			else
				printf("ALARM %s since %s: %s\n", sqlite3_column_text(st, 0), since,
				       sqlite3_column_text(st, 1));
		}
		sqlite3_finalize(st);
	}
	if (arr) {
		json_t *o = json_pack("{soso}", "recordings", arr, "alarms", alarms);
		json_dumpf(o, stdout, JSON_INDENT(2));
		putchar('\n');
		json_decref(o);
	}
	return 0;
}
