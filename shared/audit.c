/* audit.c - append, verify and print the hash-chained custody log described
 * in audit.h. Path based: every call opens, locks and closes the file. */
#include "shared/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "shared/util.h"

#define HASH_LEN 32
#define HEX_LEN (2 * HASH_LEN)
#define HEAD_MAX 256
/* verify keeps ~80 bytes per line in memory; refuse absurd files */
#define VERIFY_MAX_LINES 2000000UL
#define DUMP_FLAGS (JSON_COMPACT | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

/* What verify and append need to know about one line. */
struct entry {
	uint64_t seq;
	uint8_t prev[HASH_LEN];
	uint8_t hash[HASH_LEN];
	bool ok;
};

struct head {
	bool present;
	bool ok;
	uint64_t seq;
	uint8_t hash[HASH_LEN];
};

static const uint8_t zero_hash[HASH_LEN];

static bool valid_event(const char *event)
{
	size_t len = strlen(event);

	if (len == 0 || len > AUDIT_EVENT_MAX)
		return false;
	return strspn(event, "abcdefghijklmnopqrstuvwxyz-") == len;
}

static bool valid_serial(const char *serial)
{
	size_t len = strnlen(serial, AUDIT_SERIAL_MAX + 1);

	if (len == 0 || len > AUDIT_SERIAL_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)serial[i] < 0x20 || serial[i] == 0x7f)
			return false;
	return true;
}

