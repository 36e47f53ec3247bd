/* keystore_files.h - the names of what the keystore backends store in their
 * directory, <dir>/<name><suffix>: one list, so that operations on the stored
 * form of any backend (ks_restrict) cannot miss one. Internal to hw/. */
#ifndef BWC_KEYSTORE_FILES_H
#define BWC_KEYSTORE_FILES_H

#define KSF_KEY_SUFFIX ".key"           /* file backend: the PEM private key */
#define KSF_OLD_SUFFIX ".key.old"       /* file backend: a replaced key, until wiped */
#define KSF_SEAL_SUFFIX ".sealed"       /* file backend: a sealed secret (plain) */
#define KST_KEY_SUFFIX ".tpmkey"        /* TPM backend: a TPM-wrapped key blob */
#define KST_SEAL_SUFFIX ".tpmseal"      /* TPM backend: a TPM-sealed secret */
#define KS_STORED_SUFFIXES \
	{ KSF_KEY_SUFFIX, KSF_OLD_SUFFIX, KSF_SEAL_SUFFIX, KST_KEY_SUFFIX, KST_SEAL_SUFFIX }

#endif
