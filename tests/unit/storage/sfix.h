/* sfix.h - what the storage tests share: image files made with truncate,
 * fixed test keys, cheap KDF costs (the defaults cost 1 GiB per try). */
#ifndef BWC_TEST_SFIX_H
#define BWC_TEST_SFIX_H

#include "hw/storage.h"

#include <stdint.h>

#define SFIX_PASS "correct horse battery staple"

extern const uint8_t sfix_key[64], sfix_key2[64], sfix_wrong[64];
extern const struct storage_opts sfix_opts;

/* A fresh image file of size bytes in the test's tmpdir; returns its path. */
const char *sfix_image(const char *name, uint64_t size);
/* Overwrites len bytes at off of path with pattern bytes; 0 on success. */
int sfix_scribble(const char *path, uint64_t off, size_t len, uint8_t pattern);

#endif
