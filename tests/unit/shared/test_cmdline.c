/* test_cmdline.c - the daemons' command line (conf_cmdline): -c is required,
 * -n/-d/-h and the daemon's own flags are recognised, anything else is a
 * usage error with exit status 2 and the usage on stderr. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "shared/conf.h"

static int usage_out, usage_err;

static void usage(FILE *out)
{
	if (out == stdout)
		usage_out++;
	else
		usage_err++;
}

/* Parses a space-separated command line after the program name. */
static int parse(const char *line, const char *flags, struct conf_cmdline *cl)
{
	static char buf[256];
	char *argv[16] = { "daemon" }, *save = NULL;
	int argc = 1;

	snprintf(buf, sizeof(buf), "%s", line);
	for (char *tok = strtok_r(buf, " ", &save); tok && argc < 15;
	     tok = strtok_r(NULL, " ", &save))
		argv[argc++] = tok;
	usage_out = usage_err = 0;
	return conf_cmdline(argc, argv, flags, usage, cl);
}

int main(void)
{
	struct conf_cmdline cl;

	CHECK(parse("-c /etc/bwc/bwc.conf", "R", &cl) == -1 &&
	      strcmp(cl.conf, "/etc/bwc/bwc.conf") == 0 && !cl.check && !cl.debug && !cl.set[0]);
	CHECK(parse("-n -d -c x.conf -R", "R", &cl) == -1 && cl.check && cl.debug && cl.set[0]);
	CHECK(parse("-ndR -c x.conf", "R", &cl) == -1 && cl.check && cl.debug && cl.set[0]);
	/* the controller has no -R */
	CHECK(parse("-c x.conf -R", "", &cl) == 2 && usage_err == 1);
	CHECK(parse("-n", "R", &cl) == 2 && usage_err == 1);          /* no configuration */
	CHECK(parse("-c", "R", &cl) == 2 && usage_err == 1);          /* -c without a path */
	CHECK(parse("-c x.conf extra", "R", &cl) == 2 && usage_err == 1);
	CHECK(parse("-h", "R", &cl) == 0 && usage_out == 1 && usage_err == 0);
	CHECK(parse("-c x.conf -Rx", "R", &cl) == 2 && usage_err == 1);
	/* a parse after a failed one starts afresh */
	CHECK(parse("-d -c y.conf", "R", &cl) == -1 && strcmp(cl.conf, "y.conf") == 0 && cl.debug);
	CHECK(parse("-c x.conf", "ABCDEFGHI", &cl) == 2);             /* more flags than room */
	return check_done();
}
