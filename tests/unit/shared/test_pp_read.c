/* test_pp_read.c - reading the passphrase from a private file, refusing a
 * file others can read, limits, and the no-terminal case. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "shared/passphrase.h"

static const char *put(const char *name, const char *text, mode_t mode)
{
	const char *path = check_path(name);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || close(fd) < 0 ||
	    chmod(path, mode) < 0)
		abort();
	return path;
}

static void from_file(void)
{
	char out[64];
	size_t len = 99;

	CHECK(pp_read(put("pp", "correct horse battery\nsecond line\n", 0600), NULL, out,
		      sizeof(out), &len) == 0);
	CHECK(len == 21 && strcmp(out, "correct horse battery") == 0);
	CHECK(pp_read(put("pp-crlf", "windows line ending\r\n", 0400), NULL, out, sizeof(out),
		      &len) == 0);
	CHECK(len == 19 && strcmp(out, "windows line ending") == 0);
	CHECK(pp_read(put("pp-nonl", "no newline at all", 0600), NULL, out, sizeof(out), &len) == 0);
	CHECK(len == 17 && strcmp(out, "no newline at all") == 0);
	CHECK(pp_read(put("pp-empty", "", 0600), NULL, out, sizeof(out), &len) == 0);
	CHECK(len == 0 && out[0] == 0);
}

static void refused(void)
{
	char out[16];
	size_t len = 99;

	CHECK(pp_read(put("pp-644", "correct horse battery\n", 0644), NULL, out, sizeof(out),
		      &len) == PP_E_PERMS);
	CHECK(pp_read(put("pp-640", "correct horse battery\n", 0640), NULL, out, sizeof(out),
		      &len) == PP_E_PERMS);
	CHECK(pp_read(put("pp-long", "sixteen chars!!!\n", 0600), NULL, out, sizeof(out), &len) ==
	      PP_E_TOO_LONG);
	CHECK(out[0] == 0 && len == 99); /* wiped, length untouched */
	CHECK(pp_read(put("pp-fits", "fifteen chars!!\n", 0600), NULL, out, sizeof(out), &len) == 0);
	CHECK(len == 15);
	CHECK(pp_read(check_path("missing"), NULL, out, sizeof(out), &len) == PP_E_IO);
	CHECK(pp_read(check_path("pp-fits"), NULL, NULL, sizeof(out), &len) == PP_E_INVAL);
	CHECK(pp_read(check_path("pp-fits"), NULL, out, 0, &len) == PP_E_INVAL);
	CHECK(pp_read(check_path("pp-fits"), NULL, out, sizeof(out), NULL) == PP_E_INVAL);
}

/* In a new session there is no controlling terminal to ask on. */
static void no_tty(void)
{
	pid_t pid;
	int status = 0;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		char out[64];
		size_t len;

		if (setsid() < 0)
			_exit(2);
		_exit(pp_read(NULL, "Passphrase: ", out, sizeof(out), &len) == PP_E_NO_TTY ? 0 : 1);
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void)
{
	from_file();
	refused();
	no_tty();
	return check_done();
}
