// SPDX-License-Identifier: MIT
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>

#include "ptvfs/syscalls.h"

const struct syscall_desc syscall_table[] = {
#include "syscall_table.h"
};

const size_t syscall_table_len = sizeof(syscall_table) / sizeof(syscall_table[0]);

/* Syscall numbers are small; a direct index answers each stop in O(1). */
#define SYSCALL_NR_MAX 1024
static const struct syscall_desc *by_nr[SYSCALL_NR_MAX];
static bool by_nr_built;

static void build_index(void)
{
	for (size_t i = 0; i < syscall_table_len; i++)
		if (syscall_table[i].nr >= 0 && syscall_table[i].nr < SYSCALL_NR_MAX)
			by_nr[syscall_table[i].nr] = &syscall_table[i];
	by_nr_built = true;
}

const struct syscall_desc *syscall_by_nr(int nr)
{
	if (!by_nr_built)
		build_index();
	if (nr < 0 || nr >= SYSCALL_NR_MAX)
		return NULL;
	return by_nr[nr];
}

const struct syscall_desc *syscall_by_name(const char *name)
{
	for (size_t i = 0; i < syscall_table_len; i++)
		if (strcmp(syscall_table[i].name, name) == 0)
			return &syscall_table[i];
	return NULL;
}

static bool arg_ok(int arg)
{
	return arg == SYS_NO_ARG || (arg >= 0 && arg < 6);
}

/* Whether row I is consistent with itself and the rows before it. */
static bool row_ok(size_t i)
{
	const struct syscall_desc *d = &syscall_table[i];

	if (d->nr < 0 || d->nr >= SYSCALL_NR_MAX || !d->name)
		return false;
	for (size_t j = 0; j < i; j++)
		if (syscall_table[j].nr == d->nr || !strcmp(syscall_table[j].name, d->name))
			return false;
	if (!arg_ok(d->flags_arg) || !arg_ok(d->stop_if_arg_nonzero))
		return false;
	if (d->kind == SYS_KIND_REFUSE)
		return d->refuse_errno > 0 && d->paths[0].op == OP_NONE;
	if (d->kind == SYS_KIND_AFFINITY || d->kind == SYS_KIND_CLONE || d->kind == SYS_KIND_GETCWD)
		return d->paths[0].op == OP_NONE && d->refuse_errno == 0;
	/* The address handed back, and its length in the next argument. */
	if (d->kind == SYS_KIND_SOCKNAME)
		return d->paths[0].op == OP_NONE && d->refuse_errno == 0 && d->paths[0].path >= 0 &&
		       d->paths[0].path < 5;
	/* Every followed row names at least one object and says what it does to it. */
	if (d->paths[0].op == OP_NONE)
		return false;
	for (int k = 0; k < 2; k++) {
		const struct sys_path *p = &d->paths[k];
		if (!arg_ok(p->dirfd) || !arg_ok(p->path))
			return false;
		if (p->op != OP_NONE && p->dirfd == SYS_NO_ARG && p->path == SYS_NO_ARG)
			return false;
		if (p->dirfd != SYS_NO_ARG && p->dirfd == p->path)
			return false;
	}
	return !((d->nofollow_flag || d->follow_flag) && d->flags_arg == SYS_NO_ARG);
}

const char *syscall_table_check(void)
{
	static char msg[128];

	for (size_t i = 0; i < syscall_table_len; i++) {
		if (!row_ok(i)) {
			snprintf(msg, sizeof(msg), "bad syscall table row %zu: %s", i,
				 syscall_table[i].name ? syscall_table[i].name : "(unnamed)");
			return msg;
		}
	}
	return NULL;
}
