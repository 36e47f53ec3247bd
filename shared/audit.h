/* audit.h - the controller's custody log: an append-only, hash-chained file of
 * JSON lines shared by the controller daemon and the admin tool.
 *
 * FILE FORMAT (version 1)
 *
 * The log is a text file, mode 0600, one entry per line, each line ended by
 * "\n". A line is compact JSON (no spaces, ASCII only: other characters are
 * written as \uXXXX escapes), at most AUDIT_LINE_MAX bytes including the
 * newline, with exactly these keys in this order:
 *
 *   {"seq":N,"time":"YYYY-MM-DDTHH:MM:SSZ","event":"E","serial":S,"detail":{...},"prev":"H"}
 *
 *   seq     1 for the first entry, then +1 for each entry, no gaps.
 *   time    UTC time of the append, second resolution.
 *   event   what happened, 1 to 32 characters of [a-z-] ("camera-held").
 *   serial  the camera's serial (1 to 64 bytes), or null when no camera.
 *   detail  an object with event-specific fields; {} when there are none.
 *   prev    lower-case hex SHA-256 of the bytes of the previous line without
 *           its newline; 64 '0' characters for seq 1.
 *
 * Next to the log, "<log>.head" holds one line {"seq":N,"hash":"H"}: the seq
 * of the last entry and the SHA-256 (hex) of its line. It is replaced
 * atomically after every append, so that cutting entries off the end of the
 * log, which the chain alone cannot show, is detected. An empty log has no
 * head, or a head with seq 0 and 64 '0' characters.
 *
 * Writers take flock(LOCK_EX) on the log for the whole append, so any number
 * of processes may append. An append that was cut short (power loss) leaves a
 * last line without "\n"; appends then refuse (AUDIT_E_TORN) until an admin
 * has looked at it. A crash between the append and the head update leaves the
 * head one entry behind; the next append accepts and repairs that, verify
 * reports it.
 *
 * LIMITS OF THE DESIGN. The chain has no key: it shows accidental damage and
 * careless edits, and pins what was there once the head hash has been copied
 * elsewhere, but someone able to write both files can rewrite the whole
 * history consistently. Protect the files with permissions, and export the
 * head (seq and hash) to an outside record when evidence leaves the system.
 */
#ifndef BWC_AUDIT_H
#define BWC_AUDIT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#define AUDIT_LINE_MAX   8192  /* bytes per line, newline included */
#define AUDIT_EVENT_MAX  32
#define AUDIT_SERIAL_MAX 64

/* Positive: the log was read fine and is not intact. */
#define AUDIT_TAMPERED 1

/* Negative codes beyond errno values (errno values are returned as -errno). */
enum audit_error {
	AUDIT_E_TORN = -1000,    /* the last line has no newline: interrupted write */
	AUDIT_E_CORRUPT = -1001, /* the last entry cannot be parsed */
	AUDIT_E_HEAD = -1002,    /* head file missing or disagrees with the log */
};

struct audit_problem {
	unsigned long line;  /* 1-based line number of the first bad entry */
	uint64_t seq;        /* seq of that entry (the missing one when removed) */
	const char *reason;  /* static string, e.g. "entry edited" */
	char message[128];   /* "line 7 (seq 7): entry edited" */
};

/* Appends one entry. event: [a-z-]{1,32}; serial: NULL or 1..64 bytes;
 * detail: NULL or a JSON object, borrowed (not modified, not freed).
 * Returns 0, -EINVAL on bad arguments, -E2BIG when the line would exceed
 * AUDIT_LINE_MAX, AUDIT_E_TORN, AUDIT_E_CORRUPT, AUDIT_E_HEAD or -errno. */
int audit_append(const char *path, const char *event, const char *serial, json_t *detail);

/* Checks the whole chain and the head. Returns 0 when intact, AUDIT_TAMPERED
 * with *ret filled when not (ret may be NULL), -EINVAL or -errno. */
int audit_verify(const char *path, struct audit_problem *ret);

/* Prints the entries (only those of serial_filter when not NULL) as a table
 * (time, event, serial, detail) or, with as_json, as one JSON array. Does not
 * verify. Returns 0, AUDIT_TAMPERED when some lines were malformed (skipped,
 * and named in the table), -EINVAL or -errno. */
int audit_show(const char *path, const char *serial_filter, int as_json, FILE *out);

/* Text for the AUDIT_* codes and -errno values. */
const char *audit_strerror(int r);

#endif
