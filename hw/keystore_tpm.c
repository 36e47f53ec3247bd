/* keystore_tpm.c - the "tpm" keystore backend: P-256 signing keys and sealed
 * secrets made inside a TPM 2.0 (tpm2-tss ESAPI); on disk only as TPM-wrapped
 * blobs. Library code: never logs (tpm2-tss itself may print to stderr;
 * TSS2_LOG=all+none silences it).
 *
 * Spec "tpm:<tcti>;dir=<path>": <tcti> goes to Tss2_TctiLdr_Initialize as is
 * (empty: its default); the last ";dir=" separates it from the directory.
 *
 * Nothing is persistent in the TPM. Every operation re-creates the primary
 * storage key (ECC P-256, AES-128-CFB, the usual SRK attributes) from the owner
 * hierarchy's seed - the same template always gives the same key - loads the
 * blob under it, uses it and flushes every transient object: a TPM without a
 * resource manager (swtpm, /dev/tpm0) keeps no leftovers. The owner hierarchy
 * authValue must be empty (the default of an unprovisioned TPM).
 *
 * Blob file <dir>/<name>.tpmkey (signing key) or <name>.tpmseal (sealed
 * data), 0600, written atomically: the 8-byte magic "BWCTPMK1"/"BWCTPMS1",
 * then TPM2B_PUBLIC and TPM2B_PRIVATE marshalled. The private part is
 * encrypted and integrity-protected by the TPM with a key derived from the
 * primary's seed: useless anywhere else, and a blob of another TPM fails to
 * load (KS_E_WRONG_TPM). Keys are fixedTPM, fixedParent, sensitiveDataOrigin:
 * the TPM generated them and refuses to export them.
 *
 * Lockout policy: signing keys and plain ks_seal objects have an empty
 * authValue and the noDA attribute, so normal operation never meets an auth
 * failure and never feeds the dictionary-attack counter. Only ks_seal_auth
 * objects (a secret that needs a human-held value) are DA-protected: a wrong
 * value is KS_E_AUTH, and when the TPM answers TPM_RC_LOCKOUT we return
 * KS_E_LOCKOUT. This code never retries an authorisation by itself.
 *
 * Signing: ks_load_signer gives an ecc_key carrying the key's name as its id
 * and the devId of this keystore's wolfCrypt crypto callback; wolfCrypt hands
 * every ECDSA sign to the callback, which loads the blob, signs the given
 * digest in the TPM and flushes. The key must be freed before ks_close.
 * ks_bind_tls gives the WOLFSSL_CTX the same devId and the key name as its
 * private key id, so TLS 1.3 CertificateVerify is signed the same way.
 * Open the keystore in the process that uses it (after any fork): the device
 * registration is per process.
 *
 * One TPM, several processes: tpm2-tss's swtpm TCTI connects for every
 * command, and a TPM without a resource manager (swtpm, /dev/tpm0) has only
 * a few object slots, shared by everyone. So every operation (its primary,
 * load, use and flush) runs under an exclusive flock(2) on <dir>/.tpm.lock,
 * opened at ks_open: the controller, its CA process, bwcctl and the forwarder
 * use one keystore directory and take turns. Under the lock, transient
 * objects still loaded were left by a client that died between load and
 * flush; they are flushed first (behind a resource manager, /dev/tpmrm0,
 * none are visible). Other TPM clients must not use the same TPM without
 * that lock.
 *
 * Private key bytes never exist outside the TPM: the TPM generates the
 * scalar and only TPM2_Sign uses it; this process sees public points,
 * digests and signatures. tests/unit/tpm checks that the blobs carry
 * fixedTPM|fixedParent|sensitiveDataOrigin and hold no plaintext of a sealed
 * secret. To check a running key owner (e.g. the controller's CA process)
 * for a sealed secret or a PEM key in memory: gcore -o /tmp/core <pid> (gdb,
 * as root; the process is not dumpable otherwise), then search the core for
 * the known secret bytes (grep -c -F -a, or memmem over the file) and for
 * "PRIVATE KEY"; unsealed secrets are wiped after use by the callers. */
#include "hw/keystore_impl.h"
#include "hw/keystore_files.h"

#include "certs/certs.h"
#include "shared/util.h"

#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/error-crypt.h>

#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_tctildr.h>

#include <wolfssl/wolfcrypt/wc_port.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_SUFFIX KST_KEY_SUFFIX
#define SEAL_SUFFIX KST_SEAL_SUFFIX
#define MAGIC_LEN 8
#define MAGIC_KEY "BWCTPMK1"
#define MAGIC_SEAL "BWCTPMS1"
#define BLOB_MAX (MAGIC_LEN + sizeof(TPM2B_PUBLIC) + sizeof(TPM2B_PRIVATE))
#define TCTI_MAX 256
#define KEEP_MAX 4
/* TPM2_TRANSIENT_FIRST shifts an int into its sign bit (UBSan): the value. */
#define TRANSIENT_FIRST 0x80000000u
#define DEVID_BASE 0x4b530000   /* our wolfCrypt device ids: base + n */
#define COORD 32                /* P-256 coordinate and digest size */

