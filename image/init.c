/* init.c - process 1 of the camera image: loads the kernel modules, unlocks the
 * LUKS2 data volume with the key sealed in the TPM, gives the daemon its keystore
 * (its keys in the TPM, their blobs on the keys disk), starts the camera daemon
 * unprivileged and supervises it. No shell exists in the image. See README.md. */
#include "hw/keystore.h"
#include "hw/storage.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "image/testchan.h"

#define KEYS_DEV "/dev/vda"          /* small ext4 written by the factory: TPM-wrapped */
#define KEYS_MNT "/keys"             /* blobs and certificates only */
#define DATA_DEV "/dev/vdb"          /* LUKS2: recordings, state */
#define TPM_DEV "/dev/tpmrm0"
/* init's own keystore (the sealed data-volume key): root only */
#define KS_DIR "/keys/ks"
#define KS_SPEC "tpm:device:/dev/tpmrm0;dir=" KS_DIR
/* the daemon's keystore (/etc/bwc.conf names it): the factory's IDevID and
 * video-signing keys and their certificates, then the daemon's LDevIDs */
#define DAEMON_KS_DIR "/keys/bwc"
#define SEAL_NAME "data-volume"
#define MAP_NAME "bwc-data"
#define MAP_DEV "/dev/mapper/" MAP_NAME
#define DATA_KEY_BYTES 64
#define MODULE_LIST "/lib/modules/load.list"
#define DOCK_IF "dock0"
#define DAEMON "/usr/bin/bwc"
#define DAEMON_CONF "/etc/bwc.conf"
#define MKE2FS "/usr/sbin/mke2fs"

static pid_t daemon_pid;
static int volume_ok;
static volatile sig_atomic_t shutdown_requested;

/* SIGTERM, SIGINT (ctrl-alt-del), SIGPWR: an orderly power-off. */
static void on_shutdown_signal(int sig)
{
	shutdown_requested = sig;
}

static double uptime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void init_say(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "[%7.3f] bwc-init: ", uptime());
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmdline_has(const char *flag)
{
	char buf[2048], *tok, *save = NULL;
	int fd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (tok = strtok_r(buf, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save))
		if (strcmp(tok, flag) == 0)
			return 1;
	return 0;
}

static void early_mounts(void)
{
	mkdir("/proc", 0555);
	mkdir("/sys", 0555);
	mkdir("/dev", 0755);
	mkdir("/run", 0755);
	mkdir("/tmp", 01777);
	mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("sysfs", "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
	mount("tmpfs", "/run", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755");
	mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777");
}

static void console_stdio(void)
{
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
	setvbuf(stderr, NULL, _IOLBF, 0);
}

/* The build wrote the modules in dependency order, one path a line. */
static int load_modules(void)
{
	char line[PATH_MAX];
	int loaded = 0, failed = 0;
	FILE *f = fopen(MODULE_LIST, "re");

	if (!f) {
		init_say("cannot read %s: %s (the image is incomplete; rebuild it)", MODULE_LIST,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		if (!line[0])
			continue;
		int fd = open(line, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)) {
			init_say("cannot load module %s: %s", line, strerror(errno));
			failed++;
		} else {
			loaded++;
		}
		if (fd >= 0)
			close(fd);
	}
	fclose(f);
	init_say("loaded %d kernel module(s)%s", loaded, failed ? ", some failed" : "");
	return failed ? -1 : 0;
}

static int wait_path(const char *path, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(20000);
	}
	return -1;
}

/* ---- network: one interface, renamed dock0, IPv6 link-local only ---- */
static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? write(fd, text, strlen(text)) : -1;
	int e = errno;

	if (fd >= 0)
		close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

static int if_up(int s, const char *name)
{
	struct ifreq ifr = { 0 };

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		return -1;
	ifr.ifr_flags |= IFF_UP;
	return ioctl(s, SIOCSIFFLAGS, &ifr);
}

static int net_setup(void)
{
	char nic[IF_NAMESIZE] = "";
	struct dirent *de;
	DIR *d;
	int s, r = 0;

	/* Before any interface comes up: no DAD delay (the dock is a point-to-point
	 * link to the controller), no IPv4 ever, router advertisements accepted
	 * (the controller is found through them). */
	write_file("/proc/sys/net/ipv6/conf/default/accept_dad", "0");
	write_file("/proc/sys/net/ipv6/conf/all/accept_dad", "0");
	write_file("/proc/sys/net/ipv6/conf/default/accept_ra", "1");
	write_file("/proc/sys/net/ipv6/conf/default/use_tempaddr", "0");
	if (wait_path("/sys/class/net/eth0", 5000) == 0) {
		snprintf(nic, sizeof(nic), "eth0");
	} else if ((d = opendir("/sys/class/net"))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.' && strcmp(de->d_name, "lo") != 0 &&
			    strlen(de->d_name) < sizeof(nic))
				snprintf(nic, sizeof(nic), "%s", de->d_name);
		closedir(d);
	}
	if ((s = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0)) < 0) {
		init_say("no IPv6 socket: %s", strerror(errno));
		return -1;
	}
	if (if_up(s, "lo") < 0)
		init_say("cannot bring lo up: %s", strerror(errno));
	if (!nic[0]) {
		init_say("no network interface: the VM needs one virtio-net device");
		r = -1;
	} else {
		struct ifreq ifr = { 0 };
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", nic);
		snprintf(ifr.ifr_newname, sizeof(ifr.ifr_newname), "%s", DOCK_IF);
		if (strcmp(nic, DOCK_IF) != 0 && ioctl(s, SIOCSIFNAME, &ifr) < 0) {
			init_say("cannot rename %s to %s: %s", nic, DOCK_IF, strerror(errno));
			r = -1;
		} else if (if_up(s, DOCK_IF) < 0) {
			init_say("cannot bring %s up: %s", DOCK_IF, strerror(errno));
			r = -1;
		} else {
			init_say("network: %s (was %s) up, IPv6 link-local only", DOCK_IF, nic);
		}
	}
	close(s);
	return r;
}

