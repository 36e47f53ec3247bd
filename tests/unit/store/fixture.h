/* fixture.h - helpers of the store unit tests: a store in the scratch
 * directory, a filled-in recording, clips of known bytes and their SHA-256. */
#ifndef BWC_TEST_STORE_FIXTURE_H
#define BWC_TEST_STORE_FIXTURE_H

#include "bwc/store.h"

#include <stddef.h>
#include <stdint.h>

/* Opens (creating) the store DATA = <scratch>/name. Exits on failure. */
store_t *fx_open(const char *name);
/* Serial, model, firmware, user, timezone and a trigger-on with a location. */
void fx_fill(struct store_recording *r);
/* n bytes derived from seed. */
void fx_bytes(uint8_t *buf, size_t n, unsigned seed);
void fx_sha256(const uint8_t *buf, size_t n, uint8_t out[32]);
/* Writes n bytes to path (truncating). Returns 0 or -1. */
int fx_write(const char *path, const uint8_t *buf, size_t n);
/* One whole clip of n bytes (seed): begin, write, end. Returns the store's code. */
int fx_clip(store_t *s, struct store_recording *r, const char *container, size_t n, unsigned seed);
/* Parses DATA/recordings/<id>/recording.json; NULL if missing or not JSON. */
void *fx_json(const char *data, const char *id);
/* Whether path exists. */
int fx_exists(const char *path);

#endif