struct kstpm {
	char tcti[TCTI_MAX];
	char dir[PATH_MAX];
	TSS2_TCTI_CONTEXT *tcti_ctx;
	ESYS_CONTEXT *esys;
	pthread_mutex_t lock;   /* one operation (tpm_begin..tpm_end) at a time */
	int lock_fd;            /* <dir>/.tpm.lock: the same between processes */
	bool esys_stale;        /* a command failed below the TPM: new ESAPI context */
	bool per_op;            /* swtpm: connect for each operation (see above) */
	struct {                /* signing-key blobs kept by load_signer/bind_tls */
		char name[KS_NAME_MAX + 1];
		TPM2B_PUBLIC pub;
		TPM2B_PRIVATE priv;
	} kept[KEEP_MAX];
	int dev_id;
	bool wolfcrypt;         /* holds a wolfCrypt_Init reference */
};

static atomic_int next_dev_id;

/* Maps a tpm2-tss response code to a KS_E_* and records the detail. */
static int tpm_error(struct kstpm *t, const char *what, TSS2_RC rc)
{
	TSS2_RC layer = rc & TSS2_RC_LAYER_MASK;
	TSS2_RC code = rc & 0xfff;
	int r = KS_E_TPM;

	if (layer == TSS2_TPM_RC_LAYER) {
		if (code & TPM2_RC_FMT1)
			code &= TPM2_RC_FMT1 | 0x3f;   /* drop the handle/session/parameter number */
		if (code == TPM2_RC_AUTH_FAIL || code == TPM2_RC_BAD_AUTH)
			r = KS_E_AUTH;
		else if (code == TPM2_RC_LOCKOUT)
			r = KS_E_LOCKOUT;
		else if (code == TPM2_RC_INTEGRITY)
			r = KS_E_WRONG_TPM;
	} else if ((rc & 0xffff) == TSS2_BASE_RC_IO_ERROR ||
		   (rc & 0xffff) == TSS2_BASE_RC_NO_CONNECTION ||
		   (rc & 0xffff) == TSS2_BASE_RC_TRY_AGAIN) {
		r = KS_E_NO_TPM;
	}
	/* Not an answer of the TPM (the connection failed): ESAPI keeps the
	 * half-done command and refuses every later one; tpm_end starts afresh. */
	if (layer != TSS2_TPM_RC_LAYER)
		t->esys_stale = true;
	ks_set_detail("%s: TPM response 0x%x (TCTI \"%s\")", what, (unsigned)rc, t->tcti);
	return r;
}

static void flush(struct kstpm *t, ESYS_TR *obj)
{
	if (*obj != ESYS_TR_NONE)
		Esys_FlushContext(t->esys, *obj);
	*obj = ESYS_TR_NONE;
}

static void disconnect_tpm(struct kstpm *t)
{
	if (t->esys)
		Esys_Finalize(&t->esys);
	if (t->tcti_ctx)
		Tss2_TctiLdr_Finalize(&t->tcti_ctx);
}

/* Transient objects present when we connect were left by a dead client. */
static void flush_leftovers(struct kstpm *t)
{
	TPMS_CAPABILITY_DATA *cap = NULL;
	TPMI_YES_NO more = TPM2_NO;

	TSS2_RC rc;

	if (!t->esys)
		return;
	rc = Esys_GetCapability(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				TPM2_CAP_HANDLES, TRANSIENT_FIRST, TPM2_MAX_CAP_HANDLES,
				&more, &cap);
	if (rc != TSS2_RC_SUCCESS) {
		if ((rc & TSS2_RC_LAYER_MASK) != TSS2_TPM_RC_LAYER)
			t->esys_stale = true;
		return;
	}
	for (UINT32 i = 0; i < cap->data.handles.count; i++) {
		ESYS_TR obj = ESYS_TR_NONE;

		if (Esys_TR_FromTPMPublic(t->esys, cap->data.handles.handle[i], ESYS_TR_NONE,
					  ESYS_TR_NONE, ESYS_TR_NONE, &obj) == TSS2_RC_SUCCESS)
			flush(t, &obj);
	}
	Esys_Free(cap);
}

static int connect_tpm(struct kstpm *t)
{
	TSS2_RC rc = Tss2_TctiLdr_Initialize(t->tcti[0] ? t->tcti : NULL, &t->tcti_ctx);

	if (rc == TSS2_RC_SUCCESS)
		rc = Esys_Initialize(&t->esys, t->tcti_ctx, NULL);
	if (rc == TSS2_RC_SUCCESS)
		return KS_OK;
	ks_set_detail("no TPM reachable through TCTI \"%s\" (tpm2-tss 0x%x)", t->tcti,
		      (unsigned)rc);
	disconnect_tpm(t);
	return KS_E_NO_TPM;
}

