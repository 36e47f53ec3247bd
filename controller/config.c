/* config.c - the controller's configuration keys, defaults and ranges. */
#include "controller/controller.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "shared/conf.h"

#define F(field) offsetof(struct ctl_config, field)
static const struct conf_key keys[] = {
	{ "system", "state_dir", CONF_STR, F(state_dir), PATH_MAX, 1, 0 },
	{ "system", "keystore", CONF_STR, F(keystore), PATH_MAX, 0, 0 },
	{ "dock", "interface", CONF_STR, F(interface), IF_NAMESIZE, 1, 0 },
	{ "dock", "port", CONF_INT, F(port), 0, 1, 65535 },
	{ "dock", "auto_enrol", CONF_BOOL, F(auto_enrol), 0, 0, 1 },
	{ "dock", "ra_interval_ms", CONF_INT, F(ra_interval_ms), 0, 100, 600000 },
	{ "certs", "manufacturer_root", CONF_STR, F(manufacturer_root), PATH_MAX, 1, 0 },
	{ "certs", "lifetime_days", CONF_INT, F(lifetime_days), 0, 1, 3650 },
	{ "certs", "grace_days", CONF_INT, F(grace_days), 0, 0, 3650 },
	{ "limits", "max_connections", CONF_INT, F(max_connections), 0, 1, 10000 },
	{ "limits", "handshake_timeout_ms", CONF_INT, F(handshake_timeout_ms), 0, 100, 600000 },
	{ "limits", "idle_timeout_ms", CONF_INT, F(idle_timeout_ms), 0, 100, 3600000 },
	{ "staging", "dir", CONF_STR, F(staging_dir), PATH_MAX, 0, 0 },
	{ "staging", "reserve_mb", CONF_INT, F(staging_reserve_mb), 0, 0, 1 << 20 },
	{ "staging", "high_water_pct", CONF_INT, F(staging_high_water_pct), 0, 1, 100 },
	{ "staging", "allow_unencrypted", CONF_BOOL, F(staging_allow_unencrypted), 0, 0, 1 },
	{ "staging", "volume", CONF_STR, F(staging_volume), PATH_MAX, 0, 0 },
	{ "forward", "workers", CONF_INT, F(forward_workers), 0, 1, 8 },
	{ "forward", "retry_s", CONF_INT, F(forward_retry_s), 0, 1, 3600 },
	{ "forward", "slow_retry_s", CONF_INT, F(forward_slow_retry_s), 0, 1, 86400 },
};
#undef F

int config_load(const char *path, struct ctl_config *ret, char *why, size_t whylen)
{
	int r;

	memset(ret, 0, sizeof(*ret));
	ret->port = DOCK_PORT;
	ret->auto_enrol = 0;
	ret->ra_interval_ms = 3000;
	ret->lifetime_days = 28;
	ret->grace_days = 56;
	ret->max_connections = 64;
	ret->handshake_timeout_ms = 10000;
	ret->idle_timeout_ms = 60000;
	ret->staging_reserve_mb = 512;
	ret->staging_high_water_pct = 80;
	ret->forward_workers = 2;
	ret->forward_retry_s = 5;
	ret->forward_slow_retry_s = 300;
	r = conf_load(path, keys, sizeof(keys) / sizeof(keys[0]), ret, why, whylen);
	if (r == 0 && !ret->keystore[0] &&
	    snprintf(ret->keystore, sizeof(ret->keystore), "file:%s/keys", ret->state_dir) >=
		    (int)sizeof(ret->keystore)) {
		snprintf(why, whylen, "%s: [system] state_dir too long for the default keystore",
			 path);
		return -EINVAL;
	}
	if (r == 0 && !ret->staging_dir[0] &&
	    snprintf(ret->staging_dir, sizeof(ret->staging_dir), "%s/staging", ret->state_dir) >=
		    (int)sizeof(ret->staging_dir)) {
		snprintf(why, whylen, "%s: [system] state_dir too long for the default staging dir",
			 path);
		return -EINVAL;
	}
	return r;
}

void config_print(const struct ctl_config *c, FILE *out)
{
	conf_print(keys, sizeof(keys) / sizeof(keys[0]), c, out);
}

int config_path(const struct ctl_config *c, const char *rel, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", c->state_dir, rel);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
