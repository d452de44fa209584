// SPDX-License-Identifier: MIT
/*
 * The syscall table: every path-taking call ptvfs promises to follow is in
 * it with the kernel's number, the calls it cannot follow are refused, and
 * the rows that decide whether a final symbolic link is followed say so
 * with the right flag in the right argument.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/syscall.h>

#include "ptvfs/syscalls.h"

/* Numbers newer than this machine's headers (x86_64, from the kernel's syscall_64.tbl). */
#ifndef __NR_fchmodat2
#define __NR_fchmodat2 452
#endif
#ifndef __NR_setxattrat
#define __NR_setxattrat 463
#endif
#ifndef __NR_getxattrat
#define __NR_getxattrat 464
#endif
#ifndef __NR_listxattrat
#define __NR_listxattrat 465
#endif
#ifndef __NR_removexattrat
#define __NR_removexattrat 466
#endif
#ifndef __NR_open_tree_attr
#define __NR_open_tree_attr 467
#endif

struct expected_row {
	const char *name;
	int nr;
};

#define ROW(name)                                                                                  \
	{                                                                                          \
#name, __NR_##name                                                                 \
	}

/* Every path-taking call the project promises to follow. */
static const struct expected_row followed[] = {
    ROW(open),	     ROW(creat),       ROW(openat),	   ROW(openat2),
    ROW(stat),	     ROW(lstat),       ROW(newfstatat),	   ROW(statx),
    ROW(statfs),     ROW(access),      ROW(faccessat),	   ROW(faccessat2),
    ROW(readlink),   ROW(readlinkat),  ROW(execve),	   ROW(execveat),
    ROW(chdir),	     ROW(fchdir),      ROW(mkdir),	   ROW(mkdirat),
    ROW(mknod),	     ROW(mknodat),     ROW(rmdir),	   ROW(unlink),
    ROW(unlinkat),   ROW(rename),      ROW(renameat),	   ROW(renameat2),
    ROW(link),	     ROW(linkat),      ROW(symlink),	   ROW(symlinkat),
    ROW(chmod),	     ROW(fchmodat),    ROW(fchmodat2),	   ROW(chown),
    ROW(lchown),     ROW(fchownat),    ROW(truncate),	   ROW(utime),
    ROW(utimes),     ROW(futimesat),   ROW(utimensat),	   ROW(setxattr),
    ROW(lsetxattr),  ROW(getxattr),    ROW(lgetxattr),	   ROW(listxattr),
    ROW(llistxattr), ROW(removexattr), ROW(lremovexattr),  ROW(setxattrat),
    ROW(getxattrat), ROW(listxattrat), ROW(removexattrat), ROW(inotify_add_watch),
    ROW(getdents),   ROW(getdents64),  ROW(bind),	   ROW(connect),
};