/* Takes the keystore's locks (threads, then processes) and makes sure of a
 * connection; tpm_end releases them (and a per-operation connection). */
static int tpm_begin(struct kstpm *t)
{
	pthread_mutex_lock(&t->lock);
	while (flock(t->lock_fd, LOCK_EX) < 0 && errno == EINTR)
		;
	if (!t->esys && connect_tpm(t) != KS_OK) {
		flock(t->lock_fd, LOCK_UN);
		pthread_mutex_unlock(&t->lock);
		return KS_E_NO_TPM;
	}
	flush_leftovers(t);
	return KS_OK;
}

static void tpm_end(struct kstpm *t)
{
	if (t->per_op) {
		disconnect_tpm(t);
	} else if (t->esys_stale) {
		/* same device, fresh ESAPI state (the device may not reopen after
		 * the process dropped its privileges) */
		Esys_Finalize(&t->esys);
		if (Esys_Initialize(&t->esys, t->tcti_ctx, NULL) != TSS2_RC_SUCCESS)
			t->esys = NULL;
	}
	t->esys_stale = false;
	flock(t->lock_fd, LOCK_UN);
	pthread_mutex_unlock(&t->lock);
}

static int create_primary(struct kstpm *t, ESYS_TR *ret)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC pub = { .publicArea = {
		.type = TPM2_ALG_ECC,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT |
				    TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
				    TPMA_OBJECT_NODA,
		.parameters.eccDetail = {
			.symmetric = { .algorithm = TPM2_ALG_AES, .keyBits.aes = 128,
				       .mode.aes = TPM2_ALG_CFB },
			.scheme.scheme = TPM2_ALG_NULL,
			.curveID = TPM2_ECC_NIST_P256,
			.kdf.scheme = TPM2_ALG_NULL,
		},
	} };
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TSS2_RC rc;

	rc = Esys_CreatePrimary(t->esys, ESYS_TR_RH_OWNER, ESYS_TR_PASSWORD, ESYS_TR_NONE,
				ESYS_TR_NONE, &sens, &pub, &outside, &pcrs, ret, NULL, NULL, NULL,
				NULL);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(t, "creating the primary storage key", rc);
	return KS_OK;
}

static int blob_path(struct kstpm *t, const char *name, const char *suffix, char *out, size_t cap)
{
	int n;

	if (!t || !ks_name_ok(name))
		return KS_E_INPUT;
	n = snprintf(out, cap, "%s/%s%s", t->dir, name, suffix);
	return n < 0 || (size_t)n >= cap ? KS_E_INPUT : KS_OK;
}

static int save_blob(const char *path, const char *magic, const TPM2B_PUBLIC *pub,
		     const TPM2B_PRIVATE *priv)
{
	uint8_t buf[BLOB_MAX];
	size_t off = MAGIC_LEN;

	memcpy(buf, magic, MAGIC_LEN);
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Marshal(priv, buf, sizeof(buf), &off) != TSS2_RC_SUCCESS)
		return KS_E_CRYPTO;
	if (util_write_file_atomic(path, buf, off, 0600) < 0) {
		ks_set_detail("writing %s: %s", path, strerror(errno));
		return KS_E_IO;
	}
	return KS_OK;
}

static int read_blob(const char *path, const char *magic, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv)
{
	uint8_t *buf = NULL;
	size_t len = 0, off = MAGIC_LEN;
	int r;

	r = ks_read_file(path, BLOB_MAX, &buf, &len);
	if (r != KS_OK)
		return r;
	memset(pub, 0, sizeof(*pub));
	memset(priv, 0, sizeof(*priv));
	if (len < MAGIC_LEN || memcmp(buf, magic, MAGIC_LEN) != 0 ||
	    Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, pub) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPM2B_PRIVATE_Unmarshal(buf, len, &off, priv) != TSS2_RC_SUCCESS ||
	    off != len) {
		ks_set_detail("%s is not a keystore TPM blob of this kind", path);
		r = KS_E_CORRUPT;
	}
	free(buf);
	return r;
}

/* The blob of a signing key: the copy kept by ks_load_signer/ks_bind_tls (a
 * process that dropped privileges may no longer read the directory), else
 * the file. Called under t->lock. */
