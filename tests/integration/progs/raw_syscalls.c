// SPDX-License-Identifier: MIT
/*
 * Every family of path-taking system calls, made with syscall(2) so that
 * libc's wrappers (which may pick other calls) stay out of the way, as rr's
 * tests do. Run in a directory prepared by test_raw_syscalls.py; each call's
 * result (and what it returned that a user sees) is printed, so a native run
 * and a run under ptvfs in identical directories must print the same lines.
 * Only relative paths are used: the output does not depend on the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_faccessat2
#define SYS_faccessat2 439
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

/* Print LABEL's result: the value, or -1 and the errno's name. */
static long show(const char *label, long ret)
{
	if (ret < 0)
		printf("%s: -1 %s\n", label, strerrorname_np(errno));
	else
		printf("%s: %ld\n", label, ret);
	fflush(stdout);
	return ret;
}

static const char *type_name(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "file";
	case S_IFDIR:
		return "dir";
	case S_IFLNK:
		return "link";
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	default:
		return "other";
	}
}

static void show_stat(const char *label, long ret, const struct stat *st)
{
	if (show(label, ret) == 0 && !S_ISDIR(st->st_mode))
		printf("  %s size %lld mode %o\n", type_name(st->st_mode), (long long)st->st_size,
		       (unsigned)(st->st_mode & 07777));
	else if (ret == 0)
		printf("  dir mode %o\n", (unsigned)(st->st_mode & 07777));
}

static void show_link(const char *label, long ret, const char *buf)
{
	if (show(label, ret) >= 0)
		printf("  -> %.*s\n", (int)ret, buf);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

struct linux_dirent64 {
	unsigned long long d_ino;
	long long d_off;
	unsigned short d_reclen;
	unsigned char d_type;
	char d_name[];
};

/* getdents64 until the end, then the names sorted (the order is the file system's). */
static void show_dir(const char *label, int fd)
{
	char buf[4096];
	char *names[256];
	int count = 0;
	long n;

	while ((n = syscall(SYS_getdents64, fd, buf, sizeof(buf))) > 0) {
		for (long off = 0; off < n;) {
			struct linux_dirent64 *d = (struct linux_dirent64 *)(buf + off);

			if (count < 256)
				names[count++] = strdup(d->d_name);
			off += d->d_reclen;
		}
	}
	show(label, n);
	qsort(names, count, sizeof(names[0]), compare_names);
	printf(" ");
	for (int i = 0; i < count; i++) {
		printf(" %s", names[i]);
		free(names[i]);
	}
	printf("\n");
}

static void un_addr(struct sockaddr_un *sun, socklen_t *len, const char *path, int abstract)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (abstract) {
		snprintf(sun->sun_path + 1, sizeof(sun->sun_path) - 1, "%s", path);
		*len = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(path);
	} else {
		snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", path);
		*len = offsetof(struct sockaddr_un, sun_path) + strlen(path) + 1;
	}
}

static void open_family(void)
{
	struct open_how how = {.flags = O_RDONLY};
	char buf[64];
	long fd;

	fd = show("open r_open", syscall(SYS_open, "r_open", O_RDONLY));
	if (fd >= 0) {
		show("  read", syscall(SYS_read, fd, buf, sizeof(buf)));
		close(fd);
	}
	fd = show("openat r_openat", syscall(SYS_openat, AT_FDCWD, "r_openat", O_RDONLY));
	close(fd);
	fd = show("openat2 r_openat2",
		  syscall(SYS_openat2, AT_FDCWD, "r_openat2", &how, sizeof(how)));
	close(fd);
	fd = show("creat w_creat", syscall(SYS_creat, "w_creat", 0640));
	if (fd >= 0) {
		show("  write", syscall(SYS_write, fd, "created\n", 8));
		close(fd);
	}
	fd = show("openat w_openat O_CREAT|O_EXCL",
		  syscall(SYS_openat, AT_FDCWD, "w_openat", O_CREAT | O_EXCL | O_WRONLY, 0600));
	close(fd);
	fd =
	    show("open w_trunc O_WRONLY|O_TRUNC", syscall(SYS_open, "w_trunc", O_WRONLY | O_TRUNC));
	close(fd);
	show("open missing_open", syscall(SYS_open, "missing_open", O_RDONLY));
	show("open dir/missing_open", syscall(SYS_open, "dir/missing_open", O_RDONLY));
	show("openat r_open O_CREAT|O_EXCL (exists)",
	     syscall(SYS_openat, AT_FDCWD, "r_open", O_CREAT | O_EXCL | O_WRONLY, 0600));
	fd = show("open l_follow", syscall(SYS_open, "l_follow", O_RDONLY));
	if (fd >= 0) {
		show("  read", syscall(SYS_read, fd, buf, sizeof(buf)));
		close(fd);
	}
	show("open l_follow O_NOFOLLOW", syscall(SYS_open, "l_follow", O_RDONLY | O_NOFOLLOW));
	how.resolve = RESOLVE_NO_SYMLINKS;
	show("openat2 l_follow RESOLVE_NO_SYMLINKS",
	     syscall(SYS_openat2, AT_FDCWD, "l_follow", &how, sizeof(how)));
	how.resolve = 0;
	show("openat2 bad size", syscall(SYS_openat2, AT_FDCWD, "r_open", &how, 4));
	fd = show("open path_file O_PATH", syscall(SYS_open, "path_file", O_PATH));
	close(fd);
}

