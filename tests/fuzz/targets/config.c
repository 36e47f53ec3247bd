/* config.c - libFuzzer target: the controller's configuration file read
 * through the shared INI key tables (config_load -> conf_load -> inih). An
 * accepted file prints (the -n output) and every value is in its range. */
#include "tests/fuzz/fuzz.h"
#include "controller/controller.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char dir[PATH_MAX], path[PATH_MAX + 32], why[512];
	struct ctl_config c;
	FILE *null;

	fz_mkdtemp(dir);
	snprintf(path, sizeof(path), "%s/controller.conf", dir);
	fz_write(path, data, size);
	why[0] = 0;
	if (config_load(path, &c, why, sizeof(why)) == 0) {
		FZ_CHECK(memchr(c.state_dir, 0, sizeof(c.state_dir)) != NULL);
		FZ_CHECK(memchr(c.interface, 0, sizeof(c.interface)) != NULL);
		FZ_CHECK(memchr(c.staging_dir, 0, sizeof(c.staging_dir)) != NULL);
		FZ_CHECK(c.port >= 1 && c.port <= 65535);
		FZ_CHECK(c.auto_enrol == 0 || c.auto_enrol == 1);
		FZ_CHECK(c.lifetime_days >= 1 && c.lifetime_days <= 3650);
		FZ_CHECK(c.grace_days >= 0 && c.grace_days <= 3650);
		FZ_CHECK(c.forward_workers >= 1 && c.forward_workers <= 8);
		FZ_CHECK(c.staging_high_water_pct >= 1 && c.staging_high_water_pct <= 100);
		null = fopen("/dev/null", "w");
		FZ_CHECK(null != NULL);
		config_print(&c, null);
		fclose(null);
	} else {
		FZ_CHECK(memchr(why, 0, sizeof(why)) != NULL && why[0]);
	}
	fz_rmtree(dir);
	return 0;
}
