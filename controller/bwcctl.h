/* bwcctl.h - the admin tool's shared state and helpers (bwcctl.c, bwcctl-forward.c). */
#ifndef BWC_BWCCTL_H
#define BWC_BWCCTL_H

#include "controller/controller.h"
#include "hw/keystore.h"

struct cli {
	struct ctl_config cfg;
	registry_t *reg;
	char audit_path[PATH_MAX];
	const char *passphrase_file;
	const char *system_name;
	int json;
	const char *camera_filter;
	int allow_insecure;
	const char *name;
	keystore_t *ks;   /* opened on first use */
};

/* Prints "bwcctl: ..." on stderr and returns 1 (the exit code). */
int die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void bwcctl_audit(struct cli *c, const char *event, const char *serial, const char *note);

int cmd_user(struct cli *c, const char *verb, const char *user_id, const char *arg);
int cmd_assign(struct cli *c, const char *serial, const char *user_id, const char *name);
int cmd_forward_status(struct cli *c);
int cmd_staging(struct cli *c, const char *verb);

/* The controller's keystore, opened on first use (NULL after saying why). */
keystore_t *bwcctl_keystore(struct cli *c);
/* Reads and checks the master-key passphrase into pass (caller wipes). 0 or
 * the exit code after saying why. */
int bwcctl_master(struct cli *c, const char *serial, char *pass, size_t cap);

#endif