static void stat_family(void)
{
	static char long_name[5000];
	struct statx stx;
	struct statfs sfs;
	struct stat st;
	long ret;

	ret = syscall(SYS_stat, "s_stat", &st);
	show_stat("stat s_stat", ret, &st);
	ret = syscall(SYS_lstat, "s_lstat", &st);
	show_stat("lstat s_lstat", ret, &st);
	ret = syscall(SYS_newfstatat, AT_FDCWD, "s_newfstatat", &st, 0);
	show_stat("newfstatat s_newfstatat", ret, &st);
	ret = syscall(SYS_statx, AT_FDCWD, "s_statx", 0, STATX_BASIC_STATS, &stx);
	if (show("statx s_statx", ret) == 0)
		printf("  %s size %llu\n", type_name(stx.stx_mode),
		       (unsigned long long)stx.stx_size);
	ret = syscall(SYS_statfs, "s_statfs", &sfs);
	if (show("statfs s_statfs", ret) == 0)
		printf("  namelen %ld\n", (long)sfs.f_namelen);
	show("access s_access", syscall(SYS_access, "s_access", R_OK));
	show("faccessat s_faccessat", syscall(SYS_faccessat, AT_FDCWD, "s_faccessat", R_OK));
	show("faccessat2 s_faccessat2",
	     syscall(SYS_faccessat2, AT_FDCWD, "s_faccessat2", R_OK, AT_EACCESS));
	show("access s_access X_OK", syscall(SYS_access, "s_access", X_OK));

	show("stat missing_stat", syscall(SYS_stat, "missing_stat", &st));
	show("lstat missing_lstat", syscall(SYS_lstat, "missing_lstat", &st));
	show("newfstatat missing_fstatat",
	     syscall(SYS_newfstatat, AT_FDCWD, "missing_fstatat", &st, 0));
	show("statx missing_statx",
	     syscall(SYS_statx, AT_FDCWD, "missing_statx", 0, STATX_BASIC_STATS, &stx));
	show("access missing_access", syscall(SYS_access, "missing_access", F_OK));
	show("stat nodir/x", syscall(SYS_stat, "nodir/x", &st));
	show("stat r_open/x (ENOTDIR)", syscall(SYS_stat, "r_open/x", &st));

	ret = syscall(SYS_stat, "l_stat", &st);
	show_stat("stat l_stat (follows)", ret, &st);
	ret = syscall(SYS_lstat, "l_lstat", &st);
	show_stat("lstat l_lstat (does not follow)", ret, &st);
	ret = syscall(SYS_newfstatat, AT_FDCWD, "l_nofollow", &st, AT_SYMLINK_NOFOLLOW);
	show_stat("newfstatat l_nofollow AT_SYMLINK_NOFOLLOW", ret, &st);
	ret = syscall(SYS_stat, "ldir/inner", &st);
	show_stat("stat ldir/inner", ret, &st);
	show("stat loop1", syscall(SYS_stat, "loop1", &st));
	show("stat bad pointer", syscall(SYS_stat, (char *)1, &st));
	memset(long_name, 'a', sizeof(long_name) - 1);
	show("stat long name", syscall(SYS_stat, long_name, &st));
	show("stat empty", syscall(SYS_stat, "", &st));
}

