/* SPDX-License-Identifier: MIT */
/*
 * The run's private host directory: $TMPDIR/ptvfs-XXXXXX (mode 0700), home
 * of the --tmpfs directories and of the host stand-ins for the view's
 * virtual directories. It is removed when ptvfs ends, and also when ptvfs
 * is killed: a small guard process, neither traced nor a child of ptvfs,
 * removes it when ptvfs's end closes the pipe it waits on.
 */
#ifndef PTVFS_SCRATCH_H
#define PTVFS_SCRATCH_H

struct scratch;

/* Make the directory and start its guard. NULL with *ERR (malloc'd, one line) on failure. */
struct scratch *scratch_create(char **err);
/* Its absolute path. */
const char *scratch_dir(const struct scratch *s);
/*
 * A new empty directory inside it (for --tmpfs): its absolute path, owned
 * by S. NULL with *ERR set on failure.
 */
const char *scratch_new_dir(struct scratch *s, const char *name_hint, char **err);
/* Remove the directory and all in it (also what the command made unwritable), end the guard. */
void scratch_destroy(struct scratch *s);

#endif
