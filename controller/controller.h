/* controller.h - the system controller: configuration, policy, registry, the CA
 * process interface and the dock listener. Process layout (README):
 *   parent (controller.c): config, registry, router advertisements, listener
 *   ca (ca.c):             the only holder of the system CA key; signs on request */
#ifndef BWC_CONTROLLER_H
#define BWC_CONTROLLER_H

#include <limits.h>
#include <net/if.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <time.h>

#include "dock-protocol/dock.h"

#define DAY_SECONDS 86400L

struct ctl_config {
	char state_dir[PATH_MAX];
	char keystore[PATH_MAX];   /* hw/keystore.h spec; default file:<state_dir>/keys */
	char interface[IF_NAMESIZE];
	int port;
	int auto_enrol;
	int ra_interval_ms;
	char manufacturer_root[PATH_MAX];
	int lifetime_days;
	int grace_days;
	int max_connections;
	int handshake_timeout_ms;
	int idle_timeout_ms;
	char staging_dir[PATH_MAX];
	int staging_reserve_mb;
	int staging_high_water_pct;
	int staging_allow_unencrypted;   /* development: staging not on dm-crypt */
	char staging_volume[PATH_MAX];   /* LUKS2 device/image for bwcctl staging */
	int forward_workers;
	int forward_retry_s;
	int forward_slow_retry_s;
};

/* config.c */
int config_load(const char *path, struct ctl_config *ret, char *why, size_t whylen);
void config_print(const struct ctl_config *c, FILE *out);
/* state_dir/rel into out */
int config_path(const struct ctl_config *c, const char *rel, char *out, size_t cap);

/* policy.c: the grace rules, pure. Boundaries (PROTOCOL.md):
 *   valid  while now <= not_after
 *   grace  while not_after < now <= not_after + grace
 *   held   once now > not_after + grace */
enum dock_standing policy_time_standing(time_t now, time_t not_after, long grace_seconds);

/* registry.c: camera registry and master-key state in SQLite (WAL). */
enum cam_state { CAM_PENDING, CAM_ADMITTED, CAM_ACTIVE, CAM_HELD, CAM_ACCEPTED, CAM_LOST };
const char *cam_state_name(enum cam_state s);
int cam_state_parse(const char *s, enum cam_state *ret);

struct camera_rec {
	char serial[40];
	enum cam_state state;
	char model[DOCK_TEXT_MAX];
	char firmware[DOCK_TEXT_MAX];
	time_t not_after;      /* of the last certificate issued, 0 if none */
	char cert_serial[65];
	time_t last_dock;      /* 0 if never */
	time_t created;
};

typedef struct registry registry_t;
/* Opens (creating or upgrading) the registry; on failure registry_open_error
 * says why, in this thread. */
int registry_open(const char *path, registry_t **ret);
/* Why the last registry_open of this thread failed (SQLite's words and what
 * to do); "" after a success. */
const char *registry_open_error(void);
void registry_close(registry_t *r);
/* 0 found, -ENOENT not found, other negative on database error */
int registry_get(registry_t *r, const char *serial, struct camera_rec *ret);
int registry_put(registry_t *r, const struct camera_rec *rec);
/* Calls fn for every camera in serial order. */
int registry_foreach(registry_t *r, int (*fn)(const struct camera_rec *, void *), void *ud);
int registry_meta_get(registry_t *r, const char *key, char *out, size_t cap);
int registry_meta_set(registry_t *r, const char *key, const char *value);
const char *registry_errmsg(registry_t *r);

/* Offload state. */
struct clip_rec {
	char serial[40];
	char rid[40];
	char cid[8];
	char container[8];
	int committed;
	uint64_t offset;       /* durable bytes staged */
	uint64_t size;
	char sha256_hex[65];
	int complete;
	char receipt[8192];    /* receipt JSON once committed */
	char path[PATH_MAX];   /* ready-queue file once committed */
};

struct progress_rec {
	uint64_t bytes_total, bytes_done;
	time_t started, updated;
};

int registry_recording_put(registry_t *r, const char *serial, const char *rid, const char *meta,
			   uint64_t total_bytes, int closed, time_t now);
/* One statement with bound parameters: fmt has 's' (const char *) or 'i'
 * (int64_t) per parameter. 0 or -EIO. */
int registry_exec(registry_t *r, const char *sql, const char *fmt, ...);
sqlite3 *registry_db(registry_t *r);
/* 1 exists, 0 not, <0 error */
int registry_recording_exists(registry_t *r, const char *serial, const char *rid);
int registry_clip_get(registry_t *r, const char *serial, const char *rid, const char *cid,
		      struct clip_rec *ret);
/* A clip announced by recording metadata: declared size and container. */
int registry_clip_declare(registry_t *r, const char *serial, const char *rid, const char *cid,
			  const char *container, uint64_t size, int complete);
int registry_clip_set_offset(registry_t *r, const char *serial, const char *rid, const char *cid,
			     const char *container, uint64_t offset);
int registry_clip_commit(registry_t *r, const struct clip_rec *c, time_t now);
int registry_clip_foreach_partial(registry_t *r, int (*fn)(const struct clip_rec *, void *),
				  void *ud);
int registry_progress_plan(registry_t *r, const char *serial, uint64_t bytes, time_t now);
int registry_progress_add(registry_t *r, const char *serial, uint64_t bytes, time_t now);
int registry_progress_get(registry_t *r, const char *serial, struct progress_rec *ret);

/* Display standing of a registry record at 'now' (bwcctl camera list). */
enum dock_standing registry_standing(const struct camera_rec *rec, time_t now, long grace);

#endif
