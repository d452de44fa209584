/* SPDX-License-Identifier: MIT */
/*
 * x86_64 rows of the syscall table (see include/ptvfs/syscalls.h).
 * Included once, by tracer/core/syscalls.c, inside the table's initializer.
 * Numbers newer than the build machine's headers are given by hand.
 */
// clang-format off
#define NOFD SYS_NO_ARG
#define P(dirfd, path, op) { (dirfd), (path), (op) }
#define P_NONE { SYS_NO_ARG, SYS_NO_ARG, OP_NONE }
#define ROW(nm, number, knd, p0, p1, ...) \
	{ .name = #nm, .nr = (number), .kind = (knd), .paths = { p0, p1 }, .flags_arg = SYS_NO_ARG, \
	  .stop_if_arg_nonzero = SYS_NO_ARG, __VA_ARGS__ }
#define FLAGS(arg, nofollow, follow_, empty) \
	.flags_arg = (arg), .nofollow_flag = (nofollow), .follow_flag = (follow_), .empty_path_flag = (empty)
#define REFUSE(nm, number, err) ROW(nm, number, SYS_KIND_REFUSE, P_NONE, P_NONE, .refuse_errno = (err))

/* open family */
ROW(open,          2, SYS_KIND_OPEN,    P(NOFD, 0, OP_OPEN), P_NONE, .follow = true, FLAGS(1, O_NOFOLLOW, 0, 0)),
ROW(creat,        85, SYS_KIND_PATH,    P(NOFD, 0, OP_REPLACE), P_NONE, .follow = true),
ROW(openat,      257, SYS_KIND_OPEN,    P(0, 1, OP_OPEN), P_NONE, .follow = true, FLAGS(2, O_NOFOLLOW, 0, 0)),
ROW(openat2,     437, SYS_KIND_OPENAT2, P(0, 1, OP_OPEN), P_NONE, .follow = true),
/* stat family */
ROW(stat,          4, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE, .follow = true),
ROW(lstat,         6, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE),
ROW(newfstatat,  262, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true, FLAGS(3, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(statx,       332, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true, FLAGS(2, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(statfs,      137, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE, .follow = true, .exit_if_read_only = true),
ROW(fstatfs,     138, SYS_KIND_PATH, P(0, NOFD, OP_STAT), P_NONE, .exit_if_read_only = true, .view_only = true),
ROW(access,       21, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE, .follow = true),
ROW(faccessat,   269, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true),
ROW(faccessat2,  439, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true, FLAGS(3, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(name_to_handle_at, 303, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, FLAGS(4, 0, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH)),
/* links */
ROW(readlink,     89, SYS_KIND_PATH, P(NOFD, 0, OP_READLINK), P_NONE),
ROW(readlinkat,  267, SYS_KIND_PATH, P(0, 1, OP_READLINK), P_NONE, .empty_path_flag = 1),
ROW(symlink,      88, SYS_KIND_PATH, P(NOFD, 1, OP_CREATE), P_NONE),
ROW(symlinkat,   266, SYS_KIND_PATH, P(1, 2, OP_CREATE), P_NONE),
ROW(link,         86, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P(NOFD, 1, OP_CREATE)),
ROW(linkat,      265, SYS_KIND_PATH, P(0, 1, OP_STAT), P(2, 3, OP_CREATE), FLAGS(4, 0, AT_SYMLINK_FOLLOW, AT_EMPTY_PATH)),
/* programs and directories */
ROW(execve,       59, SYS_KIND_EXEC,  P(NOFD, 0, OP_EXEC), P_NONE, .follow = true),
ROW(execveat,    322, SYS_KIND_EXEC,  P(0, 1, OP_EXEC), P_NONE, .follow = true, FLAGS(4, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(chdir,        80, SYS_KIND_CHDIR, P(NOFD, 0, OP_STAT), P_NONE, .follow = true, .exit_stop = true),
ROW(fchdir,       81, SYS_KIND_CHDIR, P(0, NOFD, OP_STAT), P_NONE, .exit_stop = true),
ROW(getdents,     78, SYS_KIND_PATH,  P(0, NOFD, OP_LIST), P_NONE),
ROW(getdents64,  217, SYS_KIND_PATH,  P(0, NOFD, OP_LIST), P_NONE),
/* names made and removed */
ROW(mkdir,        83, SYS_KIND_PATH, P(NOFD, 0, OP_CREATE), P_NONE),
ROW(mkdirat,     258, SYS_KIND_PATH, P(0, 1, OP_CREATE), P_NONE),
ROW(mknod,       133, SYS_KIND_PATH, P(NOFD, 0, OP_CREATE), P_NONE),
ROW(mknodat,     259, SYS_KIND_PATH, P(0, 1, OP_CREATE), P_NONE),
ROW(rmdir,        84, SYS_KIND_PATH, P(NOFD, 0, OP_DELETE), P_NONE),
ROW(unlink,       87, SYS_KIND_PATH, P(NOFD, 0, OP_DELETE), P_NONE),
ROW(unlinkat,    263, SYS_KIND_PATH, P(0, 1, OP_DELETE), P_NONE),
ROW(rename,       82, SYS_KIND_PATH, P(NOFD, 0, OP_DELETE), P(NOFD, 1, OP_REPLACE)),
ROW(renameat,    264, SYS_KIND_PATH, P(0, 1, OP_DELETE), P(2, 3, OP_REPLACE)),
ROW(renameat2,   316, SYS_KIND_PATH, P(0, 1, OP_DELETE), P(2, 3, OP_REPLACE)),
/* data and metadata */
ROW(truncate,     76, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(chmod,        90, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(fchmod,       91, SYS_KIND_PATH, P(0, NOFD, OP_MODIFY), P_NONE),
ROW(fchmodat,    268, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true),
ROW(fchmodat2,   452, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true, FLAGS(3, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(chown,        92, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(fchown,       93, SYS_KIND_PATH, P(0, NOFD, OP_MODIFY), P_NONE),
ROW(lchown,       94, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE),
ROW(fchownat,    260, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true, FLAGS(4, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(utime,       132, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(utimes,      235, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(futimesat,   261, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true),
ROW(utimensat,   280, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true, FLAGS(3, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH), .null_path_is_fd = true),
/* extended attributes */
ROW(setxattr,    188, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(lsetxattr,   189, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE),
ROW(fsetxattr,   190, SYS_KIND_PATH, P(0, NOFD, OP_MODIFY), P_NONE),
ROW(getxattr,    191, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE, .follow = true),
ROW(lgetxattr,   192, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE),
ROW(listxattr,   194, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE, .follow = true),
ROW(llistxattr,  195, SYS_KIND_PATH, P(NOFD, 0, OP_STAT), P_NONE),
ROW(removexattr, 197, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE, .follow = true),
ROW(lremovexattr, 198, SYS_KIND_PATH, P(NOFD, 0, OP_MODIFY), P_NONE),
ROW(fremovexattr, 199, SYS_KIND_PATH, P(0, NOFD, OP_MODIFY), P_NONE),
ROW(setxattrat,  463, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true, FLAGS(2, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(getxattrat,  464, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true, FLAGS(2, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(listxattrat, 465, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true, FLAGS(2, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(removexattrat, 466, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true, FLAGS(2, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(file_getattr, 468, SYS_KIND_PATH, P(0, 1, OP_STAT), P_NONE, .follow = true, FLAGS(4, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
ROW(file_setattr, 469, SYS_KIND_PATH, P(0, 1, OP_MODIFY), P_NONE, .follow = true, FLAGS(4, AT_SYMLINK_NOFOLLOW, 0, AT_EMPTY_PATH)),
/* watches */
ROW(inotify_add_watch, 254, SYS_KIND_PATH, P(NOFD, 1, OP_STAT), P_NONE, .follow = true, FLAGS(2, IN_DONT_FOLLOW, 0, 0)),
ROW(fanotify_mark, 301, SYS_KIND_PATH, P(3, 4, OP_STAT), P_NONE, .follow = true, FLAGS(1, FAN_MARK_DONT_FOLLOW, 0, 0), .null_path_is_fd = true),
/* AF_UNIX socket names */
ROW(connect,      42, SYS_KIND_SOCKADDR, P(NOFD, 1, OP_READ), P_NONE, .follow = true),
ROW(bind,         49, SYS_KIND_SOCKADDR, P(NOFD, 1, OP_CREATE), P_NONE),
ROW(sendto,       44, SYS_KIND_SOCKADDR, P(NOFD, 4, OP_READ), P_NONE, .follow = true, .stop_if_arg_nonzero = 4),
ROW(sendmsg,      46, SYS_KIND_MSGHDR,   P(NOFD, 1, OP_READ), P_NONE, .follow = true),
ROW(sendmmsg,    307, SYS_KIND_MSGHDR,   P(NOFD, 1, OP_READ), P_NONE, .follow = true),
/* no paths: the CPU placement of traced processes (tracer/trace/cpu.c) is hidden from them */
ROW(sched_setaffinity, 203, SYS_KIND_AFFINITY, P_NONE, P_NONE),
ROW(sched_getaffinity, 204, SYS_KIND_AFFINITY, P_NONE, P_NONE, .exit_stop = true),
/* no paths: a child that asks not to be traced is traced all the same */
ROW(clone,        56, SYS_KIND_CLONE, P_NONE, P_NONE, .stop_if_arg_nonzero = 0, .stop_if_arg_mask = CLONE_UNTRACED),
ROW(clone3,      435, SYS_KIND_CLONE, P_NONE, P_NONE),
/* no path given: the directory or socket name handed back is the view's */
ROW(getcwd,       79, SYS_KIND_GETCWD, P_NONE, P_NONE, .view_only = true),
ROW(getsockname,  51, SYS_KIND_SOCKNAME, P(NOFD, 1, OP_NONE), P_NONE, .view_only = true, .exit_stop = true),
ROW(getpeername,  52, SYS_KIND_SOCKNAME, P(NOFD, 1, OP_NONE), P_NONE, .view_only = true, .exit_stop = true),
ROW(accept,       43, SYS_KIND_SOCKNAME, P(NOFD, 1, OP_NONE), P_NONE, .view_only = true, .exit_stop = true, .stop_if_arg_nonzero = 1),
ROW(accept4,     288, SYS_KIND_SOCKNAME, P(NOFD, 1, OP_NONE), P_NONE, .view_only = true, .exit_stop = true, .stop_if_arg_nonzero = 1),
ROW(recvfrom,     45, SYS_KIND_SOCKNAME, P(NOFD, 4, OP_NONE), P_NONE, .view_only = true, .exit_stop = true, .stop_if_arg_nonzero = 4),
ROW(recvmsg,      47, SYS_KIND_SOCKNAME, P(NOFD, 1, OP_NONE), P_NONE, .view_only = true, .exit_stop = true),
ROW(recvmmsg,    299, SYS_KIND_SOCKNAME, P(NOFD, 1, OP_NONE), P_NONE, .view_only = true, .exit_stop = true),
/* what cannot be followed: refused, and reported */
REFUSE(chroot,       161, EPERM),
REFUSE(pivot_root,   155, EPERM),
REFUSE(mount,        165, EPERM),
REFUSE(umount2,      166, EPERM),
REFUSE(swapon,       167, EPERM),
REFUSE(swapoff,      168, EPERM),
REFUSE(acct,         163, EPERM),
REFUSE(quotactl,     179, EPERM),
REFUSE(uselib,       134, ENOSYS),
REFUSE(open_by_handle_at, 304, EPERM),
REFUSE(open_tree,    428, EPERM),
REFUSE(move_mount,   429, EPERM),
REFUSE(fsopen,       430, EPERM),
REFUSE(fsconfig,     431, EPERM),
REFUSE(fsmount,      432, EPERM),
REFUSE(fspick,       433, EPERM),
REFUSE(mount_setattr, 442, EPERM),
REFUSE(quotactl_fd,  443, EPERM),
REFUSE(open_tree_attr, 467, EPERM),
/* io_uring would open files behind the record: programs fall back to plain calls */
REFUSE(io_uring_setup, 425, ENOSYS),

#undef REFUSE
#undef FLAGS
#undef ROW
#undef P_NONE
#undef P
#undef NOFD
/* (clang-format stays off: this file is the inside of an initializer) */
