/* config.c - the camera's configuration (bwc.conf): one key table for the
 * daemon and the recorder; unknown keys are errors. */
#include "bwc/bwc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hw/storage.h"
#include "shared/conf.h"
#include "shared/util.h"

#define F(field) offsetof(struct bwc_config, field)
static const struct conf_key bwc_keys[] = {
	{ "camera", "state_dir", CONF_STR, F(state_dir), PATH_MAX, 1, 0 },
	{ "camera", "keystore", CONF_STR, F(keystore), PATH_MAX, 1, 0 },
	{ "camera", "model", CONF_STR, F(model), DOCK_TEXT_MAX, 0, 0 },
	{ "camera", "firmware", CONF_STR, F(firmware), DOCK_TEXT_MAX, 0, 0 },
	{ "dock", "interface", CONF_STR, F(interface), IF_NAMESIZE, 1, 0 },
	{ "dock", "port", CONF_INT, F(port), 0, 1, 65535 },
	{ "dock", "connect_timeout_ms", CONF_INT, F(connect_timeout_ms), 0, 100, 60000 },
	{ "dock", "io_timeout_ms", CONF_INT, F(io_timeout_ms), 0, 100, 600000 },
	{ "dock", "discovery_timeout_ms", CONF_INT, F(discovery_timeout_ms), 0, 100, 600000 },
	{ "camera", "data_dir", CONF_STR, F(data_dir), PATH_MAX, 0, 0 },
	{ "camera", "allow_unencrypted", CONF_BOOL, F(allow_unencrypted), 0, 0, 1 },
	{ "dock", "chunk_kib", CONF_INT, F(chunk_kib), 0, 4, DOCK_MAX_CHUNK / 1024 },
	{ "dock", "controller", CONF_STR, F(controller), 64, 0, 0 },
};
#undef F

int bwc_config_load(const char *path, struct bwc_config *ret, char *why, size_t whylen)
{
	memset(ret, 0, sizeof(*ret));
	snprintf(ret->model, sizeof(ret->model), "BWC-1000");
	snprintf(ret->firmware, sizeof(ret->firmware), "0.1.0");
	ret->port = DOCK_PORT;
	ret->connect_timeout_ms = 3000;
	ret->io_timeout_ms = 15000;
	ret->discovery_timeout_ms = 10000;
	ret->chunk_kib = 4096;
	if (conf_load(path, bwc_keys, ARRAY_SIZE(bwc_keys), ret, why, whylen) < 0)
		return -EINVAL;
	if (!ret->data_dir[0] &&
	    snprintf(ret->data_dir, sizeof(ret->data_dir), "%s/data", ret->state_dir) >=
		    (int)sizeof(ret->data_dir)) {
		snprintf(why, whylen, "%s: state_dir too long for the default data_dir", path);
		return -EINVAL;
	}
	if (ret->controller[0] && inet_pton(AF_INET6, ret->controller, &ret->controller_addr) != 1) {
		snprintf(why, whylen, "%s: [dock] controller must be an IPv6 address (link-local on "
			 "the dock interface), got \"%s\"", path, ret->controller);
		return -EINVAL;
	}
	return 0;
}

void bwc_config_print(const struct bwc_config *c, FILE *out)
{
	conf_print(bwc_keys, ARRAY_SIZE(bwc_keys), c, out);
}


int bwc_check_storage(const struct bwc_config *c, const char *prog)
{
	char name[STORAGE_NAME_MAX + 1] = "";
	int r;

	if (util_mkdir_p(c->data_dir, 0700) < 0 && !c->allow_unencrypted) {
		fprintf(stderr, "%s: the data volume is not mounted at %s: unlock and mount it "
			"first\n", prog, c->data_dir);
		return -EPERM;
	}
	r = storage_path_encrypted(c->data_dir, name, sizeof(name));
	if (r == 1)
		return 0;
	if (c->allow_unencrypted) {
		r = storage_dev_open(c->data_dir, STORAGE_ALLOW_UNENCRYPTED);
		if (r != STORAGE_OK) {
			fprintf(stderr, "%s: %s: %s\n", prog, c->data_dir, storage_strerror(r));
			return -EIO;
		}
		fprintf(stderr, "%s: DEVELOPMENT ONLY: recordings in %s are NOT encrypted "
			"([camera] allow_unencrypted = true)\n", prog, c->data_dir);
		return 0;
	}
	fprintf(stderr, "%s: %s is not on an encrypted volume (dm-crypt LUKS2): recordings are "
		"kept only on the camera's encrypted data volume; a development setup may set "
		"[camera] allow_unencrypted = true\n", prog, c->data_dir);
	return -EPERM;
}
