/* test_config_load.c - the controller configuration: a full file and the
 * defaults print as the golden files say; every kind of mistake is refused
 * with a message naming the key (or the file / line). */
#include "tests/unit/shared/check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "controller/controller.h"

#define REQUIRED "[system]\nstate_dir = /s\n[dock]\ninterface = d0\n[certs]\nmanufacturer_root = /m\n"

static const char *srcdir;

static const char *write_conf(const char *name, const char *text)
{
	const char *path = check_path(name);
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		perror(path);
		exit(EXIT_FAILURE);
	}
	return path;
}

static char *slurp(const char *path, size_t *ret_len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f) {
		buf = calloc(1, 65536);
		if (buf)
			len = fread(buf, 1, 65535, f);
		fclose(f);
	}
	*ret_len = len;
	return buf;
}

/* config_print of fixtures/NAME.conf equals golden/NAME.ok */
static void golden(const char *name)
{
	char conf[4096], ok[4096], why[512] = "";
	struct ctl_config c;
	char *out = NULL, *want;
	size_t out_len = 0, want_len;
	FILE *mem;

	snprintf(conf, sizeof(conf), "%s/fixtures/%s.conf", srcdir, name);
	snprintf(ok, sizeof(ok), "%s/golden/%s.ok", srcdir, name);
	CHECK(config_load(conf, &c, why, sizeof(why)) == 0);
	if (why[0])
		fprintf(stderr, "  %s: %s\n", name, why);
	mem = open_memstream(&out, &out_len);
	if (!mem)
		abort();
	config_print(&c, mem);
	fclose(mem);
	want = slurp(ok, &want_len);
	CHECK(want != NULL);
	CHECK(want && out_len == want_len && memcmp(out, want, want_len) == 0);
	if (want && (out_len != want_len || memcmp(out, want, want_len) != 0))
		fprintf(stderr, "  %s: config_print gave:\n%s  golden is:\n%s", name, out, want);
	free(out);
	free(want);
}

static void full_values(void)
{
	char conf[4096], why[256] = "";
	struct ctl_config c;

	snprintf(conf, sizeof(conf), "%s/fixtures/full.conf", srcdir);
	CHECK(config_load(conf, &c, why, sizeof(why)) == 0);
	CHECK(strcmp(c.state_dir, "/var/lib/bwc-controller") == 0);
	CHECK(strcmp(c.interface, "dock0") == 0);
	CHECK(c.port == 8443);
	CHECK(c.auto_enrol == 1);
	CHECK(c.ra_interval_ms == 1500);
	CHECK(strcmp(c.manufacturer_root, "/etc/bwc/manufacturer-root.pem") == 0);
	CHECK(c.lifetime_days == 14);
	CHECK(c.grace_days == 0);
	CHECK(c.max_connections == 10000);
	CHECK(c.handshake_timeout_ms == 100);
	CHECK(c.idle_timeout_ms == 3600000);
}

static void defaults(void)
{
	char why[256] = "";
	struct ctl_config c;
	const char *path = write_conf("defaults.conf", REQUIRED);
	char p[PATH_MAX];

	CHECK(config_load(path, &c, why, sizeof(why)) == 0);
	CHECK(c.port == DOCK_PORT);
	CHECK(c.auto_enrol == 0);
	CHECK(c.ra_interval_ms == 3000);
	CHECK(c.lifetime_days == 28);
	CHECK(c.grace_days == 56);
	CHECK(c.max_connections == 64);
	CHECK(c.handshake_timeout_ms == 10000);
	CHECK(c.idle_timeout_ms == 60000);
	CHECK(config_path(&c, "registry.db", p, sizeof(p)) == 0 && strcmp(p, "/s/registry.db") == 0);
	CHECK(config_path(&c, "registry.db", p, 8) == -ENAMETOOLONG);
	/* the spellings of a bool */
	{
		static const char *const yes[] = { "true", "yes", "1" }, *const no[] = { "false", "no", "0" };
		char text[512];
		for (int i = 0; i < 3; i++) {
			snprintf(text, sizeof(text), REQUIRED "[dock]\nauto_enrol = %s\n", yes[i]);
			CHECK(config_load(write_conf("b.conf", text), &c, why, sizeof(why)) == 0 &&
			      c.auto_enrol == 1);
			snprintf(text, sizeof(text), REQUIRED "[dock]\nauto_enrol = %s\n", no[i]);
			CHECK(config_load(write_conf("b.conf", text), &c, why, sizeof(why)) == 0 &&
			      c.auto_enrol == 0);
		}
	}
	/* range ends are inclusive */
	CHECK(config_load(write_conf("r.conf", REQUIRED "[dock]\nport = 1\nra_interval_ms = 600000\n"
				     "[certs]\nlifetime_days = 3650\ngrace_days = 3650\n"
				     "[limits]\nmax_connections = 1\nidle_timeout_ms = 100\n"),
			  &c, why, sizeof(why)) == 0);
	CHECK(c.port == 1 && c.grace_days == 3650 && c.idle_timeout_ms == 100);
	CHECK(config_load(write_conf("r.conf", REQUIRED "[dock]\nport = 65535\n"), &c, why,
			  sizeof(why)) == 0 && c.port == 65535);
	/* 15 characters fit an interface name (IF_NAMESIZE 16) */
	CHECK(config_load(write_conf("i.conf", REQUIRED "[dock]\ninterface = abcdefghijklmno\n"),
			  &c, why, sizeof(why)) == 0 && strcmp(c.interface, "abcdefghijklmno") == 0);
}

struct refusal {
	const char *label, *text, *names;
};

