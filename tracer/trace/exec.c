// SPDX-License-Identifier: MIT
/*
 * An execve runs more than the file it names: the ELF interpreter of a
 * dynamic program (PT_INTERP), and for a "#!" script the interpreter named
 * on its first line (itself maybe a script, to the kernel's depth of 4).
 * All of them are recorded as executed; the shared libraries the ELF
 * interpreter loads are opened by ordinary syscalls and recorded as reads.
 */
#include <elf.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ptvfs/util.h"
#include "tracer.h"

/* The kernel's limit on nested "#!" interpreters. */
#define MAX_INTERPRETER_DEPTH 4

/* The PT_INTERP of the ELF file FD (32- or 64-bit), into BUF; 0 when none. */
static int elf_interpreter(int fd, const unsigned char *head, size_t head_len, char *buf,
			   size_t size)
{
	bool is64;
	unsigned long phoff;
	unsigned phnum, phentsize;

	if (head_len < EI_NIDENT || memcmp(head, ELFMAG, SELFMAG) != 0)
		return 0;
	is64 = head[EI_CLASS] == ELFCLASS64;
	if (is64 && head_len >= sizeof(Elf64_Ehdr)) {
		const Elf64_Ehdr *eh = (const Elf64_Ehdr *)head;
		phoff = eh->e_phoff;
		phnum = eh->e_phnum;
		phentsize = eh->e_phentsize;
		if (phentsize < sizeof(Elf64_Phdr))
			return 0;
	} else if (!is64 && head_len >= sizeof(Elf32_Ehdr)) {
		const Elf32_Ehdr *eh = (const Elf32_Ehdr *)head;
		phoff = eh->e_phoff;
		phnum = eh->e_phnum;
		phentsize = eh->e_phentsize;
		if (phentsize < sizeof(Elf32_Phdr))
			return 0;
	} else {
		return 0;
	}
	for (unsigned i = 0; i < phnum && i < 256; i++) {
		unsigned char ph[sizeof(Elf64_Phdr)];
		unsigned long off, filesz;
		unsigned type;

		if (pread(fd, ph, phentsize < sizeof(ph) ? phentsize : sizeof(ph),
			  phoff + (unsigned long)i * phentsize) <= 0)
			return 0;
		if (is64) {
			const Elf64_Phdr *p = (const Elf64_Phdr *)ph;
			type = p->p_type;
			off = p->p_offset;
			filesz = p->p_filesz;
		} else {
			const Elf32_Phdr *p = (const Elf32_Phdr *)ph;
			type = p->p_type;
			off = p->p_offset;
			filesz = p->p_filesz;
		}
		if (type != PT_INTERP)
			continue;
		if (filesz == 0 || filesz >= size)
			return 0;
		if (pread(fd, buf, filesz, off) != (ssize_t)filesz)
			return 0;
		buf[filesz] = '\0';
		return 1;
	}
	return 0;
}

/* The interpreter of a "#!" script, into BUF; 0 when none. */
static int script_interpreter(const unsigned char *head, size_t head_len, char *buf, size_t size)
{
	size_t i = 2, start, end;

	if (head_len < 2 || head[0] != '#' || head[1] != '!')
		return 0;
	while (i < head_len && (head[i] == ' ' || head[i] == '\t'))
		i++;
	start = i;
	while (i < head_len && head[i] != ' ' && head[i] != '\t' && head[i] != '\n' &&
	       head[i] != '\0')
		i++;
	end = i;
	if (end == start || end - start >= size)
		return 0;
	memcpy(buf, head + start, end - start);
	buf[end - start] = '\0';
	return 1;
}

