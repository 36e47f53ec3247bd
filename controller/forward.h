/* forward.h - the forwarder process: the only holder of the content
 * destination's credentials. It forwards every committed recording from the
 * staging area's ready queue to the destination (Body worn integration API,
 * a Swift subset), and deletes it from staging only once the destination
 * provably holds it (ETags checked, container Status=Complete). */
#ifndef BWC_FORWARD_H
#define BWC_FORWARD_H

#include <sys/types.h>

#include "controller/controller.h"

struct forward_proc {
	pid_t pid;
	int wake_fd;      /* parent writes a byte after each commit */
};

/* Forks the forwarder. system_id/name identify this system at the destination. */
int forward_start(const struct ctl_config *cfg, const char *system_id, const char *system_name,
		  const char *audit_path, struct forward_proc *ret);
/* Wakes the forwarder (non-blocking; a full pipe means it is awake anyway). */
void forward_wake(struct forward_proc *f);
void forward_stop(struct forward_proc *f);

/* Container name of a recording: <UserID>_<BWCSerialNumber>_<TriggerOnTime>,
 * TriggerOnTime as YYYYMMDDTHHMMSSZ. */
int forward_container_name(const char *user_id, const char *serial, time_t trigger_on,
			   char *out, size_t cap);
/* Object name of a clip: <StartTime>_<RecordingID>.<ext>, StartTime as
 * YYYYMMDD_HHMMSS (UTC), RecordingID the first 8 hex digits of the id. */
int forward_object_name(time_t start, const char *recording_id, const char *ext, char *out,
			size_t cap);

#endif
