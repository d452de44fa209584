// SPDX-License-Identifier: MIT
/*
 * The run's private directory and its guard (scratch.h).
 *
 * The guard is a grandchild of ptvfs, reparented at once: the tracer's loop
 * waits for children until there are none, so a child of ptvfs that lives
 * as long as ptvfs would keep it waiting for ever. The guard sits in its own
 * session (a terminal's Ctrl-C or hangup does not reach it) and blocks on a
 * pipe whose only write end ptvfs holds, close-on-exec so the command never
 * has it. ptvfs ending in any way, SIGKILL included, closes that end. A
 * byte written before the close says "already removed": the guard then
 * leaves, so it never removes a later directory that reused the name.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "scratch.h"

/* Longest name_hint part of a scratch_new_dir() name. */
#define HINT_MAX 40

struct scratch {
	char *dir;
	int guard_fd;	/* the write end of the guard's pipe */
	pid_t owner;	/* the process that made it: only it removes it at exit */
	unsigned made;	/* scratch_new_dir() calls so far, for the names */
	char **subdirs; /* the directories they made */
	size_t subdir_count;
	struct scratch *next;
};

/* Directories not yet destroyed, removed by an exit() that skips main's cleanup (die()). */
static struct scratch *live;

/*
 * Open the directory NAME of PARENT for removal, giving it u+rwx first
 * when the command made it unreadable, and then on the descriptor, so that
 * its entries can be unlinked. O_NOFOLLOW: a link is removed, never
 * followed out of the tree. Returns the descriptor or -errno.
 */
static int open_for_removal(int parent, const char *name)
{
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	/* EACCES comes only from a directory (a link gives ELOOP or ENOTDIR). */
	if (fd < 0 && errno == EACCES && fchmodat(parent, name, S_IRWXU, 0) == 0)
		fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, S_IRWXU) < 0) {
		/* Not ours to change; unlinking below it tells. */
	}
	return fd;
}

/* A stack of directory names still to remove, with their depths. */
struct todo {
	char **name;
	unsigned *depth;
	size_t count, cap;
};

static void todo_push(struct todo *t, const char *name, unsigned depth)
{
	if (t->count == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->name = xrealloc(t->name, t->cap * sizeof(*t->name));
		t->depth = xrealloc(t->depth, t->cap * sizeof(*t->depth));
	}
	t->name[t->count] = xstrdup(name);
	t->depth[t->count++] = depth;
}

/*
 * Unlink what is not a directory in the directory open at FD, and push its
 * subdirectories at DEPTH. Returns 0 or the first -errno.
 */
static int clear_dir(int fd, struct todo *t, unsigned depth)
{
	int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0), ret = 0;
	struct dirent *e;
	DIR *d;

	if (copy < 0)
		return -errno;
	d = fdopendir(copy);
	if (!d) {
		ret = -errno;
		close(copy);
		return ret;
	}
	while ((errno = 0, e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (e->d_type == DT_DIR) {
			todo_push(t, e->d_name, depth);
			continue;
		}
		if (unlinkat(fd, e->d_name, 0) == 0)
			continue;
		if (errno == EISDIR) /* d_type was DT_UNKNOWN */
			todo_push(t, e->d_name, depth);
		else if (!ret)
			ret = -errno;
	}
	if (errno && !ret)
		ret = -errno;
	closedir(d);
	return ret;
}

/*
 * Remove PATH and all below it. Depth first, holding one descriptor at a
 * time and going back up by "..": a tree of any depth (the command may nest
 * directories far below PATH_MAX's reach) needs neither long paths nor one
 * descriptor per level. Nothing else changes the tree meanwhile: the
 * command and all it started have ended. Returns 0 or the first -errno; an
 * entry that cannot be removed is skipped, never retried for ever.
 */
