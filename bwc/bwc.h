/* bwc.h - the camera daemon: a client only. It waits for a dock, finds the
 * controller from the router advertisements of the dock link, connects with
 * mutual TLS 1.3 pinned to its system, and renews its certificate. */
#ifndef BWC_BWC_H
#define BWC_BWC_H

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "certs/certs.h"
#include "dock-protocol/dock.h"
#include "hw/keystore.h"
#include "bwc/store.h"

struct doclink;

struct bwc_config {
	char state_dir[PATH_MAX];
	char keystore[PATH_MAX];
	char model[DOCK_TEXT_MAX];
	char firmware[DOCK_TEXT_MAX];
	char interface[IF_NAMESIZE];
	int port;
	int connect_timeout_ms;
	int io_timeout_ms;
	int discovery_timeout_ms;
	char data_dir[PATH_MAX];      /* recording store (the camera's data volume) */
	int allow_unencrypted;        /* development: data_dir not on dm-crypt */
	int chunk_kib;                /* offload chunk size */
	char controller[64];          /* optional fixed controller address (no discovery) */
	struct in6_addr controller_addr;
};

int bwc_config_load(const char *path, struct bwc_config *ret, char *why, size_t whylen);
void bwc_config_print(const struct bwc_config *c, FILE *out);
/* Recordings only on an encrypted volume (dm-crypt LUKS2), or - development,
 * said loudly - where [camera] allow_unencrypted = true. prog names the
 * caller in messages. 0 or -EPERM/-EIO after saying why on stderr. */
int bwc_check_storage(const struct bwc_config *c, const char *prog);

/* What the camera knows about the system it belongs to (state/system.json). */
struct bwc_system {
	int enrolled;
	char system_id[DOCK_TEXT_MAX];
	uint8_t ca[DOCK_MAX_CA][DOCK_MAX_DER];
	size_t ca_len[DOCK_MAX_CA];
	size_t n_ca;
	uint8_t pins[DOCK_MAX_PINS][32];
	size_t n_pins;
};

/* identity.c: the device's keys and certificates. */
struct bwc_identity {
	struct bwc_config *cfg;
	keystore_t *ks;
	char serial[CERTS_SERIAL_MAX + 1];
	uint8_t idevid[DOCK_MAX_DER];       /* factory certificate */
	size_t idevid_len;
	uint8_t ldevid[DOCK_MAX_DER];       /* system certificate (if enrolled) */
	size_t ldevid_len;
	struct cert_info ldevid_info;
	struct bwc_system sys;
};

int identity_load(struct bwc_identity *id, struct bwc_config *cfg);
void identity_free(struct bwc_identity *id);
/* Makes key "ldevid.next" and a CSR for it. */
int identity_prepare_renewal(struct bwc_identity *id, uint8_t *csr, size_t cap, size_t *ret_len);
/* Checks an answer from the controller and switches to the new certificate.
 * server_der: the controller's TLS certificate of this session. */
int identity_commit(struct bwc_identity *id, const struct dock_cert_resp *resp,
		    const uint8_t *server_der, size_t server_len, char *why, size_t whylen);
/* Drops a half-done renewal (key without certificate). */
void identity_abort_renewal(struct bwc_identity *id);
/* Factory default: forget the system (pins, LDevID key and certificate). The
 * factory identity stays. Recordings go with the data volume's crypto-erase. */
int identity_factory_reset(struct bwc_identity *id);
/* Is cert_der issued by a CA whose SPKI is pinned? */
int identity_pinned(const struct bwc_system *sys, const uint8_t *der, size_t len);

/* receipt.c: 0 when rc is the pinned system's receipt for exactly this clip;
 * -EBADMSG (another clip, recording, camera, system, size or hash) or -EPERM
 * (signer not of the pinned system, bad signature), why says which. */
int receipt_check(const struct bwc_system *sys, const char *serial, const char *recording_id,
		  const char *clip_id, uint64_t size, const uint8_t sha256[32],
		  const struct dock_receipt *rc, char *why, size_t whylen);

/* discover.c: controller candidates = default routers learnt on the dock link. */
int discover_routers(const char *ifname, struct in6_addr *out, int max);

/* uplink.c: one TLS session with a controller. */
enum uplink_result {
	UPLINK_OK = 0,
	UPLINK_CONNECT_FAILED = -1,
	UPLINK_TLS_FAILED = -2,      /* handshake failed or controller not pinned */
	UPLINK_IO_FAILED = -3,
	UPLINK_PROTOCOL = -4,        /* answer malformed */
	UPLINK_STOPPED = -5,         /* keep_going said stop (undocked) */
	UPLINK_LOCAL_FAILED = -6,    /* reading our own clip failed */
};

#define UPLINK_BLOCK (256 * 1024)

struct uplink {
	WOLFSSL_CTX *ctx;
	WOLFSSL *ssl;
	int fd;
	char peer[80];
	uint8_t server_der[DOCK_MAX_DER];
	size_t server_len;
	int io_timeout_ms;
	int (*keep_going)(void *);    /* asked while waiting for answers (NULL: never stop) */
	void *keep_going_ud;
};

#define UPLINK_TICK_MS 1000

int uplink_connect(struct uplink *u, struct bwc_identity *id, const struct in6_addr *addr,
		   char *why, size_t whylen);
/* POST path with a JSON body; *ret_status and the parsed answer in *ret_http. */
int uplink_post(struct uplink *u, const char *path, const char *body, int *ret_status,
		struct dock_http *ret_http, char *why, size_t whylen);
/* Any request with an optional JSON body (NULL for none). */
int uplink_request(struct uplink *u, const char *method, const char *path, const char *body,
		   int *ret_status, struct dock_http *h, char *why, size_t whylen);
/* PUT of len bytes of fd from offset as application/octet-stream; keep_going
 * is asked between blocks (NULL: always). */
int uplink_put_file(struct uplink *u, const char *path, int fd, uint64_t offset, uint64_t len,
		    int (*keep_going)(void *), void *ud, int *ret_status, struct dock_http *h,
		    char *why, size_t whylen);
/* The two halves of a PUT for pipelining (PROTOCOL.md §9.1): the request is
 * sent, and its answer read later, so that the next chunk can be on its way
 * while the controller makes one durable. send_file returns UPLINK_OK or an
 * UPLINK_* error; read_answer reads the answer to the oldest unanswered
 * request into *h. */
int uplink_send_file(struct uplink *u, const char *path, int fd, uint64_t offset, uint64_t len,
		     int (*keep_going)(void *), void *ud, char *why, size_t whylen);
int uplink_read_answer(struct uplink *u, const char *path, int *ret_status, struct dock_http *h,
		       char *why, size_t whylen);
void uplink_close(struct uplink *u);

/* offload.c */
enum offload_result {
	OFFLOAD_DONE = 0,     /* everything listed is receipted */
	OFFLOAD_RETRY,        /* transient: try again while docked */
	OFFLOAD_UNDOCKED,     /* link went down: stop cleanly */
	OFFLOAD_NO_SPACE,     /* controller's staging reserve reached: keep data, retry later */
	OFFLOAD_REFUSED,      /* held, lost or not in the registry: keep data */
};

struct offload_stats {
	uint64_t clips_pending, bytes_pending;
	uint64_t clips_receipted;     /* this dock */
	uint64_t bytes_sent;          /* this dock, including resent bytes */
	char last_error[32];
};

enum offload_result offload_all(struct bwc_identity *id, store_t *store, struct doclink *link,
				struct uplink *u, uint64_t chunk, struct offload_stats *stats);

#endif