static int key_blob(struct kstpm *t, const char *name, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv)
{
	char path[PATH_MAX];
	int r;

	for (size_t i = 0; i < KEEP_MAX; i++) {
		if (strcmp(t->kept[i].name, name) == 0) {
			*pub = t->kept[i].pub;
			*priv = t->kept[i].priv;
			return KS_OK;
		}
	}
	r = blob_path(t, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	return read_blob(path, MAGIC_KEY, pub, priv);
}

/* Keeps name's blob for later signatures (the oldest kept one makes room). */
static void keep_blob(struct kstpm *t, const char *name, const TPM2B_PUBLIC *pub,
		      const TPM2B_PRIVATE *priv)
{
	size_t i;

	pthread_mutex_lock(&t->lock);
	for (i = 0; i < KEEP_MAX - 1 && t->kept[i].name[0] && strcmp(t->kept[i].name, name); i++)
		;
	if (strcmp(t->kept[i].name, name) != 0) {
		memmove(&t->kept[1], &t->kept[0], sizeof(t->kept[0]) * (KEEP_MAX - 1));
		i = 0;
	}
	snprintf(t->kept[i].name, sizeof(t->kept[i].name), "%s", name);
	t->kept[i].pub = *pub;
	t->kept[i].priv = *priv;
	pthread_mutex_unlock(&t->lock);
}

/* Drops a kept blob (the key was destroyed or renamed). */
static void forget_blob(struct kstpm *t, const char *name)
{
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < KEEP_MAX; i++)
		if (strcmp(t->kept[i].name, name) == 0)
			memset(&t->kept[i], 0, sizeof(t->kept[i]));
	pthread_mutex_unlock(&t->lock);
}

/* Loads a blob under a fresh primary (flushed at once); *ret to flush. */
static int load_pair(struct kstpm *t, TPM2B_PUBLIC *pub, TPM2B_PRIVATE *priv, ESYS_TR *ret)
{
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = create_primary(t, &primary);
	if (r != KS_OK)
		return r;
	rc = Esys_Load(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, priv,
		       pub, ret);
	flush(t, &primary);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(t, "loading the blob", rc);
	return KS_OK;
}

static int load_blob(struct kstpm *t, const char *path, const char *magic, ESYS_TR *ret)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	int r;

	r = read_blob(path, magic, &pub, &priv);
	if (r != KS_OK)
		return r;
	return load_pair(t, &pub, &priv, ret);
}

/* Creates an object from template under a fresh primary and saves its blob
 * at path, or with path NULL only hands it back (*ret_priv, Esys_Free). */
static int create_object(struct kstpm *t, const char *path, const char *magic,
			 TPM2B_SENSITIVE_CREATE *sens, const TPM2B_PUBLIC *tmpl,
			 TPM2B_PUBLIC **ret_pub, TPM2B_PRIVATE **ret_priv)
{
	TPM2B_DATA outside = { 0 };
	TPML_PCR_SELECTION pcrs = { 0 };
	TPM2B_PRIVATE *priv = NULL;
	TPM2B_PUBLIC *pub = NULL;
	ESYS_TR primary = ESYS_TR_NONE;
	TSS2_RC rc;
	int r;

	r = create_primary(t, &primary);
	if (r != KS_OK)
		return r;
	rc = Esys_Create(t->esys, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, sens,
			 tmpl, &outside, &pcrs, &priv, &pub, NULL, NULL, NULL);
	flush(t, &primary);
	if (rc != TSS2_RC_SUCCESS)
		return tpm_error(t, "creating the object", rc);
	r = path ? save_blob(path, magic, pub, priv) : KS_OK;
	if (r == KS_OK && ret_priv)
		*ret_priv = priv;
	else
		Esys_Free(priv);
	if (r == KS_OK && ret_pub)
		*ret_pub = pub;
	else
		Esys_Free(pub);
	return r;
}

/* ecc_key with the public point of pub (left-padded coordinates). */
static int import_point(const TPM2B_PUBLIC *pub, ecc_key *key)
{
	const TPMS_ECC_POINT *q = &pub->publicArea.unique.ecc;
	uint8_t x[COORD] = { 0 }, y[COORD] = { 0 };

	if (pub->publicArea.type != TPM2_ALG_ECC ||
	    pub->publicArea.parameters.eccDetail.curveID != TPM2_ECC_NIST_P256 ||
	    q->x.size > COORD || q->y.size > COORD)
		return KS_E_CORRUPT;
	memcpy(x + COORD - q->x.size, q->x.buffer, q->x.size);
	memcpy(y + COORD - q->y.size, q->y.buffer, q->y.size);
	return wc_ecc_import_unsigned(key, x, y, NULL, ECC_SECP256R1) == 0 ? KS_OK : KS_E_CORRUPT;
}

static int pub_to_spki(const TPM2B_PUBLIC *pub, uint8_t *spki, size_t cap, size_t *ret_len)
{
	uint8_t buf[CERTS_MAX_SPKI];
	ecc_key key;
	size_t n;
	int r;

	if (wc_ecc_init(&key) != 0)
		return KS_E_CRYPTO;
	r = import_point(pub, &key);
	if (r == KS_OK && certs_ec_spki(&key, buf, sizeof(buf), &n) != CERTS_OK)
		r = KS_E_CRYPTO;
	wc_ecc_free(&key);
	if (r != KS_OK)
		return r;
	if (n > cap)
		return KS_E_INPUT;
	memcpy(spki, buf, n);
	*ret_len = n;
	return KS_OK;
}