static int remove_tree(const char *path)
{
	struct todo todo = {0};
	char **here; /* here[d]: the name of the directory open at depth d > 0 */
	unsigned depth = 0;
	int cur, parent, ret;

	cur = open_for_removal(AT_FDCWD, path);
	if (cur == -ENOENT)
		return 0;
	if (cur < 0)
		return cur;
	here = xcalloc(1, sizeof(*here));
	ret = clear_dir(cur, &todo, 1);
	for (;;) {
		if (todo.count && todo.depth[todo.count - 1] == depth + 1) {
			char *name = todo.name[--todo.count];
			int child = open_for_removal(cur, name), err;

			if (child < 0) {
				ret = ret ? ret : child;
				free(name);
				continue;
			}
			close(cur);
			cur = child;
			here = xrealloc(here, (++depth + 1) * sizeof(*here));
			here[depth] = name;
			err = clear_dir(cur, &todo, depth + 1);
			ret = ret ? ret : err;
			continue;
		}
		/* All below CUR is gone (or could not be removed): up, and remove it. */
		if (depth == 0)
			break;
		parent = openat(cur, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(cur);
		cur = parent;
		if (cur < 0) {
			ret = ret ? ret : -errno;
			break;
		}
		if (unlinkat(cur, here[depth], AT_REMOVEDIR) < 0 && !ret)
			ret = -errno;
		free(here[depth--]);
	}
	if (cur >= 0)
		close(cur);
	for (; depth > 0; depth--)
		free(here[depth]);
	free(here);
	while (todo.count)
		free(todo.name[--todo.count]);
	free(todo.name);
	free(todo.depth);
	if (rmdir(path) < 0 && !ret)
		ret = -errno;
	return ret;
}

/* Close every descriptor but KEEP, which becomes 3; 0 to 2 become /dev/null. */
static void keep_only(int keep)
{
	struct rlimit rl;
	int high = fcntl(keep, F_DUPFD, 3);
	int null = open("/dev/null", O_RDWR);

	for (int fd = 0; fd <= 2; fd++) {
		if (null >= 0)
			dup2(null, fd);
		else
			close(fd);
	}
	dup2(high, 3);
	if (close_range(4, ~0U, 0) == 0)
		return;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		rl.rlim_cur = 65536;
	for (int fd = 4; fd < (int)rl.rlim_cur; fd++)
		close(fd);
}

/* The guard: wait until ptvfs has ended, then remove DIR unless ptvfs did. */
static __attribute__((noreturn)) void guard(int fd, const char *dir)
{
	sigset_t none;
	ssize_t n;
	char c;

	setsid();
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Neither hold DIR as its cwd nor keep open what ptvfs's caller waits on. */
	if (chdir("/") < 0) {
		/* The removal uses absolute paths only. */
	}
	keep_only(fd);
	do
		n = read(3, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	/* Killed traced processes may still be finishing a call: try for a second. */
	for (int i = 0; i < 20 && remove_tree(dir) < 0; i++) {
		struct timespec ts = {0, 50000000L};

		nanosleep(&ts, NULL);
	}
	_exit(0);
}

/*
 * Start the guard of S. Returns 0 or -errno. Returns once the guard is set
 * up (its own session, "/" as cwd, nothing of ptvfs's open): the command
 * never runs beside a guard that still holds a pipe of ptvfs's caller.
 */
static int start_guard(struct scratch *s)
{
	int fds[2], ready[2], status, err;
	ssize_t n;
	char c;
	pid_t mid;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* READY's write end ends with the intermediate process and the guard's keep_only(). */
	if (pipe2(ready, O_CLOEXEC) < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		return err;
	}
	mid = fork();
	if (mid < 0) {
		err = -errno;
		close(fds[0]);
		close(fds[1]);
		close(ready[0]);
		close(ready[1]);
		return err;
	}
	if (mid == 0) {
		pid_t pid;

		close(fds[1]);
		close(ready[0]);
		pid = fork();
		if (pid == 0)
			guard(fds[0], s->dir);
		_exit(pid < 0 ? 1 : 0);
	}
	close(fds[0]);
	close(ready[1]);
	while (waitpid(mid, &status, 0) < 0)
		if (errno != EINTR) {
			status = -1;
			break;
		}
	do
		n = read(ready[0], &c, 1);
	while (n < 0 && errno == EINTR);
	close(ready[0]);
	if (status != 0) {
		close(fds[1]);
		return -EAGAIN;
	}
	s->guard_fd = fds[1];
	return 0;
}

static void destroy_live(void)
{
	while (live)
		scratch_destroy(live);
}

struct scratch *scratch_create(char **err)
{
	static bool hooked;
	const char *tmp = getenv("TMPDIR");
	autofree char *base = NULL;
	autofree char *dir = NULL;
	struct scratch *s;
	int ret;

	if (!tmp || !*tmp)
		tmp = "/tmp";
	/* Absolute: the view's layers name it from anywhere. */
	base = realpath(tmp, NULL);
	if (!base) {
		*err =
		    xasprintf("cannot make the private directory in %s: %s", tmp, strerror(errno));
		return NULL;
	}
	dir = xasprintf("%s/ptvfs-XXXXXX", base);
	if (strlen(dir) + 2 + 10 + HINT_MAX >= PATH_MAX) {
		*err = xasprintf("cannot make the private directory in %s: %s", tmp,
				 strerror(ENAMETOOLONG));
		return NULL;
	}
	/* mkdtemp makes it 0700. */
	if (!mkdtemp(dir)) {
		*err =
		    xasprintf("cannot make the private directory in %s: %s", tmp, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof(*s));
	s->dir = steal_pointer(&dir);
	s->owner = getpid();
	s->guard_fd = -1;
	ret = start_guard(s);
	if (ret < 0) {
		*err = xasprintf("cannot start the guard of %s: %s", s->dir, strerror(-ret));
		rmdir(s->dir);
		free(s->dir);
		free(s);
		return NULL;
	}
	s->next = live;
	live = s;
	if (!hooked) {
		atexit(destroy_live);
		hooked = true;
	}
	return s;
}

const char *scratch_dir(const struct scratch *s)
{
	return s->dir;
}

const char *scratch_new_dir(struct scratch *s, const char *name_hint, char **err)
{
	char hint[HINT_MAX + 1];
	size_t len = 0;
	char *path;

	/* "3-home_user" for the third, made for /home/user: a name that says what it is for. */
	for (const char *p = name_hint ? name_hint : ""; *p && len < HINT_MAX; p++) {
		if (*p == '/' && (len == 0 || hint[len - 1] == '_'))
			continue;
		hint[len++] = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
				      (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'
				  ? *p
				  : '_';
	}
	hint[len] = '\0';
	path = xasprintf("%s/%u%s%s", s->dir, ++s->made, len ? "-" : "", hint);
	/* 0755 whatever the umask: what a fresh tmpfs shows (bubblewrap's too). */
	if (mkdir(path, 0700) < 0 || chmod(path, 0755) < 0) {
		*err = xasprintf("cannot make %s: %s", path, strerror(errno));
		free(path);
		return NULL;
	}
	s->subdirs = xrealloc(s->subdirs, (s->subdir_count + 1) * sizeof(*s->subdirs));
	s->subdirs[s->subdir_count++] = path;
	return path;
}

void scratch_destroy(struct scratch *s)
{
	struct scratch **p;
	int ret;

	if (!s)
		return;
	for (p = &live; *p; p = &(*p)->next)
		if (*p == s) {
			*p = s->next;
			break;
		}
	/* A forked child that exits (never the command: it execs or _exits) leaves it alone. */
	if (s->owner == getpid()) {
		ret = remove_tree(s->dir);
		if (ret < 0)
			warn("cannot remove the private directory %s: %s", s->dir, strerror(-ret));
		else if (write(s->guard_fd, "d", 1) != 1) {
			/* The guard then tries too, and finds nothing. */
		}
	}
	close(s->guard_fd);
	for (size_t i = 0; i < s->subdir_count; i++)
		free(s->subdirs[i]);
	free(s->subdirs);
	free(s->dir);
	free(s);
}