static int sha256(const void *data, size_t len, uint8_t out[HASH_LEN])
{
	wc_Sha256 ctx;
	int r;

	r = wc_InitSha256(&ctx);
	if (r != 0)
		return -EIO;
	r = wc_Sha256Update(&ctx, data, (word32)len);
	if (r == 0)
		r = wc_Sha256Final(&ctx, out);
	wc_Sha256Free(&ctx);
	return r == 0 ? 0 : -EIO;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Lower-case hex only, so that each hash has one spelling. */
static int hex_decode_hash(const char *hex, uint8_t out[HASH_LEN])
{
	if (strlen(hex) != HEX_LEN)
		return -EBADMSG;
	for (size_t i = 0; i < HASH_LEN; i++) {
		int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EBADMSG;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int head_path(const char *path, char *out, size_t cap)
{
	int n = snprintf(out, cap, "%s.head", path);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Checks every field of a parsed entry; returns 0 or -EBADMSG. */
static int check_fields(json_t *o, struct entry *e)
{
	json_t *seq = json_object_get(o, "seq"), *time = json_object_get(o, "time");
	json_t *event = json_object_get(o, "event"), *serial = json_object_get(o, "serial");
	json_t *prev = json_object_get(o, "prev");
	time_t t;

	if (json_object_size(o) != 6 || !json_is_object(json_object_get(o, "detail")))
		return -EBADMSG;
	if (!json_is_integer(seq) || json_integer_value(seq) < 1)
		return -EBADMSG;
	if (!json_is_string(time) || util_time_parse_iso(json_string_value(time), &t) < 0)
		return -EBADMSG;
	if (!json_is_string(event) || !valid_event(json_string_value(event)))
		return -EBADMSG;
	if (!json_is_null(serial) && !(json_is_string(serial) && valid_serial(json_string_value(serial))))
		return -EBADMSG;
	if (!json_is_string(prev) || hex_decode_hash(json_string_value(prev), e->prev) < 0)
		return -EBADMSG;
	e->seq = (uint64_t)json_integer_value(seq);
	return 0;
}

/* Parses one line (without newline). Fills *e; e->ok tells whether the line
 * is a well-formed entry. The JSON is handed out when ret_json is not NULL.
 * Returns 0 or -EIO (hash failure); a malformed line is not an error here. */
static int parse_line(const char *line, size_t len, struct entry *e, json_t **ret_json)
{
	json_error_t err;
	json_t *o = NULL;
	int r;

	memset(e, 0, sizeof(*e));
	r = sha256(line, len, e->hash);
	if (r < 0)
		return r;
	if (len >= AUDIT_LINE_MAX)
		return 0;
	o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
	if (!o)
		return 0;
	e->ok = json_is_object(o) && check_fields(o, e) == 0;
	if (ret_json && e->ok)
		*ret_json = json_incref(o);
	json_decref(o);
	return 0;
}

/* Reads "<log>.head". Returns 0 (h->present, h->ok set), -ENOENT or -errno. */
static int read_head(const char *path, struct head *h)
{
	char hp[PATH_MAX];
	uint8_t *buf = NULL;
	json_t *o = NULL, *seq, *hash;
	size_t len;
	int r;

	memset(h, 0, sizeof(*h));
	r = head_path(path, hp, sizeof(hp));
	if (r < 0)
		return r;
	r = util_read_file(hp, HEAD_MAX, &buf, &len);
	if (r == -EFBIG)
		r = 0; /* present but not a head */
	if (r < 0)
		return r;
	h->present = true;
	o = buf ? json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
	seq = json_object_get(o, "seq");
	hash = json_object_get(o, "hash");
	if (json_object_size(o) == 2 && json_is_integer(seq) && json_integer_value(seq) >= 0 &&
	    json_is_string(hash) && hex_decode_hash(json_string_value(hash), h->hash) == 0) {
		h->seq = (uint64_t)json_integer_value(seq);
		h->ok = true;
	}
	json_decref(o);
	free(buf);
	return 0;
}

static int write_head(const char *path, uint64_t seq, const uint8_t hash[HASH_LEN])
{
	char hp[PATH_MAX], hex[HEX_LEN + 1], buf[HEAD_MAX];
	int n, r;

	r = head_path(path, hp, sizeof(hp));
	if (r < 0)
		return r;
	util_hex(hash, HASH_LEN, hex);
	n = snprintf(buf, sizeof(buf), "{\"seq\":%llu,\"hash\":\"%s\"}\n",
		     (unsigned long long)seq, hex);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -EINVAL;
	return util_write_file_atomic(hp, buf, (size_t)n, 0600);
}

static int pread_all(int fd, char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t n = pread(fd, buf, len, off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		buf += n;
		len -= (size_t)n;
		off += n;
	}
	return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads the last line by seeking from the end: the file is never read whole.
 * An empty log gives seq 0 and the all-zero hash. */
static int read_last_entry(int fd, off_t size, struct entry *ret)
{
	char buf[AUDIT_LINE_MAX + 1];
	size_t tail = (size_t)size < sizeof(buf) ? (size_t)size : sizeof(buf);
	size_t start = 0;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (size == 0)
		return 0;
	r = pread_all(fd, buf, tail, size - (off_t)tail);
	if (r < 0)
		return r;
	if (buf[tail - 1] != '\n')
		return AUDIT_E_TORN;
	for (size_t i = tail - 1; i > 0; i--)
		if (buf[i - 1] == '\n') {
			start = i;
			break;
		}
	if (start == 0 && tail < (size_t)size)
		return AUDIT_E_CORRUPT; /* no line start within the size limit */
	r = parse_line(buf + start, tail - 1 - start, ret, NULL);
	if (r < 0)
		return r;
	return ret->ok ? 0 : AUDIT_E_CORRUPT;
}

/* The head must name the last entry, or the one before it when an append was
 * interrupted before its head update. Anything else means lines were cut off
 * or the head was lost; appending would hide that, so refuse. */
static int check_head_for_append(const char *path, const struct entry *last)
{
	struct head h;
	int r = read_head(path, &h);

	if (r == -ENOENT)
		return last->seq == 0 ? 0 : AUDIT_E_HEAD;
	if (r < 0)
		return r;
	if (!h.ok)
		return AUDIT_E_HEAD;
	if (h.seq == last->seq && memcmp(h.hash, last->seq ? last->hash : zero_hash, HASH_LEN) == 0)
		return 0;
	if (last->seq > 0 && h.seq + 1 == last->seq && memcmp(h.hash, last->prev, HASH_LEN) == 0)
		return 0;
	return AUDIT_E_HEAD;
}

/* Builds the line (without newline). @note the caller frees *ret_line. */
static int format_entry(uint64_t seq, const char *event, const char *serial, json_t *detail,
			const uint8_t prev[HASH_LEN], char **ret_line)
{
	char when[32], hex[HEX_LEN + 1];
	json_t *o;
	char *line;

	util_time_iso(time(NULL), when, sizeof(when));
	util_hex(prev, HASH_LEN, hex);
	o = json_pack("{s:I,s:s,s:s,s:o,s:o,s:s}", "seq", (json_int_t)seq, "time", when,
		      "event", event, "serial", serial ? json_string(serial) : json_null(),
		      "detail", detail ? json_incref(detail) : json_object(), "prev", hex);
	if (!o)
		return -ENOMEM; /* also a serial that is not valid UTF-8 */
	line = json_dumps(o, DUMP_FLAGS);
	json_decref(o);
	if (!line)
		return -ENOMEM;
	if (strlen(line) + 1 > AUDIT_LINE_MAX) {
		free(line);
		return -E2BIG;
	}
	*ret_line = line;
	return 0;
}

/* Appends line + "\n" durably; on a failed write the file is cut back, so
 * that no torn line is left behind. */
static int append_line(int fd, off_t size, char *line)
{
	size_t len = strlen(line);
	int r;

	line[len] = '\n'; /* the NUL is not needed for the write */
	r = write_all(fd, line, len + 1);
	line[len] = 0;
	if (r < 0) {
		/* a cut that fails leaves a torn line, which appends then refuse */
		if (ftruncate(fd, size) < 0)
			r = AUDIT_E_TORN;
		return r;
	}
	if (fdatasync(fd) < 0)
		return -errno;
	return 0;
}

static int check_append_args(const char *path, const char *event, const char *serial,
			     json_t *detail)
{
	if (!path || !event || !valid_event(event))
		return -EINVAL;
	if (serial && !valid_serial(serial))
		return -EINVAL;
	if (detail && !json_is_object(detail))
		return -EINVAL;
	return 0;
}

static int append_locked(int fd, const char *path, const char *event, const char *serial,
			 json_t *detail)
{
	struct entry last, mine;
	struct stat st;
	char *line = NULL;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	r = read_last_entry(fd, st.st_size, &last);
	if (r < 0)
		return r;
	r = check_head_for_append(path, &last);
	if (r < 0)
		return r;
	r = format_entry(last.seq + 1, event, serial, detail, last.seq ? last.hash : zero_hash,
			 &line);
	if (r < 0)
		return r;
	r = append_line(fd, st.st_size, line);
	if (r < 0)
		goto out;
	if (st.st_size == 0) {
		r = util_fsync_parent(path); /* the log may be new */
		if (r < 0)
			goto out;
	}
	r = parse_line(line, strlen(line), &mine, NULL);
	if (r < 0)
		goto out;
	r = write_head(path, last.seq + 1, mine.hash);
out:
	free(line);
	return r;
}

int audit_append(const char *path, const char *event, const char *serial, json_t *detail)
{
	int fd, r;

	r = check_append_args(path, event, serial, detail);
	if (r < 0)
		return r;
	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while ((r = flock(fd, LOCK_EX)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		r = -errno;
		goto out;
	}
	r = append_locked(fd, path, event, serial, detail);
out:
	close(fd); /* also releases the lock */
	return r;
}

/* ---- verify ---- */

struct entries {
	struct entry *v;
	size_t n, cap;
};

static int entries_push(struct entries *es, const struct entry *e)
{
	if (es->n == es->cap) {
		size_t cap = es->cap ? es->cap * 2 : 64;
		struct entry *v;

		if (es->n >= VERIFY_MAX_LINES)
			return -EFBIG;
		v = reallocarray(es->v, cap, sizeof(*v));
		if (!v)
			return -ENOMEM;
		es->v = v;
		es->cap = cap;
	}
	es->v[es->n++] = *e;
	return 0;
}

/* One record per line; a last line without newline counts as malformed. */
static int load_entries(const char *path, struct entries *es)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	int r = 0;

	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((len = getline(&line, &cap, f)) > 0) {
		bool nl = line[len - 1] == '\n';
		struct entry e;

		r = parse_line(line, (size_t)len - nl, &e, NULL);
		if (r < 0)
			break;
		e.ok = e.ok && nl;
		r = entries_push(es, &e);
		if (r < 0)
			break;
	}
	if (r == 0 && ferror(f))
		r = -EIO;
	free(line);
	fclose(f);
	return r;
}

static int report(struct audit_problem *p, size_t line, uint64_t seq, const char *reason)
{
	p->line = line;
	p->seq = seq;
	p->reason = reason;
	snprintf(p->message, sizeof(p->message), "line %zu (seq %llu): %s", line,
		 (unsigned long long)seq, reason);
	return AUDIT_TAMPERED;
}

static bool seq_appears_later(const struct entries *es, size_t i, uint64_t lo, uint64_t hi)
{
	for (size_t j = i + 1; j < es->n; j++)
		if (es->v[j].ok && es->v[j].seq >= lo && es->v[j].seq < hi)
			return true;
	return false;
}

/* Does the entry at i differ from what its successor (or the head) recorded? */
static bool own_hash_differs(const struct entries *es, size_t i, const struct head *h)
{
	if (i + 1 < es->n)
		return es->v[i + 1].ok && memcmp(es->v[i + 1].prev, es->v[i].hash, HASH_LEN) != 0;
	return h->ok && h->seq == es->v[i].seq && memcmp(h->hash, es->v[i].hash, HASH_LEN) != 0;
}

/* Judges line i, given that every line before it is good. The link to the
 * predecessor decides first: when it holds, line i itself must be at fault. */
static int check_entry(const struct entries *es, size_t i, const struct head *h,
		       struct audit_problem *p)
{
	const struct entry *e = &es->v[i];
	uint64_t want = i ? es->v[i - 1].seq + 1 : 1;
	bool linked;

	if (!e->ok)
		return report(p, i + 1, want, "malformed entry");
	linked = memcmp(e->prev, i ? es->v[i - 1].hash : zero_hash, HASH_LEN) == 0;
	if (linked)
		return e->seq == want ? 0 : report(p, i + 1, want, "entry edited");
	if (e->seq == want) {
		if (i > 0 && !own_hash_differs(es, i, h))
			return report(p, i, want - 1, "entry edited");
		return report(p, i + 1, want, "entry edited");
	}
	if (e->seq > want && !seq_appears_later(es, i, want, e->seq))
		return report(p, i + 1, want, "entry removed");
	return report(p, i + 1, e->seq, "entries reordered");
}

static int check_head(const struct entries *es, const struct head *h, struct audit_problem *p)
{
	uint64_t last = es->n ? es->v[es->n - 1].seq : 0;
	const uint8_t *hash = es->n ? es->v[es->n - 1].hash : zero_hash;

	if (!h->present)
		return es->n == 0 ? 0 : report(p, es->n, last, "head file missing");
	if (!h->ok)
		return report(p, es->n, last, "head file malformed");
	if (h->seq > last)
		return report(p, es->n + 1, last + 1, "entries removed at the end");
	if (h->seq < last)
		return report(p, es->n, last, "head behind the log (interrupted append?)");
	if (memcmp(h->hash, hash, HASH_LEN) != 0)
		return report(p, es->n, last, "entry edited");
	return 0;
}

int audit_verify(const char *path, struct audit_problem *ret)
{
	struct entries es = { 0 };
	struct audit_problem p;
	struct head h;
	int r;

	if (!path)
		return -EINVAL;
	r = read_head(path, &h);
	if (r < 0 && r != -ENOENT)
		goto out;
	r = load_entries(path, &es);
	if (r == -ENOENT && h.present)
		r = 0; /* a deleted log whose head survived: judged as empty */
	if (r < 0)
		goto out;
	for (size_t i = 0; i < es.n && r == 0; i++)
		r = check_entry(&es, i, &h, &p);
	if (r == 0)
		r = check_head(&es, &h, &p);
	if (r == AUDIT_TAMPERED && ret)
		*ret = p;
out:
	free(es.v);
	return r;
}

/* ---- show ---- */

static bool serial_matches(json_t *o, const char *filter)
{
	json_t *serial = json_object_get(o, "serial");

	if (!filter)
		return true;
	return json_is_string(serial) && strcmp(json_string_value(serial), filter) == 0;
}

static int show_one(json_t *o, int as_json, bool first, FILE *out)
{
	json_t *serial = json_object_get(o, "serial");
	char *text;

	text = json_dumps(as_json ? o : json_object_get(o, "detail"),
			  JSON_COMPACT | JSON_PRESERVE_ORDER);
	if (!text)
		return -ENOMEM;
	if (as_json)
		fprintf(out, "%s  %s", first ? "" : ",\n", text);
	else
		fprintf(out, "%-20s  %-24s  %-20s  %s\n",
			json_string_value(json_object_get(o, "time")),
			json_string_value(json_object_get(o, "event")),
			json_is_string(serial) ? json_string_value(serial) : "-", text);
	free(text);
	return 0;
}

static int show_lines(FILE *f, const char *filter, int as_json, FILE *out, bool *bad)
{
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	bool first = true;
	ssize_t len;
	int r = 0;

	while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
		bool nl = line[len - 1] == '\n';
		json_t *o = NULL;
		struct entry e;

		lineno++;
		r = parse_line(line, (size_t)len - nl, &e, &o);
		if (r == 0 && (!e.ok || !nl)) {
			*bad = true;
			if (!as_json)
				fprintf(out, "(line %zu is malformed and not shown)\n", lineno);
		} else if (r == 0 && serial_matches(o, filter)) {
			r = show_one(o, as_json, first, out);
			first = false;
		}
		json_decref(o);
	}
	free(line);
	return r;
}

int audit_show(const char *path, const char *serial_filter, int as_json, FILE *out)
{
	bool bad = false;
	FILE *f;
	int r;

	if (!path || !out || (serial_filter && !valid_serial(serial_filter)))
		return -EINVAL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (as_json)
		fputs("[\n", out);
	else
		fprintf(out, "%-20s  %-24s  %-20s  %s\n", "TIME", "EVENT", "SERIAL", "DETAIL");
	r = show_lines(f, serial_filter, as_json, out, &bad);
	if (r == 0 && ferror(f))
		r = -EIO;
	fclose(f);
	if (as_json)
		fputs("\n]\n", out);
	if (r == 0 && (fflush(out) != 0 || ferror(out)))
		r = -EIO;
	return r == 0 && bad ? AUDIT_TAMPERED : r;
}

const char *audit_strerror(int r)
{
	switch (r) {
	case 0:
		return "success";
	case AUDIT_TAMPERED:
		return "the audit log is not intact";
	case AUDIT_E_TORN:
		return "the audit log ends in an incomplete line (interrupted write); "
		       "inspect it and run verify before appending";
	case AUDIT_E_CORRUPT:
		return "the last audit entry is malformed; run verify";
	case AUDIT_E_HEAD:
		return "the audit head file is missing or disagrees with the log "
		       "(entries cut off?); run verify";
	default:
		return r < 0 ? strerror(-r) : "unknown audit result";
	}
}
