/* conf.c - table-driven INI loading (inih does the lexing). */
#include "shared/conf.h"

#include <errno.h>
#include <ini.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct parse_ctx {
	const struct conf_key *keys;
	size_t n;
	void *obj;
	char *why;
	size_t whylen;
	int failed;
};

static int parse_bool(const char *v, long *ret)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*ret = 1;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*ret = 0;
	else
		return -1;
	return 0;
}

static int set_key(const struct conf_key *k, void *obj, const char *value, char *why,
		   size_t whylen)
{
	char *end;
	long v;

	if (k->kind == CONF_STR) {
		if (strlen(value) < (size_t)k->min || strlen(value) >= k->size) {
			snprintf(why, whylen, "[%s] %s: empty or longer than %zu characters",
				 k->section, k->name, k->size - 1);
			return -1;
		}
		memcpy((char *)obj + k->off, value, strlen(value) + 1);
		return 0;
	}
	if (k->kind == CONF_BOOL) {
		if (parse_bool(value, &v) < 0) {
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
	*(int *)((char *)obj + k->off) = (int)v;
	return 0;
}

static int on_entry(void *user, const char *section, const char *name, const char *value)
{
	struct parse_ctx *p = user;

	if (p->failed)
		return 0;
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->keys[i].section, section) || strcmp(p->keys[i].name, name))
			continue;
		if (set_key(&p->keys[i], p->obj, value, p->why, p->whylen) < 0)
			p->failed = 1;
		return !p->failed;
	}
	snprintf(p->why, p->whylen, "unknown key [%s] %s", section, name);
	p->failed = 1;
	return 0;
}

/* inih (as packaged) reads at most 200 bytes per line and then reports a
 * later line: find the long line and name it and its key instead. */
static int find_long_line(const char *path, char *key, size_t keycap)
{
	FILE *f = fopen(path, "re");
	char buf[256];
	int line = 1, found = 0;
	size_t col = 0;

	if (!f)
		return 0;
	while (!found && fgets(buf, sizeof(buf), f)) {
		size_t n = strlen(buf);
		if (col == 0 && n >= 199) {
			size_t k = strcspn(buf, "= \t");
			snprintf(key, keycap, "%.*s", (int)(k < keycap ? k : keycap - 1), buf);
			found = line;
		}
		col += n;
		if (n > 0 && buf[n - 1] == '\n') {
			line++;
			col = 0;
		}
	}
	fclose(f);
	return found;
}

int conf_load(const char *path, const struct conf_key *keys, size_t n, void *obj, char *why,
	      size_t whylen)
{
	struct parse_ctx p = { keys, n, obj, why, whylen, 0 };
	int r = ini_parse(path, on_entry, &p);

	if (r < 0) {
		snprintf(why, whylen, "cannot open %s: %s", path, strerror(errno));
		return -ENOENT;
	}
	if (p.failed)
		return -EINVAL;
	if (r > 0) {
		char key[64] = "";
		int longl = find_long_line(path, key, sizeof(key));
		if (longl)
			snprintf(why, whylen, "%s line %d (%s): longer than the 198 characters a "
				 "configuration line may have; use a shorter path", path, longl, key);
		else
			snprintf(why, whylen, "%s line %d: not a valid INI line", path, r);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (keys[i].kind == CONF_STR && keys[i].min > 0 && !((char *)obj + keys[i].off)[0]) {
			snprintf(why, whylen, "%s: [%s] %s is required", path, keys[i].section,
				 keys[i].name);
			return -EINVAL;
		}
	}
	return 0;
}

void conf_print(const struct conf_key *keys, size_t n, const void *obj, FILE *out)
{
	for (size_t i = 0; i < n; i++) {
		const struct conf_key *k = &keys[i];
		const char *p = (const char *)obj + k->off;
		if (k->kind == CONF_STR)
			fprintf(out, "[%s] %s = %s\n", k->section, k->name, p);
		else if (k->kind == CONF_BOOL)
			fprintf(out, "[%s] %s = %s\n", k->section, k->name,
				*(const int *)p ? "true" : "false");
		else
			fprintf(out, "[%s] %s = %d\n", k->section, k->name, *(const int *)p);
	}
}

int conf_cmdline(int argc, char **argv, const char *flags, void (*usage)(FILE *),
		 struct conf_cmdline *ret)
{
	char optstring[16 + CONF_CMDLINE_FLAGS];
	const char *at;
	int opt;

	memset(ret, 0, sizeof(*ret));
	if (strlen(flags) > CONF_CMDLINE_FLAGS)
		return 2;
	optind = 0;   /* glibc: a full restart of getopt, whatever parsed before */
	snprintf(optstring, sizeof(optstring), "c:ndh%s", flags);
	while ((opt = getopt(argc, argv, optstring)) != -1) {
		if (opt == 'c') {
			ret->conf = optarg;
		} else if (opt == 'n') {
			ret->check = 1;
		} else if (opt == 'd') {
			ret->debug = 1;
		} else if (opt == 'h') {
			usage(stdout);
			return 0;
		} else if (opt != '?' && opt != ':' && (at = strchr(flags, opt)) != NULL) {
			ret->set[at - flags] = 1;
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!ret->conf || optind < argc) {
		usage(stderr);
		return 2;
	}
	return -1;
}