/* ---- helpers for the volume ---- */
static int run_wait(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		execve(argv[0], argv, (char *const[]){ "PATH=/usr/sbin:/usr/bin", NULL });
		fprintf(stderr, "bwc-init: cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int mkfs_ext4(const char *dev, const char *label)
{
	char *argv[] = { MKE2FS, "-q", "-F", "-t", "ext4", "-L", (char *)label,
			 "-E", "lazy_itable_init=1,lazy_journal_init=1", (char *)dev, NULL };
	int r = run_wait(argv);

	if (r != 0)
		init_say("mke2fs %s failed (exit %d)", dev, r);
	return r == 0 ? 0 : -1;
}

static int mount_ext4(const char *dev, const char *dir, unsigned long flags)
{
	mkdir(dir, 0755);
	return mount(dev, dir, "ext4", MS_NOSUID | MS_NODEV | MS_NOEXEC | flags, NULL);
}

/* What the factory wrote in the daemon's keystore; anything else there is the
 * daemon's (its LDevIDs: the camera's membership of a system). */
static const char *const factory_files[] = { "idevid.tpmkey", "idevid.pem", "video.tpmkey",
					     "video.pem", "manufacturer-root.pem" };

static int is_factory_file(const char *name)
{
	for (size_t i = 0; i < sizeof(factory_files) / sizeof(factory_files[0]); i++)
		if (strcmp(name, factory_files[i]) == 0)
			return 1;
	return 0;
}

/* The daemon's directories on a new data volume. */
static int data_dirs(void)
{
	if (mkdir("/data/state", 0700) < 0 || chown("/data/state", BWC_UID, BWC_UID) < 0) {
		init_say("cannot create the daemon's state directory on the data volume: %s",
			 strerror(errno));
		return -1;
	}
	if (chown("/data", BWC_UID, BWC_UID) < 0 || chmod("/data", 0700) < 0)
		init_say("cannot give /data to the camera's user: %s", strerror(errno));
	return 0;
}

/* The camera's identity on the keys disk, before anything is formatted: without
 * it the daemon can neither enrol nor sign video. */
static int factory_identity_present(void)
{
	if (access(DAEMON_KS_DIR "/idevid.tpmkey", F_OK) == 0 &&
	    access(DAEMON_KS_DIR "/idevid.pem", F_OK) == 0)
		return 1;
	init_say("FAILED: no factory identity on the keys disk (%s/idevid.tpmkey, idevid.pem): "
		 "this camera was not provisioned by the factory (bwc-pki provision into its "
		 "TPM, tests/rig/vmlib.py); nothing was formatted", DAEMON_KS_DIR);
	return 0;
}

/* Factory default forgets the system the camera belonged to: its state went
 * with the data volume, its LDevID keys go here. The factory's files stay. */
static void forget_system(void)
{
	struct dirent *de;
	int n = 0, dfd = open(DAEMON_KS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;

	if (!d) {
		if (dfd >= 0)
			close(dfd);
		return;
	}
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, ".tpm.lock") == 0 || is_factory_file(de->d_name))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			n++;
		else
			init_say("factory default: cannot remove %s/%s: %s", DAEMON_KS_DIR,
				 de->d_name, strerror(errno));
	}
	closedir(d);
	sync();
	init_say("factory default: removed %d of the daemon's key file(s) (LDevID)", n);
}

