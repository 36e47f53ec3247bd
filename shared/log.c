/* log.c - timestamped log lines on stderr: "TIME ident[pid]: LEVEL: message".
 * The rig and the tests read these lines, so the shape stays stable. */
#include "shared/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static const char *log_ident = "bwc";
static enum log_level log_min = LOG_LVL_INFO;

void log_init(const char *ident, enum log_level min)
{
	log_ident = ident;
	log_min = min;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "debug", "info", "warning", "error" };
	char when[32];
	struct tm tm;
	time_t now;
	va_list ap;

	if (lvl < log_min)
		return;
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	flockfile(stderr);
	fprintf(stderr, "%s %s[%d]: %s: ", when, log_ident, (int)getpid(), names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