static void link_family(void)
{
	char buf[256];
	long ret;

	ret = syscall(SYS_readlink, "l_readlink", buf, sizeof(buf));
	show_link("readlink l_readlink", ret, buf);
	ret = syscall(SYS_readlinkat, AT_FDCWD, "l_readlinkat", buf, sizeof(buf));
	show_link("readlinkat l_readlinkat", ret, buf);
	show("readlink s_stat (not a link)", syscall(SYS_readlink, "s_stat", buf, sizeof(buf)));

	show("link ln_src ln_dst", syscall(SYS_link, "ln_src", "ln_dst"));
	show("linkat ln_src lnat_dst",
	     syscall(SYS_linkat, AT_FDCWD, "ln_src", AT_FDCWD, "lnat_dst", 0));
	show("linkat l_linkf lnf_dst AT_SYMLINK_FOLLOW",
	     syscall(SYS_linkat, AT_FDCWD, "l_linkf", AT_FDCWD, "lnf_dst", AT_SYMLINK_FOLLOW));
	show("symlink sl_new", syscall(SYS_symlink, "f_target", "sl_new"));
	show("symlinkat slat_new", syscall(SYS_symlinkat, "f_target", AT_FDCWD, "slat_new"));
	show("symlink exists", syscall(SYS_symlink, "f_target", "r_open"));
}

static void make_and_remove(void)
{
	show("mkdir m_mkdir", syscall(SYS_mkdir, "m_mkdir", 0750));
	show("mkdirat m_mkdirat", syscall(SYS_mkdirat, AT_FDCWD, "m_mkdirat", 0700));
	show("mknod m_mknod fifo", syscall(SYS_mknod, "m_mknod", S_IFIFO | 0640, 0));
	show("mknodat m_mknodat file",
	     syscall(SYS_mknodat, AT_FDCWD, "m_mknodat", S_IFREG | 0600, 0));
	show("mkdir dir (exists)", syscall(SYS_mkdir, "dir", 0755));
	show("mkdir nodir/sub", syscall(SYS_mkdir, "nodir/sub", 0755));

	show("rmdir d_rmdir", syscall(SYS_rmdir, "d_rmdir"));
	show("unlink d_unlink", syscall(SYS_unlink, "d_unlink"));
	show("unlinkat d_unlinkat", syscall(SYS_unlinkat, AT_FDCWD, "d_unlinkat", 0));
	show("unlinkat d_unlinkat_dir AT_REMOVEDIR",
	     syscall(SYS_unlinkat, AT_FDCWD, "d_unlinkat_dir", AT_REMOVEDIR));
	show("unlink missing_unlink", syscall(SYS_unlink, "missing_unlink"));
	show("rmdir g_dir (not empty)", syscall(SYS_rmdir, "g_dir"));
	show("unlink dir (a directory)", syscall(SYS_unlink, "dir"));

	show("rename mv_src mv_dst", syscall(SYS_rename, "mv_src", "mv_dst"));
	show("renameat mv2_src mv2_dst",
	     syscall(SYS_renameat, AT_FDCWD, "mv2_src", AT_FDCWD, "mv2_dst"));
	show("renameat2 mv3_src mv3_dst RENAME_NOREPLACE",
	     syscall(SYS_renameat2, AT_FDCWD, "mv3_src", AT_FDCWD, "mv3_dst", RENAME_NOREPLACE));
	show("renameat2 mvx_src mvx_dst RENAME_NOREPLACE (exists)",
	     syscall(SYS_renameat2, AT_FDCWD, "mvx_src", AT_FDCWD, "mvx_dst", RENAME_NOREPLACE));
	show("rename missing_mv", syscall(SYS_rename, "missing_mv", "missing_mv_dst"));
}

static void metadata(void)
{
	long uid = getuid(), gid = getgid();
	struct stat st;

	show("chmod c_chmod", syscall(SYS_chmod, "c_chmod", 0600));
	show("fchmodat c_fchmodat", syscall(SYS_fchmodat, AT_FDCWD, "c_fchmodat", 0604));
	show("chown c_chown", syscall(SYS_chown, "c_chown", uid, gid));
	show("lchown l_lchown", syscall(SYS_lchown, "l_lchown", uid, gid));
	show("fchownat c_fchownat", syscall(SYS_fchownat, AT_FDCWD, "c_fchownat", uid, gid, 0));
	show("chown to root", syscall(SYS_chown, "c_chown", 0, 0));
	show("truncate t_trunc", syscall(SYS_truncate, "t_trunc", 2));
	show("truncate missing_trunc", syscall(SYS_truncate, "missing_trunc", 2));
	show("utime u_utime", syscall(SYS_utime, "u_utime", NULL));
	show("utimes u_utimes", syscall(SYS_utimes, "u_utimes", NULL));
	show("futimesat u_futimesat", syscall(SYS_futimesat, AT_FDCWD, "u_futimesat", NULL));
	show("utimensat u_utimensat", syscall(SYS_utimensat, AT_FDCWD, "u_utimensat", NULL, 0));
	if (syscall(SYS_stat, "c_chmod", &st) == 0)
		printf("  c_chmod mode %o\n", (unsigned)(st.st_mode & 07777));
	if (syscall(SYS_stat, "t_trunc", &st) == 0)
		printf("  t_trunc size %lld\n", (long long)st.st_size);
}

