/* config.c - controller configuration (INI, parsed by inih) through one table
 * of keys with types and ranges; unknown keys are errors. */
#include "controller/controller.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum kind { K_STR, K_INT, K_BOOL };

#define F(field) offsetof(struct ctl_config, field)
static const struct key {
	const char *section, *name;
	enum kind kind;
	size_t off, size;
	long min, max;
} keys[] = {
	{ "system", "state_dir", K_STR, F(state_dir), PATH_MAX, 1, 0 },
	{ "dock", "interface", K_STR, F(interface), IF_NAMESIZE, 1, 0 },
	{ "dock", "port", K_INT, F(port), 0, 1, 65535 },
	{ "dock", "auto_enrol", K_BOOL, F(auto_enrol), 0, 0, 1 },
	{ "dock", "ra_interval_ms", K_INT, F(ra_interval_ms), 0, 100, 600000 },
	{ "certs", "manufacturer_root", K_STR, F(manufacturer_root), PATH_MAX, 1, 0 },
	{ "certs", "lifetime_days", K_INT, F(lifetime_days), 0, 1, 3650 },
	{ "certs", "grace_days", K_INT, F(grace_days), 0, 0, 3650 },
	{ "limits", "max_connections", K_INT, F(max_connections), 0, 1, 10000 },
	{ "limits", "handshake_timeout_ms", K_INT, F(handshake_timeout_ms), 0, 100, 600000 },
	{ "limits", "idle_timeout_ms", K_INT, F(idle_timeout_ms), 0, 100, 3600000 },
};
#undef F

struct parse_ctx {
	struct ctl_config *c;
	char *why;
	size_t whylen;
	int failed;
};

static int set_key(const struct key *k, struct ctl_config *c, const char *value, char *why,
		   size_t whylen)
{
	char *end;
	long v;

	if (k->kind == K_STR) {
		if (strlen(value) < (size_t)k->min || strlen(value) >= k->size) {
			snprintf(why, whylen, "[%s] %s: empty or longer than %zu characters",
				 k->section, k->name, k->size - 1);
			return -1;
		}
		memcpy((char *)c + k->off, value, strlen(value) + 1);
		return 0;
	}
	if (k->kind == K_BOOL) {
		if (!strcmp(value, "true") || !strcmp(value, "yes") || !strcmp(value, "1"))
			v = 1;
		else if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
			v = 0;
		else {
			snprintf(why, whylen, "[%s] %s: expected true or false, got \"%s\"",
				 k->section, k->name, value);
			return -1;
		}
	} else {
		errno = 0;
		v = strtol(value, &end, 10);
		if (errno || *end || end == value || v < k->min || v > k->max) {
			snprintf(why, whylen, "[%s] %s: expected a whole number %ld..%ld, got \"%s\"",
				 k->section, k->name, k->min, k->max, value);
			return -1;
		}
	}
	*(int *)((char *)c + k->off) = (int)v;
	return 0;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;

	if (p->failed)
		return 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (strcmp(keys[i].section, section) || strcmp(keys[i].name, name))
			continue;
		if (set_key(&keys[i], p->c, value, p->why, p->whylen) < 0)
			p->failed = 1;
		return !p->failed;
	}
	snprintf(p->why, p->whylen, "unknown key [%s] %s", section, name);
	p->failed = 1;
	return 0;
}

int config_load(const char *path, struct ctl_config *ret, char *why, size_t whylen)
{
	struct parse_ctx p = { ret, why, whylen, 0 };
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
	r = ini_parse(path, on_entry, &p);
	if (r < 0) {
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (p.failed)
		return -EINVAL;
	if (r > 0) {
		snprintf(why, whylen, "%s line %d: not a valid INI line", path, r);
		return -EINVAL;
	}
	if (!ret->state_dir[0] || !ret->interface[0] || !ret->manufacturer_root[0]) {
		snprintf(why, whylen, "%s: [system] state_dir, [dock] interface and "
			 "[certs] manufacturer_root are required", path);
		return -EINVAL;
	}
	return 0;
}

void config_print(const struct ctl_config *c, FILE *out)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		if (k->kind == K_STR)
			fprintf(out, "[%s] %s = %s\n", k->section, k->name, (const char *)c + k->off);
		else if (k->kind == K_BOOL)
			fprintf(out, "[%s] %s = %s\n", k->section, k->name,
				*(const int *)((const char *)c + k->off) ? "true" : "false");
		else
			fprintf(out, "[%s] %s = %d\n", k->section, k->name,
				*(const int *)((const char *)c + k->off));
	}
}

int config_path(const struct ctl_config *c, const char *rel, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s/%s", c->state_dir, rel);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}
