/* bwc-envelope.c - the EMS operator's tool for envelope-encrypted clips
 * (shared/envelope.h): decrypt a clip with the destination's private key, and
 * (for tests) encrypt one for a public key.
 *
 *   bwc-envelope decrypt --key PRIV.pem CLIP [--key-object K] [-o OUT]
 *       K defaults to CLIP.key, OUT to CLIP.dec
 *   bwc-envelope encrypt --pubkey PUB.pem --key-id ID CLIP -o OUT
 *       writes OUT (ciphertext) and OUT.key (key object)
 *
 * Outputs are written to a temporary name in the same directory, synced and
 * renamed only when complete; an existing file is never replaced. Both
 * commands print the SHA-256 of plaintext and ciphertext. */
#include <wolfssl/options.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "shared/envelope.h"
#include "shared/util.h"

#define CHUNK (1024 * 1024)
#define PEM_MAX 16384

struct out_file {
	char path[PATH_MAX];
	char tmp[PATH_MAX + 32];
	int fd;
};

static int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int die(const char *fmt, ...)
{
	va_list ap;

	fputs("bwc-envelope: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

static int out_open(struct out_file *o, const char *path)
{
	o->fd = -1;
	if (snprintf(o->path, sizeof(o->path), "%s", path) >= (int)sizeof(o->path))
		return die("%s: name too long", path);
	if (access(path, F_OK) == 0)
		return die("%s exists; refusing to replace it", path);
	snprintf(o->tmp, sizeof(o->tmp), "%s.part.%d", path, (int)getpid());
	o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (o->fd < 0)
		return die("cannot create %s: %s", o->tmp, strerror(errno));
	return 0;
}

static int out_write(struct out_file *o, const uint8_t *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(o->fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return die("cannot write %s: %s", o->tmp, strerror(errno));
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Syncs and renames to the final name without replacing anything. */
static int out_commit(struct out_file *o)
{
	if (fsync(o->fd) < 0)
		return die("cannot sync %s: %s", o->tmp, strerror(errno));
	close(o->fd);
	o->fd = -1;
	if (renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_NOREPLACE) < 0)
		return die("cannot rename %s to %s: %s", o->tmp, o->path, strerror(errno));
	o->tmp[0] = 0;
	util_fsync_parent(o->path);
	return 0;
}

/* Removes what a failed run left; accepts a never-opened file. */
static void out_abandon(struct out_file *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp[0])
		unlink(o->tmp);
	o->tmp[0] = 0;
}

static void print_hashes(const uint8_t plain[32], const uint8_t cipher[32])
{
	char hex[65];

	util_hex(plain, 32, hex);
	printf("plaintext-sha256  %s\n", hex);
	util_hex(cipher, 32, hex);
	printf("ciphertext-sha256 %s\n", hex);
}

/* Streams in through s into o; the output file is left uncommitted. */
static int pump(env_stream_t *s, const char *in_path, struct out_file *o, uint8_t plain[32],
		uint8_t cipher[32])
{
	uint8_t *in = malloc(CHUNK), *out = malloc(CHUNK + ENV_BLOCK);
	size_t n = 0;
	int fd, r = 0, e;

	fd = open(in_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !in || !out) {
		r = fd < 0 ? die("cannot open %s: %s", in_path, strerror(errno)) : die("out of memory");
		goto done;
	}
	for (;;) {
		ssize_t got = read(fd, in, CHUNK);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = die("cannot read %s: %s", in_path, strerror(errno));
			goto done;
		}
		if (got == 0)
			break;
		if ((e = env_update(s, in, (size_t)got, out, &n)) != ENV_OK) {
			r = die("%s: %s", in_path, env_strerror(e));
			goto done;
		}
		if ((r = out_write(o, out, n)))
			goto done;
	}
	if ((e = env_final(s, out, &n, plain, cipher)) != ENV_OK)
		r = die("%s: %s", in_path, env_strerror(e));
	else
		r = out_write(o, out, n);
done:
	if (fd >= 0)
		close(fd);
	free(in);
	util_free_secret(out, out ? CHUNK + ENV_BLOCK : 0);
	return r;
}

/* in through s into out_path, which appears only when complete. */
static int stream_file(env_stream_t *s, const char *in_path, const char *out_path,
		       uint8_t plain[32], uint8_t cipher[32])
{
	struct out_file o = { .fd = -1 };
	int r = out_open(&o, out_path);

	if (r == 0)
		r = pump(s, in_path, &o, plain, cipher);
	if (r == 0)
		r = out_commit(&o);
	out_abandon(&o);
	return r;
}

static int read_text(const char *what, const char *path, size_t max, char **ret, size_t *ret_len)
{
	uint8_t *buf = NULL;
	int r = util_read_file(path, max, &buf, ret_len);

	if (r < 0)
		return die("cannot read the %s %s: %s", what, path,
			   r == -EFBIG ? "file too large" : strerror(-r));
	*ret = (char *)buf;
	return 0;
}

static int cmd_decrypt(const char *priv_path, const char *clip, const char *key_path,
		       const char *out_path)
{
	char *pem = NULL, *kobj = NULL, why[256], defkey[PATH_MAX], defout[PATH_MAX];
	uint8_t der[4096], plain[32], cipher[32];
	struct env_key key;
	env_stream_t *s = NULL;
	size_t pem_len = 0, klen = 0, der_len = 0;
	int r, e;

	snprintf(defkey, sizeof(defkey), "%s.key", clip);
	snprintf(defout, sizeof(defout), "%s.dec", clip);
	key_path = key_path ? key_path : defkey;
	out_path = out_path ? out_path : defout;
	if ((r = read_text("key object", key_path, ENV_KEY_OBJECT_MAX, &kobj, &klen)))
		return r;
	e = env_key_from_json(kobj, klen, &key, why, sizeof(why));
	free(kobj);
	if (e != ENV_OK)
		return die("key object %s refused: %s", key_path, why);
	if ((r = read_text("private key", priv_path, PEM_MAX, &pem, &pem_len)))
		return r;
	e = env_rsa_priv_from_pem(pem, pem_len, der, sizeof(der), &der_len);
	util_free_secret(pem, pem_len + 1);
	if (e == ENV_OK)
		e = env_decrypt_init(der, der_len, &key, &s);
	util_wipe(der, sizeof(der));
	if (e != ENV_OK)
		return die("%s with key object %s: %s", priv_path, key_path, env_strerror(e));
	r = stream_file(s, clip, out_path, plain, cipher);
	env_free(s);
	if (r)
		return die("%s: nothing written", out_path);
	print_hashes(plain, cipher);
	printf("decrypted %s -> %s\n", clip, out_path);
	return 0;
}

static int write_key_object(const struct env_key *key, const char *path)
{
	struct out_file o = { .fd = -1 };
	char *json = NULL;
	int r;

	if (env_key_to_json(key, &json) != ENV_OK)
		return die("cannot encode the key object");
	r = out_open(&o, path);
	if (r == 0)
		r = out_write(&o, (const uint8_t *)json, strlen(json));
	if (r == 0)
		r = out_write(&o, (const uint8_t *)"\n", 1);
	if (r == 0)
		r = out_commit(&o);
	out_abandon(&o);
	free(json);
	return r;
}

static int cmd_encrypt(const char *pub_path, const char *key_id, const char *clip,
		       const char *out_path)
{
	char *pem = NULL, key_path[PATH_MAX];
	uint8_t der[ENV_RSA_DER_MAX], plain[32], cipher[32];
	struct env_key key;
	env_stream_t *s = NULL;
	size_t pem_len = 0, der_len = 0;
	int r, e;

	if (snprintf(key_path, sizeof(key_path), "%s.key", out_path) >= (int)sizeof(key_path))
		return die("%s: name too long", out_path);
	if (access(key_path, F_OK) == 0)
		return die("%s exists; refusing to replace it", key_path);
	if ((r = read_text("public key", pub_path, PEM_MAX, &pem, &pem_len)))
		return r;
	e = env_rsa_pub_from_pem(pem, pem_len, der, sizeof(der), &der_len, NULL);
	free(pem);
	if (e == ENV_OK)
		e = env_encrypt_init(der, der_len, key_id, &s, &key);
	if (e != ENV_OK)
		return die("%s: %s", pub_path, env_strerror(e));
	r = stream_file(s, clip, out_path, plain, cipher);
	env_free(s);
	if (r == 0)
		r = write_key_object(&key, key_path);
	if (r)
		return die("encryption of %s failed", clip);
	print_hashes(plain, cipher);
	printf("encrypted %s -> %s, key object %s\n", clip, out_path, key_path);
	return 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: bwc-envelope decrypt --key PRIV.pem CLIP [--key-object K] [-o OUT]\n"
		"         K defaults to CLIP.key, OUT to CLIP.dec; OUT must not exist\n"
		"       bwc-envelope encrypt --pubkey PUB.pem --key-id ID CLIP -o OUT\n"
		"         writes OUT and OUT.key (for tests and interoperability checks)\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "key-object", required_argument, NULL, 'K' },
		{ "pubkey", required_argument, NULL, 'p' },
		{ "key-id", required_argument, NULL, 'i' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *kobj = NULL, *pub = NULL, *id = NULL, *out = NULL, *verb;
	int opt;

	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'k': key = optarg; break;
		case 'K': kobj = optarg; break;
		case 'p': pub = optarg; break;
		case 'i': id = optarg; break;
		case 'o': out = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	verb = optind < argc ? argv[optind] : "";
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(verb, "decrypt") && key && !pub && !id)
		return cmd_decrypt(key, argv[optind + 1], kobj, out);
	if (!strcmp(verb, "encrypt") && pub && id && out && !key && !kobj)
		return cmd_encrypt(pub, id, argv[optind + 1], out);
	usage(stderr);
	return 2;
}
