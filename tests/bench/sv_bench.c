/* sv_bench.c - signing cost of signed video: runs the signer over every NAL
 * unit of an Annex-B H.264 file (as bwc-record does per packet) with a fresh
 * software P-256 key, and prints the CPU time spent and the bytes in and out.
 * Usage: sv_bench FILE.h264 */
#include "signed-video/sv.h"

#include <wolfssl/wolfcrypt/asn_public.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static const struct sv_product product = { .hardware_id = "BWC-1000", .firmware = "0.1.0",
						    .serial = "RIG00001", .manufacturer = "Rig Manufacturer" };
	FILE *f;
	uint8_t *in, *out, spki[128];
	long size;
	size_t out_len;
	ecc_key key;
	WC_RNG rng;
	sv_signer_t *s;
	double t0, t1;
	int n;

	if (argc != 2 || !(f = fopen(argv[1], "rb"))) {
		fprintf(stderr, "usage: sv_bench FILE.h264 (an Annex-B H.264 file)\n");
		return 2;
	}
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	rewind(f);
	in = malloc((size_t)size);
	if (!in || fread(in, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "sv_bench: cannot read %s\n", argv[1]);
		return 1;
	}
	fclose(f);
	if (wc_InitRng(&rng) != 0 || wc_ecc_init(&key) != 0 || wc_ecc_make_key(&rng, 32, &key) != 0 ||
	    (n = wc_EccPublicKeyToDer(&key, spki, sizeof(spki), 1)) <= 0 ||
	    sv_signer_create(&key, spki, (size_t)n, &product, &s) != SV_OK) {
		fprintf(stderr, "sv_bench: cannot set up the signer\n");
		return 1;
	}
	t0 = cpu_now();
	if (sv_signer_annexb(s, in, (size_t)size, 1, &out, &out_len) != SV_OK) {
		fprintf(stderr, "sv_bench: signing failed\n");
		return 1;
	}
	t1 = cpu_now();
	printf("cpu_seconds %.6f bytes_in %ld bytes_out %zu\n", t1 - t0, size, out_len);
	free(out);
	free(in);
	sv_signer_free(s);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
	return 0;
}
