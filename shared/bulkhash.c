/* bulkhash.c - bulk SHA-256/MD5 on libcrypto (EVP). */
#include "shared/bulkhash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <unistd.h>

struct bulkhash {
	EVP_MD_CTX *ctx;
};

int bulkhash_new(enum bulkhash_alg alg, bulkhash_t **ret)
{
	bulkhash_t *h;

	if (!ret)
		return -EINVAL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx ||
	    EVP_DigestInit_ex(h->ctx, alg == BULK_MD5 ? EVP_md5() : EVP_sha256(), NULL) != 1) {
		bulkhash_free(h);
		return -EIO;
	}
	*ret = h;
	return 0;
}

int bulkhash_update(bulkhash_t *h, const void *data, size_t len)
{
	if (!h || (!data && len))
		return -EINVAL;
	return EVP_DigestUpdate(h->ctx, data, len) == 1 ? 0 : -EIO;
}

int bulkhash_peek(const bulkhash_t *h, uint8_t *out)
{
	EVP_MD_CTX *copy;
	unsigned len;
	int ok;

	if (!h || !out)
		return -EINVAL;
	copy = EVP_MD_CTX_new();
	ok = copy && EVP_MD_CTX_copy_ex(copy, h->ctx) == 1 && EVP_DigestFinal_ex(copy, out, &len) == 1;
	EVP_MD_CTX_free(copy);
	return ok ? 0 : -EIO;
}

int bulkhash_final(bulkhash_t *h, uint8_t *out)
{
	unsigned len;

	if (!h || !out)
		return -EINVAL;
	return EVP_DigestFinal_ex(h->ctx, out, &len) == 1 ? 0 : -EIO;
}

void bulkhash_free(bulkhash_t *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int bulkhash_fd(int fd, uint64_t upto, uint8_t sha256[32], uint8_t *md5, uint64_t *ret_size)
{
	enum { BLOCK = 1 << 20 };
	bulkhash_t *s = NULL, *m = NULL;
	uint8_t *buf = malloc(BLOCK);
	uint64_t pos = 0;
	int r;

	if (!buf)
		return -ENOMEM;
	r = bulkhash_new(BULK_SHA256, &s);
	if (r == 0 && md5)
		r = bulkhash_new(BULK_MD5, &m);
	while (r == 0 && pos < upto) {
		size_t want = upto - pos < BLOCK ? (size_t)(upto - pos) : BLOCK;
		ssize_t n = pread(fd, buf, want, (off_t)pos);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else if (n == 0 && upto != UINT64_MAX)
			r = -EIO;   /* shorter than asked */
		else if (n == 0)
			break;
		else if ((r = bulkhash_update(s, buf, (size_t)n)) == 0 && m)
			r = bulkhash_update(m, buf, (size_t)n);
		pos += n > 0 ? (uint64_t)n : 0;
	}
	if (r == 0)
		r = bulkhash_final(s, sha256);
	if (r == 0 && m)
		r = bulkhash_final(m, md5);
	if (r == 0 && ret_size)
		*ret_size = pos;
	bulkhash_free(s);
	bulkhash_free(m);
	free(buf);
	return r;
}
