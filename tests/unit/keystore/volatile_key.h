/* volatile_key.h - the checks of ks_create_ec_volatile that both keystore
 * backends must pass (tests/unit/certs for the file backend, tests/unit/tpm
 * for the TPM one). */
#ifndef BWC_TEST_VOLATILE_KEY_H
#define BWC_TEST_VOLATILE_KEY_H

#include "hw/keystore.h"

/* On ks (opened from spec, directory dir): a volatile key signs and its
 * signature verifies against the SPKI it came with; nothing of it is in the
 * directory; another handle on the same keystore cannot load it; a new key of
 * the same name is another key; bad arguments are refused. Prints each failed
 * expectation; returns how many failed. */
int volatile_key_failures(keystore_t *ks, const char *spec, const char *dir);

#endif