/* Signs a digest (normalised to 32 bytes as ECDSA would) with key name. */
static int tpm_sign(struct kstpm *t, const char *name, const uint8_t *in, size_t inlen,
		    uint8_t *out, word32 *outlen)
{
	TPMT_SIG_SCHEME scheme = { .scheme = TPM2_ALG_ECDSA,
				   .details.ecdsa.hashAlg = TPM2_ALG_SHA256 };
	TPMT_TK_HASHCHECK ticket = { .tag = TPM2_ST_HASHCHECK, .hierarchy = TPM2_RH_NULL };
	TPM2B_DIGEST digest = { .size = COORD };
	TPMT_SIGNATURE *sig = NULL;
	ESYS_TR obj = ESYS_TR_NONE;
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	TSS2_RC rc;
	int r;

	/* Leftmost 256 bits of a longer hash; a shorter one keeps its value. */
	if (inlen >= COORD)
		memcpy(digest.buffer, in, COORD);
	else
		memcpy(digest.buffer + COORD - inlen, in, inlen);
	r = tpm_begin(t);
	if (r != KS_OK)
		return r;
	r = key_blob(t, name, &pub, &priv);
	if (r == KS_OK)
		r = load_pair(t, &pub, &priv, &obj);
	if (r == KS_OK) {
		rc = Esys_Sign(t->esys, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
			       &digest, &scheme, &ticket, &sig);
		if (rc != TSS2_RC_SUCCESS)
			r = tpm_error(t, "signing", rc);
		flush(t, &obj);
	}
	tpm_end(t);
	if (r != KS_OK)
		return r;
	if (wc_ecc_rs_raw_to_sig(sig->signature.ecdsa.signatureR.buffer,
				 sig->signature.ecdsa.signatureR.size,
				 sig->signature.ecdsa.signatureS.buffer,
				 sig->signature.ecdsa.signatureS.size, out, outlen) != 0)
		r = KS_E_CRYPTO;
	Esys_Free(sig);
	return r;
}

static int crypto_cb(int dev_id, wc_CryptoInfo *info, void *ctx)
{
	struct kstpm *t = ctx;
	char name[KS_NAME_MAX + 1];
	ecc_key *key;

	if (info->algo_type != WC_ALGO_TYPE_PK || info->pk.type != WC_PK_TYPE_ECDSA_SIGN)
		return CRYPTOCB_UNAVAILABLE;
	key = info->pk.eccsign.key;
	/* Never let wolfCrypt fall back to software: it has no private key. */
	if (!key || key->idLen <= 0 || key->idLen > KS_NAME_MAX)
		return BAD_FUNC_ARG;
	memcpy(name, key->id, (size_t)key->idLen);
	name[key->idLen] = '\0';
	return tpm_sign(t, name, info->pk.eccsign.in, info->pk.eccsign.inlen,
			info->pk.eccsign.out, info->pk.eccsign.outlen) == KS_OK ? 0 : WC_HW_E;
}

/* A TPM that was never started (TPM_RC_INITIALIZE) gets TPM2_Startup. */
static int probe(struct kstpm *t)
{
	TPM2B_DIGEST *rnd = NULL;
	TSS2_RC rc;

	rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 1, &rnd);
	if ((rc & 0xfff) == TPM2_RC_INITIALIZE &&
	    Esys_Startup(t->esys, TPM2_SU_CLEAR) == TSS2_RC_SUCCESS)
		rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, 1, &rnd);
	Esys_Free(rnd);
	if (rc == TSS2_RC_SUCCESS)
		return KS_OK;
	tpm_error(t, "first command", rc);
	ks_set_detail("no TPM answers through TCTI \"%s\" (TPM response 0x%x)", t->tcti,
		      (unsigned)rc);
	return KS_E_NO_TPM;
}

static int parse_spec(struct kstpm *t, const char *spec)
{
	const char *sep = NULL, *p;
	size_t n;

	for (p = strstr(spec, ";dir="); p; p = strstr(p + 1, ";dir="))
		sep = p;
	if (!sep || (size_t)(sep - spec) >= sizeof(t->tcti))
		return KS_E_INPUT;
	memcpy(t->tcti, spec, (size_t)(sep - spec));
	t->tcti[sep - spec] = '\0';
	p = sep + strlen(";dir=");
	n = strnlen(p, PATH_MAX);
	/* Room for "/<name>.tpmseal" after the directory. */
	if (n == 0 || n + 2 + KS_NAME_MAX + sizeof(SEAL_SUFFIX) > PATH_MAX)
		return KS_E_INPUT;
	memcpy(t->dir, p, n + 1);
	return KS_OK;
}