static const struct refusal refusals[] = {
	{ "unknown key", REQUIRED "[dock]\ncolour = blue\n", "colour" },
	{ "unknown key in [system]", REQUIRED "[system]\nstatedir = /x\n", "statedir" },
	{ "unknown section", REQUIRED "[cameras]\nmax = 3\n", "cameras" },
	{ "key outside any section", "port = 4433\n" REQUIRED, "port" },
	{ "port 0", REQUIRED "[dock]\nport = 0\n", "port" },
	{ "port 65536", REQUIRED "[dock]\nport = 65536\n", "port" },
	{ "port -1", REQUIRED "[dock]\nport = -1\n", "port" },
	{ "port text", REQUIRED "[dock]\nport = https\n", "port" },
	{ "port trailing", REQUIRED "[dock]\nport = 443x\n", "port" },
	{ "port hex", REQUIRED "[dock]\nport = 0x1bb\n", "port" },
	{ "port empty", REQUIRED "[dock]\nport =\n", "port" },
	{ "port overflow", REQUIRED "[dock]\nport = 99999999999999999999999\n", "port" },
	{ "port past int", REQUIRED "[dock]\nport = 4294971729\n", "port" },
	{ "ra_interval_ms 99", REQUIRED "[dock]\nra_interval_ms = 99\n", "ra_interval_ms" },
	{ "lifetime_days 0", REQUIRED "[certs]\nlifetime_days = 0\n", "lifetime_days" },
	{ "lifetime_days 3651", REQUIRED "[certs]\nlifetime_days = 3651\n", "lifetime_days" },
	{ "grace_days -1", REQUIRED "[certs]\ngrace_days = -1\n", "grace_days" },
	{ "max_connections 10001", REQUIRED "[limits]\nmax_connections = 10001\n", "max_connections" },
	{ "handshake 99", REQUIRED "[limits]\nhandshake_timeout_ms = 99\n", "handshake_timeout_ms" },
	{ "idle 3600001", REQUIRED "[limits]\nidle_timeout_ms = 3600001\n", "idle_timeout_ms" },
	{ "bool maybe", REQUIRED "[dock]\nauto_enrol = maybe\n", "auto_enrol" },
	{ "bool TRUE", REQUIRED "[dock]\nauto_enrol = on\n", "auto_enrol" },
	{ "bool 2", REQUIRED "[dock]\nauto_enrol = 2\n", "auto_enrol" },
	{ "bool empty", REQUIRED "[dock]\nauto_enrol =\n", "auto_enrol" },
	{ "no state_dir", "[dock]\ninterface = d0\n[certs]\nmanufacturer_root = /m\n", "state_dir" },
	{ "no interface", "[system]\nstate_dir = /s\n[certs]\nmanufacturer_root = /m\n", "interface" },
	{ "no manufacturer_root", "[system]\nstate_dir = /s\n[dock]\ninterface = d0\n",
	  "manufacturer_root" },
	{ "empty state_dir", REQUIRED "[system]\nstate_dir =\n", "state_dir" },
	{ "empty file", "", "state_dir" },
	{ "interface of 16", REQUIRED "[dock]\ninterface = abcdefghijklmnop\n", "interface" },
	{ "not an INI line", REQUIRED "this is not ini\n", "line 7" },
};

static void refuse(const struct refusal *r)
{
	char why[512] = "";
	struct ctl_config c;
	int rc = config_load(write_conf("bad.conf", r->text), &c, why, sizeof(why));
	int named = strstr(why, r->names) != NULL;

	CHECK(rc == -EINVAL);
	CHECK(named);
	if (rc != -EINVAL || !named)
		fprintf(stderr, "  %s: rc %d, why \"%s\" (should name %s)\n", r->label, rc, why,
			r->names);
}

static void over_long_path(void)
{
	size_t n = PATH_MAX + 10;
	char *text = malloc(n + 128);
	char why[512] = "";
	struct ctl_config c;
	int k;

	if (!text)
		abort();
	k = snprintf(text, n + 128, "[dock]\ninterface = d0\n[certs]\nmanufacturer_root = /m\n"
		     "[system]\nstate_dir = /");
	memset(text + k, 'd', PATH_MAX);
	strcpy(text + k + PATH_MAX, "\n");
	CHECK(config_load(write_conf("long.conf", text), &c, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "state_dir") != NULL);
	/* Lines are limited to 198 characters by inih as Debian builds it: a
	 * longer line is refused with a message naming the line, key and limit. */
	strcpy(text + k + 1000, "\n");
	why[0] = 0;
	CHECK(config_load(write_conf("long.conf", text), &c, why, sizeof(why)) == -EINVAL);
	CHECK(strstr(why, "line 6 (state_dir)") != NULL);
	CHECK(strstr(why, "198 characters") != NULL);
	if (!strstr(why, "line 6 (state_dir)"))
		fprintf(stderr, "  state_dir of 1001 bytes: \"%s\"\n", why);
	/* the longest line that fits loads */
	strcpy(text + k + 198 - 13, "\n");
	CHECK(config_load(write_conf("long.conf", text), &c, why, sizeof(why)) == 0);
	CHECK(strlen(c.state_dir) == 198 - 13 + 1);
	free(text);
}

static void missing_file(void)
{
	char why[512] = "";
	struct ctl_config c;
	const char *path = check_path("no-such.conf");

	CHECK(config_load(path, &c, why, sizeof(why)) == -ENOENT);
	CHECK(strstr(why, "no-such.conf") != NULL);
}

int main(int argc, char **argv)
{
	srcdir = argc > 1 ? argv[1] : "tests/unit/controller";
	golden("full");
	golden("minimal");
	full_values();
	defaults();
	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		refuse(&refusals[i]);
	over_long_path();
	missing_file();
	return check_done();
}