static void xattrs(void)
{
	char buf[256];
	long ret;

	/* user.* may be unsupported: the results are compared, not required. */
	show("setxattr x_set", syscall(SYS_setxattr, "x_set", "user.ptvfs", "value", 5, 0));
	show("getxattr x_get", syscall(SYS_getxattr, "x_get", "user.none", buf, sizeof(buf)));
	show("listxattr x_list", syscall(SYS_listxattr, "x_list", buf, sizeof(buf)));
	show("removexattr x_remove", syscall(SYS_removexattr, "x_remove", "user.none"));
	show("getxattr missing_xattr",
	     syscall(SYS_getxattr, "missing_xattr", "user.ptvfs", buf, sizeof(buf)));

	show("setxattr x_file", syscall(SYS_setxattr, "x_file", "user.ptvfs", "abc", 3, 0));
	ret = syscall(SYS_getxattr, "x_file", "user.ptvfs", buf, sizeof(buf));
	show_link("getxattr x_file", ret, buf);
	show("removexattr x_file", syscall(SYS_removexattr, "x_file", "user.ptvfs"));
	show("getxattr x_file again", syscall(SYS_getxattr, "x_file", "user.ptvfs", buf, 64));
}

static void watches_and_lists(void)
{
	long ifd, fd;

	ifd = show("inotify_init1", syscall(SYS_inotify_init1, IN_CLOEXEC));
	show("inotify_add_watch i_watch",
	     syscall(SYS_inotify_add_watch, ifd, "i_watch", IN_MODIFY));
	show("inotify_add_watch missing_watch",
	     syscall(SYS_inotify_add_watch, ifd, "missing_watch", IN_MODIFY));
	close(ifd);

	fd = show("open g_dir", syscall(SYS_open, "g_dir", O_RDONLY | O_DIRECTORY));
	if (fd >= 0) {
		show_dir("getdents64 g_dir", fd);
		close(fd);
	}
	show("getdents64 bad fd", syscall(SYS_getdents64, 999, NULL, 0));
}

static void directories(void)
{
	char buf[64];
	long fd, top, ret;
	struct stat st;

	top = show("open .", syscall(SYS_open, ".", O_RDONLY | O_DIRECTORY));
	show("chdir cd_dir", syscall(SYS_chdir, "cd_dir"));
	fd = show("open rel_file (in cd_dir)", syscall(SYS_open, "rel_file", O_RDONLY));
	if (fd >= 0) {
		show("  read", syscall(SYS_read, fd, buf, sizeof(buf)));
		close(fd);
	}
	ret = syscall(SYS_stat, "../s_rel", &st);
	show_stat("stat ../s_rel", ret, &st);
	show("mkdir sub_made (in cd_dir)", syscall(SYS_mkdir, "sub_made", 0755));
	show("chdir ..", syscall(SYS_chdir, ".."));

	fd = show("open fcd_dir", syscall(SYS_open, "fcd_dir", O_RDONLY | O_DIRECTORY));
	show("fchdir fcd_dir", syscall(SYS_fchdir, fd));
	close(fd);
	fd = show("open rel2 (in fcd_dir)", syscall(SYS_open, "rel2", O_RDONLY));
	close(fd);
	show("unlink rel2_del (in fcd_dir)", syscall(SYS_unlink, "rel2_del"));
	show("fchdir back", syscall(SYS_fchdir, top));
	show("chdir missing_cd", syscall(SYS_chdir, "missing_cd"));
	show("chdir s_stat (not a dir)", syscall(SYS_chdir, "s_stat"));
	fd = show("open s_rel2 (back at the top)", syscall(SYS_open, "s_rel2", O_RDONLY));
	close(fd);
	close(top);
}

