// SPDX-License-Identifier: MIT
/*
 * An execve runs more than the file it names: the ELF interpreter of a
 * dynamic program (PT_INTERP), and for a "#!" script the interpreter named
 * on its first line (itself maybe a script, to the kernel's depth of 4).
 * All of them are recorded as executed; the shared libraries the ELF
 * interpreter loads are opened by ordinary syscalls and recorded as reads.
 */
#include <elf.h>
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
