/* swtpm.c - a private swtpm per test: free ports, fork/exec, wait until the
 * command port accepts, SIGTERM at the end (see swtpm.h). */
#include "swtpm.h"

#include "hw/keystore.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int swtpm_installed(void)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
		size_t n = strcspn(p, ":");
		snprintf(buf, sizeof(buf), "%.*s/swtpm", (int)n, p);
		if (access(buf, X_OK) == 0)
			return 1;
		p += n + (p[n] == ':');
	}
	return 0;
}

void swtpm_require(void)
{
	if (swtpm_installed())
		return;
	printf("swtpm not installed (Debian: apt-get install swtpm swtpm-tools): skipped\n");
	exit(SWTPM_SKIP);
}

static int bind_port(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return ntohs(sa.sin_port);
}

int swtpm_free_port(void)
{
	for (int i = 0; i < 50; i++) {
		int p = bind_port(0);
		if (p > 0 && p < 65535 && bind_port(p + 1) == p + 1)
			return p;
	}
	return -1;
}

static int can_connect(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), r;

	if (fd < 0)
		return 0;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return r;
}

static pid_t spawn(const char *statedir, int port)
{
	char server[64], ctrl[64], state[PATH_MAX + 8];
	pid_t pid;

	snprintf(server, sizeof(server), "type=tcp,port=%d,bindaddr=127.0.0.1", port);
	snprintf(ctrl, sizeof(ctrl), "type=tcp,port=%d,bindaddr=127.0.0.1", port + 1);
	snprintf(state, sizeof(state), "dir=%s", statedir);
	pid = fork();
	if (pid == 0) {
		execlp("swtpm", "swtpm", "socket", "--tpm2", "--server", server, "--ctrl", ctrl,
		       "--tpmstate", state, "--flags", "not-need-init,startup-clear", (char *)NULL);
		_exit(127);
	}
	return pid;
}

int swtpm_start(struct swtpm *s, const char *statedir)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };

	if (mkdir(statedir, 0700) < 0 && errno != EEXIST)
		return -1;
	for (int attempt = 0; attempt < 5; attempt++) {
		int status;

		s->port = swtpm_free_port();
		if (s->port < 0)
			return -1;
		s->pid = spawn(statedir, s->port);
		if (s->pid < 0)
			return -1;
		for (int i = 0; i < 500; i++) {   /* 10 s */
			if (waitpid(s->pid, &status, WNOHANG) == s->pid)
				break;   /* exited: port taken meanwhile? try again */
			if (can_connect(s->port)) {
				snprintf(s->tcti, sizeof(s->tcti), "swtpm:host=127.0.0.1,port=%d",
					 s->port);
				snprintf(s->spec_head, sizeof(s->spec_head), "tpm:%s;dir=", s->tcti);
				return 0;
			}
			nanosleep(&pause, NULL);
		}
		kill(s->pid, SIGKILL);
		waitpid(s->pid, &status, 0);
	}
	s->pid = 0;
	return -1;
}

void swtpm_stop(struct swtpm *s)
{
	int status;

	if (s->pid <= 0)
		return;
	kill(s->pid, SIGTERM);
	waitpid(s->pid, &status, 0);
	s->pid = 0;
}

keystore_t *swtpm_keystore(struct swtpm *s, const char *state, const char *keys)
{
	char spec[PATH_MAX + 100];
	keystore_t *ks = NULL;

	memset(s, 0, sizeof(*s));
	if (swtpm_start(s, check_path(state)) < 0) {
		CHECK(!"swtpm started");
		return NULL;
	}
	snprintf(spec, sizeof(spec), "%s%s", s->spec_head, keys);
	CHECK_KS(ks_open(spec, &ks), KS_OK);
	return ks;
}
