/* conn.h - one docked camera's TLS connection inside the controller's event
 * loop (listener.c) and the offload requests it carries (offload.c). */
#ifndef BWC_CONN_H
#define BWC_CONN_H

#include <wolfssl/options.h>

#include "controller/listener.h"
#include "shared/bulkhash.h"

#define READ_CHUNK 16384
#define READ_SPACE (64 * 1024)        /* socket read size once the handshake is done */
#define MAX_PENDING_IN (256 * 1024)   /* ciphertext buffered: reading pauses above this */
#define WRITE_FLUSH (256 * 1024)      /* clip bytes per disk write; two such buffers per
				       * connection: one fills while the other is written */

enum cert_kind { PEER_NONE, PEER_IDEVID, PEER_LDEVID };

struct conn;

/* One piece of work of a connection in the thread pool. A connection runs at
 * most one job of each kind at a time; done() runs on the loop (not if closed). */
struct conn_job {
	uv_work_t req;
	struct conn *c;
	void (*work)(struct conn *);
	void (*done)(struct conn *);
	int pending;
	int status;
};

/* One clip PUT (chunk): where it starts, how far it got, what is answered. */
struct chunk {
	int active;                     /* body bytes belong to this chunk */
	int complete;                   /* its whole body has arrived */
	int started;                    /* its first disk write ran (stale tail truncated) */
	int shared;                     /* another connection had this clip going: no running hash */
	enum dock_code refuse;          /* != DOCK_C_OK: discard the body, then answer this */
	enum dock_standing refuse_standing;
	char refuse_msg[200];
	char rid[DOCK_ID_LEN + 1], cid[DOCK_CLIP_ID_LEN + 1], container[8];
	uint64_t offset;                /* where this PUT starts */
	uint64_t len;                   /* its Content-Length */
	uint64_t queued;                /* body bytes handed to disk writes */
};

/* Clip PUTs being received and made durable, and the staged file they go to.
 * Pipelining (PROTOCOL.md §9.1): while chunk `sync` is made durable (fdatasync
 * and registry in the thread pool), the next chunk of the same clip is received
 * into `rx` and written; a third waits in the socket (reading stops). */
struct offload_io {
	struct chunk rx;                /* being received (or waiting for the sync slot) */
	struct chunk sync;              /* written, being made durable: answered when done */
	uint8_t *buf;                   /* rx body bytes not yet handed to a write */
	size_t buf_len;
	uint8_t *wbuf;                  /* bytes of the running write job */
	size_t wbuf_len;
	uint64_t wat;                   /* file offset of wbuf */
	uint64_t wtrunc;                /* first write of a chunk: truncate here first */
	int wtrunc_on;
	int wshared;                    /* the chunk of wbuf is shared (no running hash) */
	char wrid[DOCK_ID_LEN + 1], wcid[DOCK_CLIP_ID_LEN + 1];
	int write_error, sync_error;    /* errno of a failed job, 0 if none */
	struct conn_job wjob, sjob;
	int bad_pipeline;               /* a request other than a chunk while answers are due */
	int fd;                         /* staged .part file, -1 if none */
	char fd_key[DOCK_ID_LEN + DOCK_CLIP_ID_LEN + 2]; /* rid/cid of fd */
	char path[PATH_MAX];
	volatile int superseded;        /* a newer connection writes this clip: stop touching it */
	/* Running SHA-256 of the clip, over the bytes of each write that the
	 * file accepted, in file order (write job). The commit uses it when it
	 * covers exactly the durable size; otherwise it hashes the whole file.
	 * Touched by the write and commit jobs only, which never run at the same
	 * time (a commit comes after every chunk is answered). */
	bulkhash_t *run;
	char run_rid[DOCK_ID_LEN + 1], run_cid[DOCK_CLIP_ID_LEN + 1];
	uint64_t run_at;                /* the running hash covers [0, run_at) */
	/* Loop-owned: the clip of the last chunk this connection accepted, and
	 * whether another connection has since accepted a chunk of that clip (its
	 * bytes may be in the file now): then every commit of this connection
	 * hashes the whole file. */
	char last_rid[DOCK_ID_LEN + 1], last_cid[DOCK_CLIP_ID_LEN + 1];
	volatile int run_void;
	int hashed_running;             /* the last commit used it */
	/* commit */
	char rid[DOCK_ID_LEN + 1], cid[DOCK_CLIP_ID_LEN + 1], container[8];
	struct dock_commit commit;
	enum dock_code result;
	char result_msg[200];
	char *answer;                   /* JSON answer built by a job (malloc'd) */
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
	char pend[READ_CHUNK];          /* plaintext after a complete chunk PUT: the next request */
	size_t pend_off, pend_len;
	int handshake_done, closing, busy, reading_paused, handles_open, work_pending;
	uint64_t app_bytes_in;
	struct dock_http http;
	enum cert_kind kind;
	struct cert_info peer_info;
	char reason[160];
	/* the request's job in the thread pool (issuance, commit); work_pending
	 * counts every job of the connection, this one and the offload's */
	struct conn_job job;
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
int conn_queue_job(struct conn *c, struct conn_job *job, void (*work)(struct conn *),
		   void (*done)(struct conn *));
void conn_drive(struct conn *c);

/* offload.c */
void offload_init(struct conn *c);
void offload_free(struct conn *c);
/* dock_http callbacks (ud = conn) */
int offload_on_head(struct dock_http *h, void *ud);
int offload_on_body(void *ud, const char *at, size_t len);
/* Hands buffered clip bytes to a disk write when a buffer is full. Returns 1
 * when reading must stop: the buffer is full and the previous write still runs. */
int offload_flush(struct conn *c);
/* Reading must wait (both buffers full)? */
int offload_blocked(const struct conn *c);
/* Handles a complete offload request; returns 0 if route was not an offload one. */
int offload_request(struct conn *c, const struct dock_route *route);
/* At start: finish what a crash interrupted in the staging area. */
int offload_recover(struct ctl *ctl);

#endif
