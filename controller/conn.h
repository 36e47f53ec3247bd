/* conn.h - one docked camera's TLS connection inside the controller's event
 * loop (listener.c) and the offload requests it carries (offload.c). */
#ifndef BWC_CONN_H
#define BWC_CONN_H

#include <wolfssl/options.h>

#include "controller/listener.h"
#include "shared/bulkhash.h"

#define READ_CHUNK 16384
#define MAX_PENDING_IN (256 * 1024)   /* ciphertext buffered: reading pauses above this */
#define WRITE_FLUSH (1024 * 1024)     /* clip bytes buffered before a disk write */

enum cert_kind { PEER_NONE, PEER_IDEVID, PEER_LDEVID };

/* A clip PUT being received, and the staged file it goes to. */
struct offload_io {
	int active;                     /* body bytes go to this clip */
	enum dock_code refuse;          /* != DOCK_C_OK: discard the body, then answer this */
	enum dock_standing refuse_standing;
	char refuse_msg[200];
	char rid[DOCK_ID_LEN + 1], cid[DOCK_CLIP_ID_LEN + 1], container[8];
	uint64_t offset;                /* where this PUT starts */
	uint64_t written;               /* body bytes on disk (not yet synced) */
	uint8_t *buf;                   /* body bytes not yet written */
	size_t buf_len;
	int fd;                         /* staged .part file, -1 if none */
	char fd_key[DOCK_ID_LEN + DOCK_CLIP_ID_LEN + 2]; /* rid/cid of fd */
	char path[PATH_MAX];
	int io_error;                   /* errno of a failed disk operation */
	volatile int superseded;        /* a newer connection writes this clip: stop touching it */
	/* results of jobs */
	struct dock_commit commit;
	enum dock_code result;
	char result_msg[200];
	char *answer;                   /* JSON answer built by a job (malloc'd) */
	uint64_t chunk_len;
};

struct conn {
	uv_tcp_t tcp;
	struct conn *next, **pprev;     /* listener's list */
	uv_timer_t timer;
	struct listener *l;
	WOLFSSL *ssl;
	char peer[80];
	uint8_t *in;                    /* ciphertext received, not yet taken by wolfSSL */
	size_t in_off, in_len, in_cap;  /* unread bytes: in[in_off .. in_off + in_len) */
	uint8_t *out;                   /* ciphertext wolfSSL produced, not yet queued */
	size_t out_len, out_cap;
	char rbuf[READ_CHUNK];
	int handshake_done, closing, busy, reading_paused, handles_open, work_pending;
	uint64_t app_bytes_in;
	struct dock_http http;
	enum cert_kind kind;
	struct cert_info peer_info;
	char reason[160];
	/* one job at a time in the thread pool */
	uv_work_t work;
	void (*job_work)(struct conn *);
	void (*job_done)(struct conn *);
	int job_status;
	/* issuance */
	struct ca_request ca_req;
	int ca_status;
	uint8_t issued[CERTS_MAX_DER];
	size_t issued_len;
	enum dock_standing standing_at_dock;
	struct dock_csr_req csr_req;
	/* offload */
	struct offload_io io;
};

void conn_respond(struct conn *c, int status, const char *body);
void conn_respond_error(struct conn *c, enum dock_code code, enum dock_standing standing,
			const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* The request is answered: read the next one. */
void conn_request_done(struct conn *c);
/* Runs work(c) in the thread pool, then done(c) on the loop (not if closed). */
int conn_queue(struct conn *c, void (*work)(struct conn *), void (*done)(struct conn *));
void conn_drive(struct conn *c);

/* offload.c */
void offload_init(struct conn *c);
void offload_free(struct conn *c);
/* dock_http callbacks (ud = conn) */
int offload_on_head(struct dock_http *h, void *ud);
int offload_on_body(void *ud, const char *at, size_t len);
/* Buffered clip bytes to write now? Then queue the write (returns 1). */
int offload_flush(struct conn *c);
/* Handles a complete offload request; returns 0 if route was not an offload one. */
int offload_request(struct conn *c, const struct dock_route *route);
/* At start: finish what a crash interrupted in the staging area. */
int offload_recover(struct ctl *ctl);

#endif