static void record_program(struct tracer *t, struct thread *th, const struct resolution *prog,
			   int depth)
{
	struct host_resolver hr = {t, th};
	unsigned char head[256];
	char interp[PATH_MAX];
	struct resolution res;
	autoclose int fd = -1;
	ssize_t n;
	int found;

	record_access(t, th, prog->path, ACCESS_EXEC);
	if (depth > MAX_INTERPRETER_DEPTH)
		return;
	fd = open(prog->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	n = pread(fd, head, sizeof(head), 0);
	if (n <= 0)
		return;
	found = elf_interpreter(fd, head, n, interp, sizeof(interp));
	if (!found)
		found = script_interpreter(head, n, interp, sizeof(interp));
	if (!found)
		return;
	/* A relative interpreter is looked up from the process's directory, as the kernel does. */
	if (resolve_path(&host_resolve_ops, &hr, thread_cwd(t, th), interp, RESOLVE_FOLLOW, &res) ==
	    0)
		record_program(t, th, &res, depth + 1);
	else if (res.error == -ENOENT || res.error == -ENOTDIR)
		record_access(t, th, res.path, ACCESS_PROBE);
}

void record_exec(struct tracer *t, struct thread *th, const struct resolution *prog)
{
	record_program(t, th, prog, 1);
}

/*
 * View mode. The kernel loads a program's ELF interpreter and a script's
 * "#!" interpreter by the path written in the file, on the host; in the
 * view that path may name another file, or nothing. So ptvfs runs what the
 * kernel would have run itself: for a script, its interpreter with the
 * script as an argument, as the kernel builds it ([interpreter, optional
 * argument, script, argv[1]...]); for a program whose interpreter is
 * elsewhere on the host, the interpreter itself (the dynamic loader, run
 * as a program: [loader, "--argv0", argv[0], program, argv[1]...]), which
 * then opens the program and its libraries through the view. A program
 * whose interpreter is where the kernel looks runs as it is.
 */

/* Drop the first entry of the planned argv (the kernel replaces it for a script). */
static void plan_drop_first(struct exec_plan *p)
{
	if (p->count > 0) {
		free(p->entries[0].s);
		memmove(p->entries, p->entries + 1, --p->count * sizeof(p->entries[0]));
	} else {
		p->keep_from++;
	}
}

/* Put a new string (S, copied) or the original argv[ORIG] (S NULL) at position AT. */
static int plan_insert(struct exec_plan *p, int at, const char *s, long orig)
{
	if (p->count == EXEC_PLAN_MAX)
		return -E2BIG;
	memmove(p->entries + at + 1, p->entries + at, (p->count - at) * sizeof(p->entries[0]));
	p->entries[at].s = s ? xstrdup(s) : NULL;
	p->entries[at].orig = orig;
	p->count++;
	return 0;
}

void exec_plan_free(struct exec_plan *p)
{
	for (int i = 0; i < p->count; i++)
		free(p->entries[i].s);
	p->count = 0;
}

int exec_plan_view(struct tracer *t, struct thread *th, const char *filename,
		   const struct resolution *prog, const struct view_target *target,
		   struct exec_plan *p)
{
	char cur_view[PATH_MAX], cur_host[PATH_MAX], cur_name[PATH_MAX];
	const char *cwd = viewfs_cwd(t, th);

	memset(p, 0, sizeof(*p));
	snprintf(cur_view, sizeof(cur_view), "%s", prog->path);
	snprintf(cur_host, sizeof(cur_host), "%s", target->host);
	snprintf(cur_name, sizeof(cur_name), "%s", filename);
	for (int depth = 1;; depth++) {
		unsigned char head[256];
		char interp[PATH_MAX], *arg = NULL;
		struct resolution res;
		struct view_target it;
		autoclose int fd = -1;
		struct stat st;
		bool same = false;
		ssize_t n;

		viewfs_record(t, th, cur_view, ACCESS_EXEC);
		snprintf(p->exe_view, sizeof(p->exe_view), "%s", cur_view);
		/* The kernel's own checks, before ptvfs runs an interpreter in its place. */
		if (stat(cur_host, &st) < 0)
			return -errno;
		if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, cur_host, X_OK, AT_EACCESS) < 0)
			return -EACCES;
		fd = open(cur_host, O_RDONLY | O_CLOEXEC);
		n = fd < 0 ? -1 : pread(fd, head, sizeof(head), 0);
		if (n <= 0)
			break; /* the kernel says why (EACCES for an unreadable one, ENOEXEC) */
		if (elf_interpreter(fd, head, n, interp, sizeof(interp))) {
			if (viewfs_resolve(t, th, cwd, interp, RESOLVE_FOLLOW, &res, &it, &same) <
				0 ||
			    it.kind != VIEW_HOST) {
				viewfs_record(t, th, res.path, ACCESS_PROBE);
				return -ENOENT; /* what the kernel says of a missing interpreter */
			}
			viewfs_record(t, th, res.path, ACCESS_EXEC);
			/* The kernel finds it where it looks (through the host's own links too). */
			if (strcmp(interp, it.host) == 0 || (same && interp[0] == '/'))
				break;
			/* [loader, --argv0, argv[0], program, argv[1]...] */
			if (p->count == 0 && plan_insert(p, 0, NULL, p->keep_from++) < 0)
				return -E2BIG;
			if (plan_insert(p, 0, interp, 0) < 0 ||
			    plan_insert(p, 1, "--argv0", 0) < 0 ||
			    plan_insert(p, 3, cur_view, 0) < 0)
				return -E2BIG;
			snprintf(cur_host, sizeof(cur_host), "%s", it.host);
			p->argv_changed = true;
			break;
		}
		if (depth > MAX_INTERPRETER_DEPTH ||
		    !script_interpreter(head, n, interp, sizeof(interp)))
			break;
		/* The optional argument: the rest of the line, trimmed, as the kernel takes it. */
		{
			char line[sizeof(head) + 1];
			char *nl, *rest;

			memcpy(line, head, n);
			line[n] = '\0';
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			rest = strstr(line, interp) + strlen(interp);
			while (*rest == ' ' || *rest == '\t')
				rest++;
			for (char *e = rest + strlen(rest);
			     e > rest && (e[-1] == ' ' || e[-1] == '\t');)
				*--e = '\0';
			if (*rest)
				arg = xstrdup(rest);
		}
		plan_drop_first(p);
		if (plan_insert(p, 0, interp, 0) < 0 || (arg && plan_insert(p, 1, arg, 0) < 0) ||
		    plan_insert(p, arg ? 2 : 1, cur_name, 0) < 0) {
			free(arg);
			return -E2BIG;
		}
		free(arg);
		p->argv_changed = true;
		if (viewfs_resolve(t, th, cwd, interp, RESOLVE_FOLLOW, &res, &it, NULL) < 0 ||
		    it.kind != VIEW_HOST) {
			viewfs_record(t, th, res.path, ACCESS_PROBE);
			return -ENOENT;
		}
		snprintf(cur_view, sizeof(cur_view), "%s", res.path);
		snprintf(cur_host, sizeof(cur_host), "%s", it.host);
		snprintf(cur_name, sizeof(cur_name), "%s", interp);
	}
	snprintf(p->host, sizeof(p->host), "%s", cur_host);
	return 0;
}