void kstpm_close(struct kstpm *t)
{
	if (!t)
		return;
	if (t->dev_id)
		wc_CryptoCb_UnRegisterDevice(t->dev_id);
	if (t->wolfcrypt)
		wolfCrypt_Cleanup();
	disconnect_tpm(t);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

int kstpm_open(const char *spec, struct kstpm **ret)
{
	struct kstpm *t;
	char lock[PATH_MAX + 16];
	struct stat st;
	int r;

	t = calloc(1, sizeof(*t));
	if (!t)
		return KS_E_NOMEM;
	t->lock_fd = -1;
	pthread_mutex_init(&t->lock, NULL);
	r = parse_spec(t, spec);
	if (r != KS_OK)
		goto fail;
	if (util_mkdir_p(t->dir, 0700) < 0 || stat(t->dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		ks_set_detail("keystore directory %s: %s", t->dir, strerror(errno));
		r = KS_E_IO;
		goto fail;
	}
	snprintf(lock, sizeof(lock), "%s/.tpm.lock", t->dir);
	t->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (t->lock_fd < 0) {
		ks_set_detail("keystore lock %s: %s", lock, strerror(errno));
		r = KS_E_IO;
		goto fail;
	}
	/* tpm2-tss's swtpm TCTI keeps its socket until the next command, and
	 * swtpm serves one socket at a time: with swtpm, connect per operation.
	 * A device (/dev/tpmrm0) stays open, also after privileges are dropped. */
	t->per_op = strncmp(t->tcti, "swtpm", 5) == 0;
	if (!t->per_op) {
		while (flock(t->lock_fd, LOCK_EX) < 0 && errno == EINTR)
			;
		r = connect_tpm(t);
		flock(t->lock_fd, LOCK_UN);
		if (r != KS_OK)
			goto fail;
	}
	r = tpm_begin(t);
	if (r != KS_OK)
		goto fail;
	r = probe(t);
	tpm_end(t);
	if (r != KS_OK)
		goto fail;
	/* The device table exists only after wolfCrypt_Init (reference counted). */
	if (wolfCrypt_Init() != 0) {
		r = KS_E_CRYPTO;
		goto fail;
	}
	t->wolfcrypt = true;
	t->dev_id = DEVID_BASE + atomic_fetch_add(&next_dev_id, 1) % 0xffff;
	if (wc_CryptoCb_RegisterDevice(t->dev_id, crypto_cb, t) != 0) {
		t->dev_id = 0;
		ks_set_detail("no free wolfCrypt crypto-callback slot (too many open TPM keystores)");
		r = KS_E_CRYPTO;
		goto fail;
	}
	*ret = t;
	return KS_OK;
fail:
	kstpm_close(t);
	return r;
}

int kstpm_exists(struct kstpm *t, const char *name)
{
	char path[PATH_MAX];
	struct stat st;
	int r;

	r = blob_path(t, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	if (lstat(path, &st) == 0)
		return 1;
	return errno == ENOENT ? 0 : KS_E_IO;
}

/* A P-256 ECDSA-SHA256 signing key generated in the TPM, bound to it. */
static const TPM2B_PUBLIC ec_template = { .publicArea = {
	.type = TPM2_ALG_ECC,
	.nameAlg = TPM2_ALG_SHA256,
	.objectAttributes = TPMA_OBJECT_SIGN_ENCRYPT | TPMA_OBJECT_FIXEDTPM |
			    TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
			    TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_NODA,
	.parameters.eccDetail = {
		.symmetric.algorithm = TPM2_ALG_NULL,
		.scheme = { .scheme = TPM2_ALG_ECDSA,
			    .details.ecdsa.hashAlg = TPM2_ALG_SHA256 },
		.curveID = TPM2_ECC_NIST_P256,
		.kdf.scheme = TPM2_ALG_NULL,
	},
} };

int kstpm_create_ec(struct kstpm *t, const char *name, uint8_t *spki, size_t cap,
		    size_t *ret_len)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC *pub = NULL;
	char path[PATH_MAX];
	int r;

	if (!spki || cap == 0 || !ret_len)
		return KS_E_INPUT;
	r = kstpm_exists(t, name);
	if (r != 0)
		return r == 1 ? KS_E_EXISTS : r;
	r = blob_path(t, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	r = tpm_begin(t);
	if (r != KS_OK)
		return r;
	r = create_object(t, path, MAGIC_KEY, &sens, &ec_template, &pub, NULL);
	tpm_end(t);
	if (r != KS_OK)
		return r;
	r = pub_to_spki(pub, spki, cap, ret_len);
	Esys_Free(pub);
	return r;
}

/* An ecc_key for name whose signatures go to the TPM (crypto_cb). */
static int signer_key(struct kstpm *t, const char *name, const TPM2B_PUBLIC *pub, ecc_key *key)
{
	size_t n = strlen(name);
	int r;

	if (wc_ecc_init_id(key, (unsigned char *)name, (int)n, NULL, t->dev_id) != 0)
		return KS_E_CRYPTO;
	r = import_point(pub, key);
	if (r != KS_OK) {
		wc_ecc_free(key);
		return r;
	}
	/* The import must not have reset what routes signing to the TPM. */
	memcpy(key->id, name, n);
	key->idLen = (int)n;
	key->devId = t->dev_id;
	return KS_OK;
}

int kstpm_create_ec_volatile(struct kstpm *t, const char *name, ecc_key *key, uint8_t *spki,
			     size_t cap, size_t *ret_len)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC *pub = NULL;
	TPM2B_PRIVATE *priv = NULL;
	int r;

	if (!ks_name_ok(name) || !key || !spki || cap == 0 || !ret_len)
		return KS_E_INPUT;
	r = tpm_begin(t);
	if (r != KS_OK)
		return r;
	r = create_object(t, NULL, MAGIC_KEY, &sens, &ec_template, &pub, &priv);
	tpm_end(t);
	if (r != KS_OK)
		return r;
	keep_blob(t, name, pub, priv);
	Esys_Free(priv);
	r = pub_to_spki(pub, spki, cap, ret_len);
	if (r == KS_OK)
		r = signer_key(t, name, pub, key);
	Esys_Free(pub);
	if (r != KS_OK)
		forget_blob(t, name);
	return r;
}

int kstpm_public_spki(struct kstpm *t, const char *name, uint8_t *spki, size_t cap,
		      size_t *ret_len)
{
	TPM2B_PUBLIC pub;
	TPM2B_PRIVATE priv;
	char path[PATH_MAX];
	int r;

	if (!spki || cap == 0 || !ret_len)
		return KS_E_INPUT;
	r = blob_path(t, name, KEY_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	r = read_blob(path, MAGIC_KEY, &pub, &priv);
	if (r != KS_OK)
		return r;
	return pub_to_spki(&pub, spki, cap, ret_len);
}

int kstpm_rename(struct kstpm *t, const char *from, const char *to)
{
	char src[PATH_MAX], dst[PATH_MAX];
	int r;

	if ((r = blob_path(t, from, KEY_SUFFIX, src, sizeof(src))) != KS_OK ||
	    (r = blob_path(t, to, KEY_SUFFIX, dst, sizeof(dst))) != KS_OK)
		return r;
	if (access(src, F_OK) < 0)
		return errno == ENOENT ? KS_E_NOT_FOUND : KS_E_IO;
	if (strcmp(from, to) == 0)
		return KS_OK;
	/* The replaced blob needs no wiping: it is TPM-encrypted. */
	if (rename(src, dst) < 0 || util_fsync_parent(dst) < 0)
		return KS_E_IO;
	forget_blob(t, from);
	forget_blob(t, to);
	return KS_OK;
}

static int remove_blob(struct kstpm *t, const char *name, const char *suffix)
{
	char path[PATH_MAX];
	int r;

	r = blob_path(t, name, suffix, path, sizeof(path));
	if (r != KS_OK)
		return r;
	if (unlink(path) < 0)
		return errno == ENOENT ? KS_OK : KS_E_IO;
	return util_fsync_parent(path) < 0 ? KS_E_IO : KS_OK;
}

int kstpm_destroy(struct kstpm *t, const char *name)
{
	if (ks_name_ok(name))
		forget_blob(t, name);
	return remove_blob(t, name, KEY_SUFFIX);
}

int kstpm_unseal_destroy(struct kstpm *t, const char *name)
{
	return remove_blob(t, name, SEAL_SUFFIX);
}

/* Reads name's stored blob and keeps it for the signatures to come. */
static int keep_stored_key(struct kstpm *t, const char *name, TPM2B_PUBLIC *pub)
{
	TPM2B_PRIVATE priv;
	char path[PATH_MAX];
	int r;

	r = blob_path(t, name, KEY_SUFFIX, path, sizeof(path));
	if (r == KS_OK)
		r = read_blob(path, MAGIC_KEY, pub, &priv);
	if (r == KS_OK)
		keep_blob(t, name, pub, &priv);
	return r;
}

int kstpm_load_signer(struct kstpm *t, const char *name, ecc_key *key)
{
	TPM2B_PUBLIC pub;
	int r;

	if (!key)
		return KS_E_INPUT;
	r = keep_stored_key(t, name, &pub);
	return r == KS_OK ? signer_key(t, name, &pub, key) : r;
}

int kstpm_bind_tls(struct kstpm *t, const char *name, WOLFSSL_CTX *ctx)
{
	TPM2B_PUBLIC pub;
	int r;

	if (!ctx)
		return KS_E_INPUT;
	r = keep_stored_key(t, name, &pub);
	if (r != KS_OK)
		return r;
	if (wolfSSL_CTX_SetDevId(ctx, t->dev_id) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_id(ctx, (const unsigned char *)name, (long)strlen(name),
					  t->dev_id, COORD) != WOLFSSL_SUCCESS)
		return KS_E_CRYPTO;
	return KS_OK;
}

int kstpm_seal(struct kstpm *t, const char *name, const uint8_t *secret, size_t len,
	       const uint8_t *auth, size_t auth_len)
{
	TPM2B_SENSITIVE_CREATE sens = { 0 };
	TPM2B_PUBLIC tmpl = { .publicArea = {
		.type = TPM2_ALG_KEYEDHASH,
		.nameAlg = TPM2_ALG_SHA256,
		.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
				    TPMA_OBJECT_USERWITHAUTH | (auth_len ? 0 : TPMA_OBJECT_NODA),
		.parameters.keyedHashDetail.scheme.scheme = TPM2_ALG_NULL,
	} };
	char path[PATH_MAX];
	int r;

	if (!secret || len == 0 || len > KS_SEAL_MAX || len > sizeof(sens.sensitive.data.buffer) ||
	    auth_len > sizeof(sens.sensitive.userAuth.buffer))
		return KS_E_INPUT;
	r = blob_path(t, name, SEAL_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	memcpy(sens.sensitive.data.buffer, secret, len);
	sens.sensitive.data.size = (UINT16)len;
	if (auth_len)
		memcpy(sens.sensitive.userAuth.buffer, auth, auth_len);
	sens.sensitive.userAuth.size = (UINT16)auth_len;
	r = tpm_begin(t);
	if (r != KS_OK)
		return r;
	r = create_object(t, path, MAGIC_SEAL, &sens, &tmpl, NULL, NULL);
	tpm_end(t);
	explicit_bzero(&sens, sizeof(sens));
	return r;
}

int kstpm_unseal(struct kstpm *t, const char *name, const uint8_t *auth, size_t auth_len,
		 uint8_t *out, size_t cap, size_t *ret_len)
{
	TPM2B_SENSITIVE_DATA *data = NULL;
	TPM2B_AUTH value = { .size = (UINT16)auth_len };
	ESYS_TR obj = ESYS_TR_NONE;
	char path[PATH_MAX];
	TSS2_RC rc;
	int r;

	if (!out || !ret_len || auth_len > sizeof(value.buffer))
		return KS_E_INPUT;
	r = blob_path(t, name, SEAL_SUFFIX, path, sizeof(path));
	if (r != KS_OK)
		return r;
	if (auth_len)
		memcpy(value.buffer, auth, auth_len);
	r = tpm_begin(t);
	if (r != KS_OK)
		return r;
	r = load_blob(t, path, MAGIC_SEAL, &obj);
	if (r == KS_OK) {
		rc = Esys_TR_SetAuth(t->esys, obj, &value);
		if (rc == TSS2_RC_SUCCESS)
			rc = Esys_Unseal(t->esys, obj, ESYS_TR_PASSWORD, ESYS_TR_NONE,
					 ESYS_TR_NONE, &data);
		if (rc != TSS2_RC_SUCCESS)
			r = tpm_error(t, "unsealing", rc);
		flush(t, &obj);
	}
	tpm_end(t);
	explicit_bzero(&value, sizeof(value));
	if (r != KS_OK)
		return r;
	if (data->size > cap) {
		r = KS_E_INPUT;
	} else {
		memcpy(out, data->buffer, data->size);
		*ret_len = data->size;
	}
	explicit_bzero(data, sizeof(*data));
	Esys_Free(data);
	return r;
}

int kstpm_random(struct kstpm *t, uint8_t *out, size_t len)
{
	TPM2B_DIGEST *rnd = NULL;
	size_t done = 0;
	TSS2_RC rc;
	int r = KS_OK;

	if (!t)
		return KS_E_INPUT;
	r = tpm_begin(t);
	if (r != KS_OK)
		return r;
	while (done < len && r == KS_OK) {
		size_t want = len - done > COORD ? COORD : len - done;

		rc = Esys_GetRandom(t->esys, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE,
				    (UINT16)want, &rnd);
		if (rc != TSS2_RC_SUCCESS) {
			r = tpm_error(t, "getting random bytes", rc);
		} else if (rnd->size == 0 || rnd->size > want) {
			r = KS_E_TPM;
		} else {
			memcpy(out + done, rnd->buffer, rnd->size);
			done += rnd->size;
		}
		Esys_Free(rnd);
		rnd = NULL;
	}
	tpm_end(t);
	return r;
}