/* The daemon (uid BWC_UID) owns its keystore directory: the TPM backend's lock
 * file and its LDevID blobs are created there. It reaches the TPM through the
 * kernel's resource manager only (group BWC_UID); /dev/tpm0 stays root's.
 * Symbolic links are never followed (the keys disk is not encrypted). */
static int daemon_access(void)
{
	struct dirent *de;
	int dfd = open(DAEMON_KS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR *d;

	if (dfd < 0 || fchown(dfd, BWC_UID, BWC_UID) < 0 || fchmod(dfd, 0700) < 0 ||
	    !(d = fdopendir(dfd))) {
		init_say("FAILED: cannot give the daemon its keystore %s: %s", DAEMON_KS_DIR,
			 strerror(errno));
		if (dfd >= 0)
			close(dfd);
		return -1;
	}
	while ((de = readdir(d)))
		if (strcmp(de->d_name, "..") != 0 &&
		    fchownat(dirfd(d), de->d_name, BWC_UID, BWC_UID, AT_SYMLINK_NOFOLLOW) < 0)
			init_say("cannot give %s/%s to the camera's user: %s", DAEMON_KS_DIR,
				 de->d_name, strerror(errno));
	closedir(d);
	if (chown(TPM_DEV, 0, BWC_UID) < 0 || chmod(TPM_DEV, 0660) < 0) {
		init_say("FAILED: cannot open %s to the camera's user: %s", TPM_DEV,
			 strerror(errno));
		return -1;
	}
	return 0;
}

static const char *unseal_advice(int r)
{
	switch (r) {
	case KS_E_NOT_FOUND:
		return "no sealed data-volume key in the keystore: the keys disk was cleared or "
		       "belongs to no provisioned camera";
	case KS_E_WRONG_TPM:
		return "the data-volume key was sealed by another TPM (another camera's disk, or "
		       "this camera's TPM was cleared)";
	case KS_E_NO_TPM:
		return "no TPM reachable (is the VM's TPM attached?)";
	case KS_E_IO:
		return "the keystore on the keys disk could not be used";
	default:
		return "the TPM refused to unseal the data-volume key";
	}
}

/* Factory default: the volume key is destroyed (crypto-erase), then the
 * sealed key and the LDevIDs; the next steps provision afresh. The factory
 * identity stays: it belongs to the device, not to a system. */
static void factory_default(void)
{
	keystore_t *ks = NULL;
	int r = storage_crypto_erase(DATA_DEV);

	init_say("factory default: crypto-erase of the data volume: %s",
		 r == STORAGE_OK || r == STORAGE_E_NOT_LUKS ? "done" : storage_strerror(r));
	if (ks_open(KS_SPEC, &ks) == KS_OK) {
		ks_unseal_destroy(ks, SEAL_NAME);
		ks_close(ks);
	}
	forget_system();
}

static int provision(uint8_t *key)
{
	keystore_t *ks = NULL;
	int r;

	init_say("first boot: provisioning the LUKS2 data volume");
	if (mkdir(KS_DIR, 0700) < 0 && errno != EEXIST) {
		init_say("FAILED: cannot create %s on the keys disk %s: %s", KS_DIR, KEYS_DEV,
			 strerror(errno));
		return -1;
	}
	if ((r = ks_open(KS_SPEC, &ks)) != KS_OK) {
		init_say("FAILED: keystore %s: %s %s", KS_SPEC, ks_strerror(r), ks_last_detail());
		return -1;
	}
	r = ks_random(ks, key, DATA_KEY_BYTES);
	if (r == KS_OK)
		r = ks_seal(ks, SEAL_NAME, key, DATA_KEY_BYTES);
	ks_close(ks);
	sync();
	if (r != KS_OK) {
		init_say("FAILED: cannot seal a new data-volume key in the TPM: %s %s",
			 ks_strerror(r), ks_last_detail());
		return -1;
	}
	if ((r = storage_provision(DATA_DEV, key, DATA_KEY_BYTES, NULL, NULL)) != STORAGE_OK) {
		init_say("FAILED: cannot format %s as LUKS2: %s", DATA_DEV, storage_strerror(r));
		return -1;
	}
	init_say("data volume formatted: LUKS2 aes-xts-plain64, 512-bit key; key sealed in the "
		 "TPM");
	return 0;
}

static int unseal_key(uint8_t *key)
{
	keystore_t *ks = NULL;
	size_t len = 0;
	int r;

	r = ks_open(KS_SPEC, &ks);
	if (r == KS_OK)
		r = ks_unseal(ks, SEAL_NAME, key, DATA_KEY_BYTES, &len);
	ks_close(ks);
	if (r == KS_OK && len != DATA_KEY_BYTES)
		r = KS_E_CORRUPT;
	if (r != KS_OK) {
		init_say("FAILED: cannot unlock the data volume: %s (%s%s%s). The data stays "
			 "encrypted; factory default (bwc.factory_default=1) erases it and starts "
			 "afresh", unseal_advice(r), ks_strerror(r), *ks_last_detail() ? ": " : "",
			 ks_last_detail());
		return -1;
	}
	return 0;
}

/* The keys disk stays mounted (read-write: the TPM keystores take their lock
 * files there, the daemon adds its LDevID blobs) until power-off. */
static int keys_mount(void)
{
	if (mount_ext4(KEYS_DEV, KEYS_MNT, 0) == 0)
		return 0;
	init_say("FAILED: the keys disk %s holds no file system (%s): it was cleared, or the "
		 "factory never wrote it. It held this camera's identity (its TPM keys' blobs "
		 "and certificates): the factory must provision the camera again; the data volume "
		 "stays locked", KEYS_DEV, strerror(errno));
	return -1;
}

/* Mounts the keys disk, unlocks and mounts the data volume at /data;
 * provisions the volume when it was never formatted (or was crypto-erased).
 * 0 or -1 (message printed, nothing left mounted). */
static int volume_open(int want_factory_default)
{
	uint8_t key[DATA_KEY_BYTES];
	struct storage_info info;
	int fresh = 0, r;

	if (keys_mount() < 0)
		return -1;
	if (!factory_identity_present())
		goto fail;
	if (want_factory_default)
		factory_default();
	r = storage_status(DATA_DEV, &info);
	if (r == STORAGE_E_NOT_LUKS) {
		if (provision(key) < 0)
			goto fail;
		fresh = 1;
	} else if (r != STORAGE_OK) {
		init_say("FAILED: the data volume %s: %s", DATA_DEV, storage_strerror(r));
		goto fail;
	} else if (unseal_key(key) < 0) {
		goto fail;
	}
	r = storage_unlock(DATA_DEV, MAP_NAME, key, DATA_KEY_BYTES);
	explicit_bzero(key, sizeof(key));
	if (r != STORAGE_OK) {
		init_say("FAILED: cannot unlock the data volume: %s%s", storage_strerror(r),
			 r == STORAGE_E_BAD_KEY ? " - the disk belongs to another camera (its key "
			 "does not open it); the data stays encrypted" : "");
		goto fail;
	}
	if (fresh && mkfs_ext4(MAP_DEV, "bwc-data") < 0)
		goto fail;
	if (mount_ext4(MAP_DEV, "/data", 0) < 0) {
		init_say("FAILED: the unlocked data volume holds no file system (%s): provisioning "
			 "was interrupted; factory default (bwc.factory_default=1) starts afresh",
			 strerror(errno));
		goto fail;
	}
	if ((fresh && data_dirs() < 0) || daemon_access() < 0) {
		umount("/data");
		storage_lock(MAP_NAME);
		goto fail;
	}
	init_say("data volume unlocked and mounted on /data (%s)", fresh ? "new" : "existing");
	return 0;
fail:
	explicit_bzero(key, sizeof(key));
	umount(KEYS_MNT);
	return -1;
}

/* ---- the daemon ---- */
void init_drop_to_bwc(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(BWC_UID, BWC_UID, BWC_UID) < 0 ||
	    setresuid(BWC_UID, BWC_UID, BWC_UID) < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		fprintf(stderr, "bwc-init: cannot drop privileges: %s\n", strerror(errno));
		_exit(126);
	}
	umask(077);
	if (chdir("/data") < 0)
		_exit(126);
}

