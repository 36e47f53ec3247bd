/* bwc-storage - the encrypted-storage layer (hw/storage.h) from the command
 * line: provision, check, status, erase, rekey and unlock a LUKS2 volume. */
#include "hw/storage.h"

#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(void)
{
	fprintf(stderr,
		"usage: bwc-storage provision IMAGE --key-file F [--recovery-pass-file F]\n"
		"       bwc-storage check     IMAGE --key-file F | --recovery-pass-file F\n"
		"       bwc-storage status    IMAGE\n"
		"       bwc-storage erase     IMAGE --yes\n"
		"       bwc-storage rekey     IMAGE --key-file OLD --new-key-file NEW [--recovery-pass-file F]\n"
		"       bwc-storage unlock    IMAGE --key-file F --name NAME\n"
		"       bwc-storage lock      NAME\n");
}

/* Reads a whole small secret file; strip_nl for passphrases. */
static int read_secret(const char *path, uint8_t *buf, size_t cap, size_t *ret_len, int strip_nl)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = 0;
	for (;;) {
		ssize_t k = read(fd, buf + n, cap - n);
		if (k < 0) {
			close(fd);
			return -1;
		}
		if (k == 0)
			break;
		n += (size_t)k;
		if (n == cap) {   /* too long: refuse rather than truncate */
			close(fd);
			return -1;
		}
	}
	close(fd);
	while (strip_nl && n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = 0;
	*ret_len = n;
	return n ? 0 : -1;
}

static int fail(const char *what, const char *image, int r)
{
	fprintf(stderr, "bwc-storage: %s %s: %s\n", what, image, storage_strerror(r));
	return 1;
}

static void print_status(const char *image, const struct storage_info *i)
{
	printf("%s: LUKS%d %s-%s, %u-bit volume key\n", image, i->luks_version, i->cipher,
	       i->cipher_mode, i->key_bits);
	printf("label %s, subsystem %s, uuid %s, data offset %llu bytes\n", i->label,
	       i->subsystem, i->uuid, (unsigned long long)i->data_offset);
	printf("key slots in use:");
	for (int s = 0; s < 32; s++)
		if (i->keyslots & (1u << s))
			printf(" %d", s);
	printf("\nvolume key digest %s\n", i->vk_digest);
	if (i->rekey_in_progress)
		printf("RE-KEY IN PROGRESS: run 'bwc-storage rekey' again to finish it\n");
}

struct args {
	const char *cmd, *image, *key_file, *new_key_file, *pass_file, *name;
	int yes;
	uint8_t key[STORAGE_KEY_MAX + 1], new_key[STORAGE_KEY_MAX + 1];
	char pass[STORAGE_PASS_MAX + 2];
	size_t key_len, new_len, pass_len;
};

static int load_secrets(struct args *a)
{
	if (a->key_file && read_secret(a->key_file, a->key, sizeof(a->key), &a->key_len, 0) < 0) {
		fprintf(stderr, "bwc-storage: cannot read key file %s (missing, empty or over %d bytes)\n",
			a->key_file, STORAGE_KEY_MAX);
		return -1;
	}
	if (a->new_key_file &&
	    read_secret(a->new_key_file, a->new_key, sizeof(a->new_key), &a->new_len, 0) < 0) {
		fprintf(stderr, "bwc-storage: cannot read new key file %s\n", a->new_key_file);
		return -1;
	}
	if (a->pass_file && read_secret(a->pass_file, (uint8_t *)a->pass, sizeof(a->pass) - 1,
					&a->pass_len, 1) < 0) {
		fprintf(stderr, "bwc-storage: cannot read passphrase file %s\n", a->pass_file);
		return -1;
	}
	return 0;
}

static int run(struct args *a)
{
	const char *pass = a->pass_file ? a->pass : NULL;
	int r;
	if (!strcmp(a->cmd, "status")) {
		struct storage_info info;
		r = storage_status(a->image, &info);
		if (r != STORAGE_OK)
			return fail("status of", a->image, r);
		print_status(a->image, &info);
		return 0;
	}
	if (!strcmp(a->cmd, "erase")) {
		if (!a->yes) {
			fprintf(stderr, "bwc-storage: erase destroys every key of %s for good; add --yes\n",
				a->image);
			return 2;
		}
		r = storage_crypto_erase(a->image);
		if (r != STORAGE_OK)
			return fail("erase", a->image, r);
		printf("%s: crypto-erased (key slots destroyed, header area overwritten)\n", a->image);
		return 0;
	}
	if (!strcmp(a->cmd, "check") && !a->key_file && pass) {
		r = storage_check_pass(a->image, pass);
		if (r != STORAGE_OK)
			return fail("check", a->image, r);
		printf("%s: the recovery passphrase opens a key slot\n", a->image);
		return 0;
	}
	if (!a->key_file) {
		usage();
		return 2;
	}
	if (!strcmp(a->cmd, "provision")) {
		r = storage_provision(a->image, a->key, a->key_len, pass, NULL);
		if (r != STORAGE_OK)
			return fail("provision", a->image, r);
		printf("%s: provisioned LUKS2 aes-xts-plain64 512-bit, key slot 0%s\n", a->image,
		       pass ? ", recovery slot 1" : "");
	} else if (!strcmp(a->cmd, "check")) {
		r = storage_check_key(a->image, a->key, a->key_len);
		if (r != STORAGE_OK)
			return fail("check", a->image, r);
		printf("%s: the key opens a key slot\n", a->image);
	} else if (!strcmp(a->cmd, "rekey") && a->new_key_file) {
		r = storage_rekey(a->image, a->key, a->key_len, a->new_key, a->new_len, pass, NULL);
		if (r != STORAGE_OK)
			return fail("rekey", a->image, r);
		printf("%s: re-encrypted with a new volume key; the new key file opens it\n", a->image);
	} else if (!strcmp(a->cmd, "unlock") && a->name) {
		r = storage_unlock(a->image, a->name, a->key, a->key_len);
		if (r != STORAGE_OK)
			return fail("unlock", a->image, r);
		printf("%s: open as /dev/mapper/%s\n", a->image, a->name);
	} else {
		usage();
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-file", required_argument, NULL, 'k' },
		{ "new-key-file", required_argument, NULL, 'n' },
		{ "recovery-pass-file", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'N' },
		{ "yes", no_argument, NULL, 'y' },
		{ NULL, 0, NULL, 0 },
	};
	static struct args a;
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'k': a.key_file = optarg; break;
		case 'n': a.new_key_file = optarg; break;
		case 'p': a.pass_file = optarg; break;
		case 'N': a.name = optarg; break;
		case 'y': a.yes = 1; break;
		default: usage(); return 2;
		}
	}
	if (argc - optind == 2 && !strcmp(argv[optind], "lock")) {
		int r = storage_lock(argv[optind + 1]);
		if (r != STORAGE_OK)
			return fail("lock", argv[optind + 1], r);
		printf("%s: closed\n", argv[optind + 1]);
		return 0;
	}
	if (argc - optind != 2) {
		usage();
		return 2;
	}
	a.cmd = argv[optind];
	a.image = argv[optind + 1];
	int rc = load_secrets(&a) < 0 ? 1 : run(&a);
	explicit_bzero(&a, sizeof(a));
	return rc;
}