static void dirfds(void)
{
	long uid = getuid(), gid = getgid();
	long dfd, fd, pfd, lfd, ret;
	struct statx stx;
	struct stat st;
	char buf[256];

	dfd = show("open at_dir", syscall(SYS_open, "at_dir", O_RDONLY | O_DIRECTORY));
	fd = show("openat at_dir/at_file", syscall(SYS_openat, dfd, "at_file", O_RDONLY));
	close(fd);
	ret = syscall(SYS_newfstatat, dfd, "", &st, AT_EMPTY_PATH);
	show_stat("newfstatat at_dir AT_EMPTY_PATH", ret, &st);
	show("unlinkat at_dir/at_del", syscall(SYS_unlinkat, dfd, "at_del", 0));
	show("mkdirat at_dir/at_new", syscall(SYS_mkdirat, dfd, "at_new", 0755));
	show("newfstatat at_dir/at_missing", syscall(SYS_newfstatat, dfd, "at_missing", &st, 0));
	show("faccessat2 at_dir AT_EMPTY_PATH",
	     syscall(SYS_faccessat2, dfd, "", R_OK, AT_EMPTY_PATH));
	show("renameat at_dir/at_mv at_moved",
	     syscall(SYS_renameat, dfd, "at_mv", AT_FDCWD, "at_moved"));

	pfd = show("openat at_chown O_PATH", syscall(SYS_openat, dfd, "at_chown", O_PATH));
	show("fchownat at_chown AT_EMPTY_PATH",
	     syscall(SYS_fchownat, pfd, "", uid, gid, AT_EMPTY_PATH));
	ret = syscall(SYS_statx, pfd, "", AT_EMPTY_PATH, STATX_BASIC_STATS, &stx);
	if (show("statx at_chown AT_EMPTY_PATH", ret) == 0)
		printf("  %s size %llu\n", type_name(stx.stx_mode),
		       (unsigned long long)stx.stx_size);
	show("linkat at_chown AT_EMPTY_PATH",
	     syscall(SYS_linkat, pfd, "", AT_FDCWD, "at_linked", AT_EMPTY_PATH));
	close(pfd);

	fd = show("openat at_utimens", syscall(SYS_openat, dfd, "at_utimens", O_RDONLY));
	show("utimensat at_utimens NULL path", syscall(SYS_utimensat, fd, NULL, NULL, 0));
	close(fd);

	lfd = show("openat at_link O_PATH|O_NOFOLLOW",
		   syscall(SYS_openat, dfd, "at_link", O_PATH | O_NOFOLLOW));
	ret = syscall(SYS_readlinkat, lfd, "", buf, sizeof(buf));
	show_link("readlinkat at_link empty path", ret, buf);
	close(lfd);

	show("openat bad dirfd", syscall(SYS_openat, 999, "at_file", O_RDONLY));
	fd = syscall(SYS_open, "r_open", O_RDONLY);
	show("openat file as dirfd", syscall(SYS_openat, fd, "at_file", O_RDONLY));
	close(fd);
	fd = show("openat absolute ignores dirfd", syscall(SYS_openat, 999, "/", O_RDONLY));
	close(fd);

	/* Listing through a descriptor opened relative to another. */
	fd = show("openat at_dir/at_sub",
		  syscall(SYS_openat, dfd, "at_sub", O_RDONLY | O_DIRECTORY));
	if (fd >= 0) {
		show_dir("getdents64 at_sub", fd);
		close(fd);
	}
	close(dfd);
}

static void sockets(void)
{
	struct sockaddr_un sun;
	socklen_t len;
	long s, c;
	char name[64];

	s = show("socket", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	un_addr(&sun, &len, "sock_b", 0);
	show("bind sock_b", syscall(SYS_bind, s, &sun, len));
	show("listen", syscall(SYS_listen, s, 4));
	c = show("socket", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	show("connect sock_b", syscall(SYS_connect, c, &sun, len));
	close(c);
	c = show("socket", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	un_addr(&sun, &len, "sock_missing", 0);
	show("connect sock_missing", syscall(SYS_connect, c, &sun, len));
	close(c);
	close(s);

	show("chdir sock_dir", syscall(SYS_chdir, "sock_dir"));
	s = show("socket", syscall(SYS_socket, AF_UNIX, SOCK_DGRAM, 0));
	un_addr(&sun, &len, "sock_rel", 0);
	show("bind sock_rel (in sock_dir)", syscall(SYS_bind, s, &sun, len));
	close(s);
	show("chdir ..", syscall(SYS_chdir, ".."));

	/* An abstract name is no file: nothing to record, and it must still work. */
	snprintf(name, sizeof(name), "ptvfs-test-%d", (int)getpid());
	s = show("socket", syscall(SYS_socket, AF_UNIX, SOCK_STREAM, 0));
	un_addr(&sun, &len, name, 1);
	show("bind abstract", syscall(SYS_bind, s, &sun, len));
	close(s);
}

int main(void)
{
	open_family();
	stat_family();
	link_family();
	make_and_remove();
	metadata();
	xattrs();
	watches_and_lists();
	directories();
	dirfds();
	sockets();
	printf("done\n");
	return 0;
}
