/* certs_cert.c - libFuzzer target: certificates from the other side (system
 * CA, controller, destination): certs_parse, certs_verify_issued_by and
 * certs_verify_signature on arbitrary DER, certs_pem_to_der on arbitrary text.
 * Input: 2 bytes (leaf length, big-endian, modulo the rest), 1 flag byte, then
 * leaf DER, anchor DER. */
#include "tests/fuzz/certs_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cert_info info;
	const uint8_t *leaf, *anchor;
	size_t leaf_len, anchor_len;
	uint8_t flags;
	static const uint8_t msg[] = "bwc-receipt-v1\n";

	if (certs_parse(data, size, &info) == CERTS_OK)
		fz_check_info(&info);
	fz_pem(data, size, "CERTIFICATE", certs_parse);
	if (size < 3)
		return 0;
	leaf_len = ((size_t)data[0] << 8 | data[1]) % (size - 2);
	flags = data[2];
	leaf = data + 3;
	leaf_len = leaf_len > size - 3 ? size - 3 : leaf_len;
	anchor = leaf + leaf_len;
	anchor_len = size - 3 - leaf_len;
	/* Time checks at a fixed moment (2025-01-01) so that runs repeat. */
	certs_verify_issued_by(leaf, leaf_len, anchor, anchor_len, flags & 1, 1735689600);
	if (certs_parse(leaf, leaf_len, &info) == CERTS_OK)
		fz_check_info(&info);
	/* The anchor part as a receipt signature by the leaf. */
	if (anchor_len > 0 && anchor_len <= 128)
		certs_verify_signature(leaf, leaf_len, msg, sizeof(msg) - 1, anchor, anchor_len);
	return 0;
}
