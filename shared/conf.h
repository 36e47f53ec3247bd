/* conf.h - INI configuration through a table of keys (type, range, where the
 * value goes), parsed by inih. Unknown keys and out-of-range values are errors
 * that name the section, key and accepted range. */
#ifndef BWC_CONF_H
#define BWC_CONF_H

#include <stddef.h>
#include <stdio.h>

enum conf_kind { CONF_STR, CONF_INT, CONF_BOOL };

struct conf_key {
	const char *section, *name;
	enum conf_kind kind;
	size_t off;        /* offsetof() into the caller's struct */
	size_t size;       /* CONF_STR: buffer size */
	long min, max;     /* CONF_INT range; CONF_STR: min 1 = required non-empty */
};

/* Fills obj from path; keys not in the file keep the caller's defaults. */
int conf_load(const char *path, const struct conf_key *keys, size_t n, void *obj, char *why,
	      size_t whylen);
/* Prints every key with its value ("-n" output of the daemons). */
void conf_print(const struct conf_key *keys, size_t n, const void *obj, FILE *out);

#endif
