/* store.h - the camera's recording store on its data volume. A recording
 * (one TriggerOn..TriggerOff) is a directory holding recording.json (the
 * metadata evidence systems consume) and its clips. Every change is
 * crash-safe: temp file, fsync, rename, directory fsync. A clip torn by a
 * crash or power loss is kept and flagged incomplete, never dropped.
 *
 * Layout:  DATA/recordings/<recording_id>/recording.json
 *                                         /clip-0001.mkv   (complete clips)
 *                                         /clip-0002.mkv.part (being written)
 *                                         /video-signing.pem (signing key's certificate)
 *          DATA/receipts.log  (JSON lines: every receipt, fsync'd before the clip is deleted)
 *
 * Two processes use it: the recorder (bwc-record) writes, the daemon (bwc)
 * offloads and deletes. recording.json is updated under flock(DATA/.lock). */
#ifndef BWC_STORE_H
#define BWC_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_ID_LEN 36          /* recording id: lower-case UUID v4 text */
#define STORE_CLIP_ID_LEN 4      /* "0001".."9999" */
#define STORE_MAX_CLIPS 9999
#define STORE_TEXT_MAX 64
#define STORE_KEY_OBJECT_MAX 2048  /* JSON key object of an encrypted clip */

typedef struct store store_t;

struct store_place {             /* where and why recording started/stopped */
	char reason[STORE_TEXT_MAX]; /* e.g. "button", "holster", "low-battery" */
	time_t time;                 /* 0 = not yet (trigger off of an open recording) */
	int has_location;
	double latitude, longitude;
};

struct store_clip {
	char clip_id[STORE_CLIP_ID_LEN + 1];
	char container[8];           /* "mkv" | "mp4" */
	time_t start, stop;
	uint64_t size;
	uint8_t sha256[32];
	int complete;                /* 0: torn (crash/power loss), flagged, still offloaded */
	int receipted;               /* the controller's receipt is in receipts.log; file deleted */
	/* Encrypted in the camera for the content destination (size and sha256
	 * above are then those of the ciphertext). */
	int encrypted;
	uint8_t plain_sha256[32];
	char key_object[STORE_KEY_OBJECT_MAX];   /* {"EncryptedKey","ContentEncryptionIV","PublicKeyId"} */
};

struct store_recording {
	char id[STORE_ID_LEN + 1];
	char serial[STORE_TEXT_MAX], model[STORE_TEXT_MAX], firmware[STORE_TEXT_MAX];
	char user_id[STORE_TEXT_MAX];
	char timezone[STORE_TEXT_MAX];   /* IANA name, e.g. "Europe/Stockholm" */
	struct store_place trigger_on, trigger_off;
	time_t start, stop;              /* stop 0 while recording */
	int closed;                      /* TriggerOff written: no more clips */
	size_t n_clips;
	struct store_clip *clips;        /* owned; freed by store_recording_free */
	size_t n_bookmarks;              /* bookmarks and GNSS trail are kept as JSON */
	char *extra_json;                /* {"gnss":[...],"bookmarks":[...]} or NULL; owned */
	char *signing_cert;              /* base64 DER of the video-signing certificate
					  * ("signing_cert"), or NULL; owned */
};

int store_open(const char *data_dir, store_t **ret);
void store_close(store_t *s);

/* ---- recorder side ---- */
/* Starts a recording; fills r->id (new UUID), r->start. */
int store_recording_begin(store_t *s, struct store_recording *r);
/* Opens the next clip for writing: *ret_path is the .part path (caller writes
 * it with any writer, e.g. libavformat) and the clip is locked as "being
 * written" until store_clip_end. */
int store_clip_begin(store_t *s, struct store_recording *r, const char *container,
		     char *ret_path, size_t cap);
/* fsync, SHA-256, rename to the final name, record size/hash in recording.json. */
int store_clip_end(store_t *s, struct store_recording *r);
/* The certificate of the camera's video-signing key (PEM), kept beside the
 * clips as STORE_SIGNING_CERT and in recording.json ("signing_cert", base64
 * DER), which travels with the recording to the controller and the
 * destination: a verifier ties the key that signed the video
 * (signed-video/FORMAT.md) to the camera and its manufacturer. */
#define STORE_SIGNING_CERT "video-signing.pem"
#define STORE_CERT_DER_MAX 4096
int store_save_signing_cert(store_t *s, struct store_recording *r, const char *pem, size_t len);
/* TriggerOff: closes the recording. */
int store_recording_end(store_t *s, struct store_recording *r, const struct store_place *off);

/* The content destination's RSA public key (DER) and its id: from now on
 * every clip is encrypted for it when it ends (envelope.h); NULL clears. */
int store_set_destination_key(store_t *s, const uint8_t *der, size_t len, const char *key_id);

/* DATA/destination-key.json: written by the daemon when the controller hands
 * over the destination key at docking (der NULL removes it), read by the
 * recorder and the daemon, which then call store_set_destination_key. */
int store_save_destination_key(store_t *s, const uint8_t *der, size_t len, const char *key_id);
/* 0 with the key set, -ENOENT when there is none (clips stay plaintext). */
int store_load_destination_key(store_t *s);

/* ---- daemon side ---- */
/* Finds clips left as .part by a recorder that is gone (lock free), hashes
 * what is there, renames them to final names flagged incomplete, and closes
 * recordings whose recorder died. Returns how many clips were recovered. */
int store_recover(store_t *s);
/* Recording ids, oldest first (by start time, then id). *ret is malloc'd. */
int store_list(store_t *s, char (**ret)[STORE_ID_LEN + 1], size_t *ret_n);
int store_load(store_t *s, const char *id, struct store_recording *ret);
void store_recording_free(struct store_recording *r);
/* The metadata document sent to the controller (PROTOCOL.md §9), malloc'd. */
int store_recording_json(const struct store_recording *r, char **ret);
/* Path of a complete (or flagged) clip file, for reading. */
int store_clip_path(store_t *s, const char *id, const char *clip_id, char *out, size_t cap);
/* Appends the receipt (a JSON object text, one line) to receipts.log with
 * fsync, then deletes the clip file and marks it receipted. When a closed
 * recording has every clip receipted, its directory is removed. */
int store_clip_receipted(store_t *s, const char *id, const char *clip_id, const char *receipt_json);

#endif
