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

/* The command line of a daemon: -c CONFIG (required), -n (check the
 * configuration, print it and exit), -d (debug logging), -h, and the flag
 * letters in `flags` (no argument; set[i] = 1 when flags[i] was given).
 * Returns -1 to go on, or else the exit status once usage was printed: 0
 * after -h, 2 after a mistake. */
#define CONF_CMDLINE_FLAGS 8
struct conf_cmdline {
	const char *conf;
	int check, debug;
	int set[CONF_CMDLINE_FLAGS];
};
int conf_cmdline(int argc, char **argv, const char *flags, void (*usage)(FILE *),
		 struct conf_cmdline *ret);

#endif
