/* privdrop.h - giving up privileges once start-up is done. */
#ifndef BWC_PRIVDROP_H
#define BWC_PRIVDROP_H

/* Drops every capability (bounding, effective, permitted, inheritable) and
 * sets no-new-privileges. The uid stays: the process keeps access to the
 * files it owns (its state directory) and nothing else a capability gave.
 * Returns 0 or -errno. */
int privdrop_capabilities(void);

#endif