char *const init_env[] = { "PATH=/usr/bin", "HOME=/data", "TSS2_LOG=all+none", NULL };

static void start_daemon(void)
{
	pid_t pid = fork();

	if (pid < 0) {
		init_say("cannot fork the daemon: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setsid();
		init_drop_to_bwc();
		execve(DAEMON, (char *const[]){ DAEMON, "-c", DAEMON_CONF, NULL }, init_env);
		fprintf(stderr, "bwc-init: cannot run %s: %s\n", DAEMON, strerror(errno));
		_exit(127);
	}
	daemon_pid = pid;
	init_say("camera daemon started (pid %d, uid %d)", (int)pid, BWC_UID);
}

void init_poweroff(void)
{
	init_say("powering off");
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
		for (int i = 0; i < 100 && waitpid(daemon_pid, NULL, WNOHANG) == 0; i++)
			usleep(50000);
		kill(daemon_pid, SIGKILL);
		daemon_pid = 0;
	}
	kill(-1, SIGKILL);
	sync();
	if (volume_ok) {
		if (umount("/data") < 0)
			init_say("unmount /data: %s", strerror(errno));
		storage_lock(MAP_NAME);
		if (umount(KEYS_MNT) < 0)
			init_say("unmount %s: %s", KEYS_MNT, strerror(errno));
	}
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

static void reap(void)
{
	static double last_start;
	int status;
	pid_t pid;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != daemon_pid)
			continue;
		init_say("camera daemon (pid %d) %s %d", (int)pid,
			 WIFEXITED(status) ? "exited with status" : "killed by signal",
			 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		daemon_pid = 0;
	}
	/* restart it, at most once every 2 s */
	if (volume_ok && daemon_pid == 0 && uptime() - last_start >= 2.0) {
		last_start = uptime();
		start_daemon();
	}
}

