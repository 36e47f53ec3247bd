/* fixture.c - see fixture.h. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "fixture.h"
#include "../shared/check.h"

#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

store_t *fx_open(const char *name)
{
	store_t *s = NULL;
	int r = store_open(check_path(name), &s);

	if (r < 0) {
		fprintf(stderr, "store_open %s: %d\n", check_path(name), r);
		exit(EXIT_FAILURE);
	}
	return s;
}

void fx_fill(struct store_recording *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->serial, sizeof(r->serial), "RIG00001");
	snprintf(r->model, sizeof(r->model), "BWC-1000");
	snprintf(r->firmware, sizeof(r->firmware), "0.1.0");
	snprintf(r->user_id, sizeof(r->user_id), "officer-17");
	snprintf(r->timezone, sizeof(r->timezone), "Europe/Stockholm");
	snprintf(r->trigger_on.reason, sizeof(r->trigger_on.reason), "button");
	r->trigger_on.has_location = 1;
	r->trigger_on.latitude = 55.7;
	r->trigger_on.longitude = 13.19;
}

void fx_bytes(uint8_t *buf, size_t n, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;

	for (size_t i = 0; i < n; i++) {
		x = x * 1103515245u + 12345u;
		buf[i] = (uint8_t)(x >> 16);
	}
}

void fx_sha256(const uint8_t *buf, size_t n, uint8_t out[32])
{
	wc_Sha256Hash(buf, (word32)n, out);
}

int fx_write(const char *path, const uint8_t *buf, size_t n)
{
	int fd = open(path, O_WRONLY | O_TRUNC);

	if (fd < 0)
		return -1;
	if (write(fd, buf, n) != (ssize_t)n) {
		close(fd);
		return -1;
	}
	return close(fd);
}

int fx_clip(store_t *s, struct store_recording *r, const char *container, size_t n, unsigned seed)
{
	char path[PATH_MAX];
	uint8_t *buf = malloc(n ? n : 1);
	int e;

	if (!buf)
		return -1;
	fx_bytes(buf, n, seed);
	e = store_clip_begin(s, r, container, path, sizeof(path));
	if (e == 0 && fx_write(path, buf, n) < 0)
		e = -1;
	if (e == 0)
		e = store_clip_end(s, r);
	free(buf);
	return e;
}

void *fx_json(const char *data, const char *id)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/recordings/%s/recording.json", check_path(data), id);
	return json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
}

int fx_exists(const char *path)
{
	return access(path, F_OK) == 0;
}