/* Calls that would change what paths mean, or open files behind the record. */
static const struct expected_row refused[] = {
    ROW(mount),		ROW(umount2),		ROW(chroot),
    ROW(pivot_root),	ROW(open_by_handle_at), ROW(io_uring_setup),
    ROW(fsopen),	ROW(fsconfig),		ROW(fsmount),
    ROW(fspick),	ROW(open_tree),		ROW(move_mount),
    ROW(mount_setattr), ROW(open_tree_attr),
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

Test(syscalls, table_check_passes)
{
	const char *msg = syscall_table_check();

	cr_assert_null(msg, "syscall_table_check: %s", msg ? msg : "");
	cr_assert_geq(syscall_table_len, COUNT(followed) + COUNT(refused));
}

Test(syscalls, followed_calls_have_rows_with_kernel_numbers)
{
	for (size_t i = 0; i < COUNT(followed); i++) {
		const struct syscall_desc *d = syscall_by_name(followed[i].name);

		cr_assert_not_null(d, "no row for %s", followed[i].name);
		cr_expect_eq(d->nr, followed[i].nr, "%s: number %d, kernel's is %d", d->name, d->nr,
			     followed[i].nr);
		cr_expect_eq(syscall_by_nr(followed[i].nr), d, "%s: not found by number",
			     followed[i].name);
		cr_expect_neq(d->kind, SYS_KIND_REFUSE, "%s is refused", d->name);
		cr_expect_neq(d->paths[0].op, OP_NONE, "%s: no operation", d->name);
		cr_expect(d->paths[0].path != SYS_NO_ARG || d->paths[0].dirfd != SYS_NO_ARG,
			  "%s names no object", d->name);
	}
}

Test(syscalls, refused_calls_fail_with_an_errno)
{
	for (size_t i = 0; i < COUNT(refused); i++) {
		const struct syscall_desc *d = syscall_by_nr(refused[i].nr);

		cr_assert_not_null(d, "no row for %s (%d)", refused[i].name, refused[i].nr);
		cr_expect_str_eq(d->name, refused[i].name);
		cr_expect_eq(d->kind, SYS_KIND_REFUSE, "%s is not refused", d->name);
		cr_expect_gt(d->refuse_errno, 0, "%s: errno %d", d->name, d->refuse_errno);
	}
}

Test(syscalls, every_row_is_found_by_number_and_name)
{
	for (size_t i = 0; i < syscall_table_len; i++) {
		const struct syscall_desc *d = &syscall_table[i];

		cr_expect_eq(syscall_by_nr(d->nr), d, "row %zu (%s) by number", i, d->name);
		cr_expect_eq(syscall_by_name(d->name), d, "row %zu (%s) by name", i, d->name);
		if (d->kind == SYS_KIND_REFUSE)
			cr_expect_gt(d->refuse_errno, 0, "%s", d->name);
		else
			cr_expect_eq(d->refuse_errno, 0, "%s", d->name);
	}
}

Test(syscalls, calls_without_paths_have_no_row)
{
	static const int plain[] = {__NR_read,	__NR_write,  __NR_close,     __NR_mmap,
				    __NR_fstat, __NR_getpid, __NR_exit_group};

	for (size_t i = 0; i < COUNT(plain); i++)
		cr_expect_null(syscall_by_nr(plain[i]), "syscall %d has a row", plain[i]);
	cr_expect_null(syscall_by_nr(-1));
	cr_expect_null(syscall_by_nr(100000));
	cr_expect_null(syscall_by_name("no_such_call"));
	cr_expect_null(syscall_by_name(""));
}

Test(syscalls, path_arguments)
{
	const struct syscall_desc *d;

	d = syscall_by_name("open");
	cr_expect_eq(d->kind, SYS_KIND_OPEN);
	cr_expect_eq(d->paths[0].dirfd, SYS_NO_ARG);
	cr_expect_eq(d->paths[0].path, 0);
	cr_expect_eq(d->paths[0].op, OP_OPEN);

	d = syscall_by_name("openat");
	cr_expect_eq(d->paths[0].dirfd, 0);
	cr_expect_eq(d->paths[0].path, 1);

	d = syscall_by_name("openat2");
	cr_expect_eq(d->kind, SYS_KIND_OPENAT2);

	/* rename: the source goes away, the target is made or replaced. */
	d = syscall_by_name("renameat2");
	cr_expect_eq(d->paths[0].dirfd, 0);
	cr_expect_eq(d->paths[0].path, 1);
	cr_expect_eq(d->paths[0].op, OP_DELETE);
	cr_expect_eq(d->paths[1].dirfd, 2);
	cr_expect_eq(d->paths[1].path, 3);
	cr_expect_eq(d->paths[1].op, OP_REPLACE);

	d = syscall_by_name("rename");
	cr_expect_eq(d->paths[0].path, 0);
	cr_expect_eq(d->paths[1].path, 1);
	cr_expect_eq(d->paths[1].op, OP_REPLACE);

	/* symlink(target, linkpath): the target is text, only the link is a path. */
	d = syscall_by_name("symlink");
	cr_expect_eq(d->paths[0].path, 1);
	cr_expect_eq(d->paths[0].op, OP_CREATE);
	cr_expect_eq(d->paths[1].op, OP_NONE);
	d = syscall_by_name("symlinkat");
	cr_expect_eq(d->paths[0].dirfd, 1);
	cr_expect_eq(d->paths[0].path, 2);

	d = syscall_by_name("linkat");
	cr_expect_eq(d->paths[1].dirfd, 2);
	cr_expect_eq(d->paths[1].path, 3);
	cr_expect_eq(d->paths[1].op, OP_CREATE);

	d = syscall_by_name("unlinkat");
	cr_expect_eq(d->paths[0].op, OP_DELETE);
	d = syscall_by_name("rmdir");
	cr_expect_eq(d->paths[0].op, OP_DELETE);
	d = syscall_by_name("mkdirat");
	cr_expect_eq(d->paths[0].op, OP_CREATE);

	/* Descriptor-only rows. */
	d = syscall_by_name("getdents64");
	cr_expect_eq(d->paths[0].dirfd, 0);
	cr_expect_eq(d->paths[0].path, SYS_NO_ARG);
	cr_expect_eq(d->paths[0].op, OP_LIST);
	d = syscall_by_name("fchdir");
	cr_expect_eq(d->kind, SYS_KIND_CHDIR);
	cr_expect_eq(d->paths[0].dirfd, 0);
	cr_expect_eq(d->paths[0].path, SYS_NO_ARG);

	d = syscall_by_name("execve");
	cr_expect_eq(d->kind, SYS_KIND_EXEC);
	cr_expect_eq(d->paths[0].op, OP_EXEC);
	d = syscall_by_name("execveat");
	cr_expect_eq(d->kind, SYS_KIND_EXEC);
	cr_expect_eq(d->paths[0].dirfd, 0);
	cr_expect_eq(d->paths[0].path, 1);

	/* chdir must see its result to know the new directory. */
	cr_expect(syscall_by_name("chdir")->exit_stop);
	cr_expect_eq(syscall_by_name("chdir")->kind, SYS_KIND_CHDIR);

	d = syscall_by_name("readlinkat");
	cr_expect_eq(d->paths[0].op, OP_READLINK);
	d = syscall_by_name("inotify_add_watch");
	cr_expect_eq(d->paths[0].path, 1);

	d = syscall_by_name("connect");
	cr_expect_eq(d->kind, SYS_KIND_SOCKADDR);
	cr_expect_eq(d->paths[0].path, 1);
	d = syscall_by_name("bind");
	cr_expect_eq(d->kind, SYS_KIND_SOCKADDR);
	cr_expect_eq(d->paths[0].op, OP_CREATE);
}

Test(syscalls, final_link_following)
{
	const struct syscall_desc *d;

	d = syscall_by_name("stat");
	cr_expect(d->follow);
	d = syscall_by_name("lstat");
	cr_expect_not(d->follow);
	cr_expect_eq(d->flags_arg, SYS_NO_ARG);

	d = syscall_by_name("newfstatat");
	cr_expect(d->follow);
	cr_expect_eq(d->flags_arg, 3);
	cr_expect_eq(d->nofollow_flag, AT_SYMLINK_NOFOLLOW);
	cr_expect_eq(d->follow_flag, 0);
	cr_expect_eq(d->empty_path_flag, AT_EMPTY_PATH);

	d = syscall_by_name("statx");
	cr_expect_eq(d->flags_arg, 2);
	cr_expect_eq(d->nofollow_flag, AT_SYMLINK_NOFOLLOW);

	d = syscall_by_name("open");
	cr_expect(d->follow);
	cr_expect_eq(d->flags_arg, 1);
	cr_expect_eq(d->nofollow_flag, O_NOFOLLOW);
	d = syscall_by_name("openat");
	cr_expect(d->follow);
	cr_expect_eq(d->flags_arg, 2);
	cr_expect_eq(d->nofollow_flag, O_NOFOLLOW);

	/* linkat follows a final link only when asked to, with AT_SYMLINK_FOLLOW. */
	d = syscall_by_name("linkat");
	cr_expect_not(d->follow);
	cr_expect_eq(d->flags_arg, 4);
	cr_expect_eq(d->follow_flag, AT_SYMLINK_FOLLOW);
	cr_expect_eq(d->nofollow_flag, 0);
	d = syscall_by_name("link");
	cr_expect_not(d->follow);

	d = syscall_by_name("fchownat");
	cr_expect_eq(d->flags_arg, 4);
	cr_expect_eq(d->nofollow_flag, AT_SYMLINK_NOFOLLOW);
	d = syscall_by_name("utimensat");
	cr_expect_eq(d->flags_arg, 3);
	cr_expect_eq(d->nofollow_flag, AT_SYMLINK_NOFOLLOW);
	cr_expect(d->null_path_is_fd);
	d = syscall_by_name("execveat");
	cr_expect_eq(d->flags_arg, 4);
	cr_expect_eq(d->nofollow_flag, AT_SYMLINK_NOFOLLOW);
	cr_expect_eq(d->empty_path_flag, AT_EMPTY_PATH);
	d = syscall_by_name("inotify_add_watch");
	cr_expect_eq(d->flags_arg, 2);
	cr_expect_eq(d->nofollow_flag, IN_DONT_FOLLOW);

	/* faccessat and fchmodat take no flags argument in the kernel. */
	cr_expect_eq(syscall_by_name("faccessat")->flags_arg, SYS_NO_ARG);
	cr_expect_eq(syscall_by_name("fchmodat")->flags_arg, SYS_NO_ARG);
	cr_expect_eq(syscall_by_name("faccessat2")->flags_arg, 3);
	cr_expect_eq(syscall_by_name("fchmodat2")->flags_arg, 3);

	/* Calls that make or remove a name never follow a final link. */
	static const char *const never[] = {"mkdir",	"mkdirat",    "mknod",	  "mknodat",
					    "rmdir",	"unlink",     "unlinkat", "rename",
					    "renameat", "renameat2",  "symlink",  "symlinkat",
					    "readlink", "readlinkat", "bind"};
	for (size_t i = 0; i < COUNT(never); i++)
		cr_expect_not(syscall_by_name(never[i])->follow, "%s follows", never[i]);
}

/* Each "l" call is its twin that does not follow a final link. */
Test(syscalls, l_calls_do_not_follow_their_twins_do)
{
	static const char *const twins[] = {"stat",	"chown",     "setxattr",
					    "getxattr", "listxattr", "removexattr"};

	for (size_t i = 0; i < COUNT(twins); i++) {
		char lname[32];
		const struct syscall_desc *d = syscall_by_name(twins[i]);
		const struct syscall_desc *l;

		snprintf(lname, sizeof(lname), "l%s", twins[i]);
		l = syscall_by_name(lname);
		cr_assert_not_null(d);
		cr_assert_not_null(l, "no row for %s", lname);
		cr_expect(d->follow, "%s does not follow", d->name);
		cr_expect_not(l->follow, "%s follows", l->name);
		cr_expect_eq(l->flags_arg, SYS_NO_ARG, "%s", l->name);
		cr_expect_eq(l->paths[0].op, d->paths[0].op, "%s and %s differ", l->name, d->name);
	}
}