int main(void)
{
	struct pollfd pfd;
	sigset_t mask;
	int chan = -1;

	if (getpid() != 1) {
		fprintf(stderr, "bwc-init: this is process 1 of the camera image; it does not run "
				"on a host\n");
		return 2;
	}
	early_mounts();
	console_stdio();
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	struct sigaction sa = { .sa_handler = on_shutdown_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGPWR, &sa, NULL);
	init_say("camera image starting");
#ifdef BWC_TESTCHAN
	/* Raw mode before the first "ready" or "FAILED" line: the rig sends its
	 * requests as soon as it sees one, and a cooked tty would echo them. */
	if (cmdline_has("bwc.testchan=1"))
		chan = testchan_open();
#endif
	load_modules();
	if (wait_path(KEYS_DEV, 10000) < 0 || wait_path(DATA_DEV, 10000) < 0)
		init_say("FAILED: the VM needs two virtio disks: %s (keys) and %s (data)",
			 KEYS_DEV, DATA_DEV);
	else if (wait_path(TPM_DEV, 10000) < 0)
		init_say("FAILED: no TPM (%s): attach one (QEMU -tpmdev emulator + swtpm)", TPM_DEV);
	else
		volume_ok = volume_open(cmdline_has("bwc.factory_default=1")) == 0;
	net_setup();
	if (volume_ok)
		init_say("ready: starting the camera daemon");
	for (;;) {
		if (shutdown_requested)
			init_poweroff();
		reap();
		pfd = (struct pollfd){ .fd = chan, .events = POLLIN };
		if (poll(&pfd, 1, 500) > 0 && (pfd.revents & POLLIN)) {
#ifdef BWC_TESTCHAN
			testchan_serve(chan);
#endif
		}
	}
}
