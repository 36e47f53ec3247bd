/* testchan.c - the test-only command channel on ttyS1 (see testchan.h): lets
 * the rig run the recorder, read /proc and files, and power the VM off,
 * without a shell or any network service in the image. */
#include "image/testchan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES 4096
#define ARGS_MAX 64
#define OUT_MAX (4u << 20)

struct out {
	char *buf;
	size_t len;
};

int testchan_open(void)
{
	struct termios t;
	int fd = open(TESTCHAN_DEV, O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0 || tcgetattr(fd, &t) < 0) {
		init_say("test channel %s: %s", TESTCHAN_DEV, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	cfmakeraw(&t);
	t.c_cc[VMIN] = 1;
	t.c_cc[VTIME] = 0;
	cfsetspeed(&t, B115200);
	if (tcsetattr(fd, TCSANOW, &t) < 0) {
		init_say("test channel %s: raw mode: %s", TESTCHAN_DEV, strerror(errno));
		close(fd);
		return -1;
	}
	init_say("test channel on %s (test builds of the rig only)", TESTCHAN_DEV);
	return fd;
}

static void out_add(struct out *o, const void *p, size_t n)
{
	if (o->len + n > OUT_MAX)
		n = OUT_MAX - o->len;
	char *nb = n ? realloc(o->buf, o->len + n) : o->buf;
	if (!nb)
		return;
	memcpy(nb + o->len, p, n);
	o->buf = nb;
	o->len += n;
}

static void reply(int fd, int code, struct out *o)
{
	char head[64];
	int n = snprintf(head, sizeof(head), "BWCR %d %zu\n", code, o->len);
	const char *parts[2] = { head, o->buf };
	size_t lens[2] = { (size_t)n, o->len };

	for (int i = 0; i < 2; i++)
		for (size_t off = 0; off < lens[i];) {
			ssize_t w = write(fd, parts[i] + off, lens[i] - off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				return;
			off += (size_t)w;
		}
	tcdrain(fd);
}

static int op_read(const char *path, struct out *o)
{
	char buf[8192];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		out_add(o, buf, (size_t)n);
	close(fd);
	return n < 0 ? -errno : 0;
}

static int op_list(const char *path, struct out *o)
{
	struct dirent *de;
	DIR *d = opendir(path);

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		out_add(o, de->d_name, strlen(de->d_name));
		out_add(o, "\n", 1);
	}
	closedir(d);
	return 0;
}

static pid_t spawn_bwc(char **argv, int out_fd)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	int null = open("/dev/null", O_RDONLY);
	dup2(null, 0);
	dup2(out_fd, 1);
	dup2(out_fd, 2);
	init_drop_to_bwc();
	execve(argv[0], argv, init_env);
	fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* Runs argv as the camera's user, collecting stdout+stderr, killed after
 * timeout_s. Returns its exit status (128+signal when killed). */
static int op_exec(int timeout_s, char **argv, struct out *o)
{
	int p[2], status = 0;
	char buf[4096];
	struct timespec t0, now;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = spawn_bwc(argv, p[1]);
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -errno;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		struct pollfd pfd = { .fd = p[0], .events = POLLIN };
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = (long)timeout_s * 1000 - ((now.tv_sec - t0.tv_sec) * 1000 +
						     (now.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0) {
			kill(-pid, SIGKILL);
			out_add(o, "\n(killed: timeout)\n", 19);
			break;
		}
		int r = poll(&pfd, 1, (int)left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			continue;
		ssize_t n = read(p[0], buf, sizeof(buf));
		if (n <= 0)
			break;
		out_add(o, buf, (size_t)n);
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void run_request(int fd, char *line)
{
	char *argv[ARGS_MAX + 1], *save = NULL;
	struct out o = { 0 };
	int argc = 0, code;

	for (char *t = strtok_r(line, "\t", &save); t && argc < ARGS_MAX;
	     t = strtok_r(NULL, "\t", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	if (argc == 0)
		return;
	if (strcmp(argv[0], "ping") == 0) {
		out_add(&o, "pong\n", 5);
		code = 0;
	} else if (strcmp(argv[0], "read") == 0 && argc == 2) {
		code = op_read(argv[1], &o);
	} else if (strcmp(argv[0], "list") == 0 && argc == 2) {
		code = op_list(argv[1], &o);
	} else if (strcmp(argv[0], "exec") == 0 && argc >= 3 && argv[2][0] == '/') {
		code = op_exec(atoi(argv[1]) > 0 ? atoi(argv[1]) : 60, argv + 2, &o);
	} else if (strcmp(argv[0], "spawn") == 0 && argc >= 2 && argv[1][0] == '/') {
		pid_t pid = spawn_bwc(argv + 1, 2);
		char text[32];
		int n = snprintf(text, sizeof(text), "%d\n", (int)pid);
		out_add(&o, text, (size_t)n);
		code = pid > 0 ? 0 : -errno;
	} else if (strcmp(argv[0], "poweroff") == 0) {
		reply(fd, 0, &o);
		init_poweroff();
		return;
	} else {
		const char *m = "unknown request (ping | read PATH | list DIR | exec SECONDS "
				"/ABS/PATH ARGS... | spawn /ABS/PATH ARGS... | poweroff)\n";
		out_add(&o, m, strlen(m));
		code = -22;
	}
	reply(fd, code, &o);
	free(o.buf);
}

void testchan_serve(int fd)
{
	static char line[LINE_MAX_BYTES];
	static size_t len;
	char buf[512];
	ssize_t n = read(fd, buf, sizeof(buf));

	for (ssize_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			line[len] = 0;
			len = 0;
			run_request(fd, line);
		} else if (len + 1 < sizeof(line)) {
			line[len++] = buf[i];
		}
	}
}
