/* tls_raw.c - reference throughput of raw wolfSSL TLS 1.3 (TLS13-CHACHA20-POLY1305-SHA256,
 * X25519) between two network namespaces, for tests/bench/offload. No HTTP, no disk: the
 * client writes N MiB of application data, the server reads and discards it and answers
 * one byte when all arrived; the client prints the rate.
 *
 *   tls_raw server PORT CERT.pem KEY.pem
 *   tls_raw client ADDR%IF PORT MIB        -> "bytes N seconds S MB/s R"
 */
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <wolfssl/options.h>
#include <wolfssl/ssl.h>

#define SUITE "TLS13-CHACHA20-POLY1305-SHA256"
#define BUF (256 * 1024)

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int die(const char *what)
{
	fprintf(stderr, "tls_raw: %s\n", what);
	return 1;
}

static int server(int port, const char *cert, const char *key)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port),
				   .sin6_addr = IN6ADDR_ANY_INIT };
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_server_method());
	char *buf = malloc(BUF);
	int one = 1, ls = socket(AF_INET6, SOCK_STREAM, 0);

	if (!ctx || !buf || ls < 0 || wolfSSL_CTX_set_cipher_list(ctx, SUITE) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_certificate_file(ctx, cert, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_file(ctx, key, WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
		return die("server setup failed");
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 4) < 0)
		return die("cannot listen");
	printf("listening\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(ls, NULL, NULL);
		WOLFSSL *ssl;
		long long total = 0, want = -1;
		int n;

		if (fd < 0)
			continue;
		ssl = wolfSSL_new(ctx);
		wolfSSL_set_fd(ssl, fd);
		if (wolfSSL_accept(ssl) == WOLFSSL_SUCCESS) {
			/* first 8 bytes: how many follow */
			unsigned char len[8];
			int got = 0;
			while (got < 8 && (n = wolfSSL_read(ssl, len + got, 8 - got)) > 0)
				got += n;
			if (got == 8) {
				want = 0;
				for (int i = 0; i < 8; i++)
					want = want << 8 | len[i];
			}
			while (want >= 0 && total < want && (n = wolfSSL_read(ssl, buf, BUF)) > 0)
				total += n;
			if (total == want)
				wolfSSL_write(ssl, "k", 1);
		}
		wolfSSL_shutdown(ssl);
		wolfSSL_free(ssl);
		close(fd);
	}
}

static int client(const char *addr, int port, long mib)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
	WOLFSSL_CTX *ctx = wolfSSL_CTX_new(wolfTLSv1_3_client_method());
	char host[128], *pct, *buf = malloc(BUF), ack;
	long long want = (long long)mib << 20, sent = 0;
	unsigned char len[8];
	WOLFSSL *ssl;
	double t0, t1;
	int fd;

	snprintf(host, sizeof(host), "%s", addr);
	pct = strchr(host, '%');
	if (pct) {
		*pct = 0;
		sa.sin6_scope_id = if_nametoindex(pct + 1);
	}
	if (!ctx || !buf || inet_pton(AF_INET6, host, &sa.sin6_addr) != 1 ||
	    wolfSSL_CTX_set_cipher_list(ctx, SUITE) != WOLFSSL_SUCCESS)
		return die("client setup failed");
	memset(buf, 0x5a, BUF);
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_NONE, NULL);
	fd = socket(AF_INET6, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return die("cannot connect");
	ssl = wolfSSL_new(ctx);
	wolfSSL_set_fd(ssl, fd);
	if (wolfSSL_connect(ssl) != WOLFSSL_SUCCESS)
		return die("handshake failed");
	for (int i = 0; i < 8; i++)
		len[i] = (unsigned char)(want >> (56 - 8 * i));
	t0 = now();
	if (wolfSSL_write(ssl, len, 8) != 8)
		return die("write failed");
	while (sent < want) {
		int n = want - sent > BUF ? BUF : (int)(want - sent);
		if (wolfSSL_write(ssl, buf, n) != n)
			return die("write failed");
		sent += n;
	}
	if (wolfSSL_read(ssl, &ack, 1) != 1)
		return die("no acknowledgement");
	t1 = now();
	printf("bytes %lld seconds %.3f MB/s %.1f cipher %s\n", sent, t1 - t0,
	       sent / (t1 - t0) / 1e6, wolfSSL_get_cipher_name(ssl));
	wolfSSL_shutdown(ssl);
	wolfSSL_free(ssl);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	wolfSSL_Init();
	if (argc == 5 && !strcmp(argv[1], "server"))
		return server(atoi(argv[2]), argv[3], argv[4]);
	if (argc == 5 && !strcmp(argv[1], "client"))
		return client(argv[2], atoi(argv[3]), atol(argv[4]));
	fprintf(stderr, "usage: tls_raw server PORT CERT KEY | client ADDR%%IF PORT MIB\n");
	return 2;
}
