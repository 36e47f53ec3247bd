/* testchan.h - the test-only command channel of the camera image: the second
 * serial port (ttyS1), enabled by bwc.testchan=1 on the kernel command line
 * (the rig sets it; a shipped camera does not). A serial line, not a socket:
 * nothing in the image listens on the network. Protocol: README.md. */
#ifndef BWC_IMAGE_TESTCHAN_H
#define BWC_IMAGE_TESTCHAN_H

#define BWC_UID 1000            /* the daemon's and the recorder's user */
#define TESTCHAN_DEV "/dev/ttyS1"

/* init.c */
void init_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void init_drop_to_bwc(void);
void init_poweroff(void);
extern char *const init_env[];

/* The channel's fd (raw mode), or -1 (message printed). */
int testchan_open(void);
/* Reads what is available on fd; runs each complete request line. */
void testchan_serve(int fd);

#endif
