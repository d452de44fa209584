// SPDX-License-Identifier: MIT
/*
 * Rewriting a stopped call's arguments (view mode): the host path a view
 * path stands for is written into a scratch mapping ptvfs made in the
 * tracee, and the argument register pointed at it. The call then runs on
 * the host path; at its exit stop the argument registers get their old
 * values back, as the code around the syscall instruction expects (they
 * are inputs of the asm, not clobbered). A restarted call (a signal came)
 * thus enters again with the view path and is rewritten again.
 *
 * The scratch area: nothing in the tracee's own memory is free for ptvfs
 * to write, not even below the stack pointer (a stack carved out of the
 * heap has the program's data right below it). So each address space
 * gets mappings of its own, made the first time a call in it needs one:
 * the stopped call is turned into mmap(), run to its exit stop, and then
 * made again from its syscall instruction (tracee_mmap()); its handler
 * goes on meanwhile, and when it rewrote the call, the call's second
 * stop is not handled again (REPLAY_COMMITTED); a signal delivered before
 * that second stop gets the call's own arguments back first, and the call
 * is handled anew after the signal's handler. Each thread gets a slot
 * of its own, as the threads of an address space are in rewritten calls
 * at the same time; a slot is the thread's until it ends or execs (one
 * call at a time: a signal handler's call comes after the interrupted
 * call's exit stop, its registers restored). A fork child inherits the
 * mappings at the same addresses, each checked by the random mark in its
 * first bytes before its first use: a mapping made while the fork ran
 * may be missing from the copy.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/random.h>

#include "ptvfs/util.h"
#include "tracer.h"

#define SLOT_BYTES REMAP_MAX_BYTES
/* A slot's lowest bytes are not placed in: a mapping's first slot holds its mark there. */
#define SLOT_HEADER 16
/* A mapping has room for as many slots as the area had so far, from 4 to 64. */
#define MAP_MIN_SLOTS 4
#define MAP_MAX_SLOTS 64

struct scratch_map {
	unsigned long addr;
	unsigned slots;
	uint64_t used; /* a bit per slot a thread holds */
	/* Known to be in this address space; a fork child's copy is checked first. */
	bool checked;
	unsigned char mark[SLOT_HEADER];
	struct scratch_map *next;
};

struct scratch_space {
	unsigned refs; /* threads running in it */
	struct scratch_map *maps;
	unsigned slots;
	/* The mmap failed (RLIMIT_AS, a seccomp filter of the program's): its -errno. */
	int map_error;
};

void scratch_leave(struct thread *th)
{
	struct scratch_space *s = th->space;

	if (!s)
		return;
	for (struct scratch_map *map = s->maps; map && th->slot; map = map->next) {
		if (th->slot >= map->addr && th->slot < map->addr + map->slots * SLOT_BYTES) {
			map->used &= ~(1ULL << ((th->slot - map->addr) / SLOT_BYTES));
			break;
		}
	}
	th->slot = 0;
	th->space = NULL;
	if (--s->refs)
		return;
	while (s->maps) {
		struct scratch_map *map = s->maps;
		s->maps = map->next;
		free(map);
	}
	free(s);
}

void scratch_fresh(struct thread *th)
{
	scratch_leave(th);
	th->space = xcalloc(1, sizeof(*th->space));
	th->space->refs = 1;
}

void scratch_share(struct thread *th, const struct thread *other)
{
	struct scratch_space *s = other->space;

	if (s == th->space)
		return;
	if (!s) {
		scratch_fresh(th);
		return;
	}
	scratch_leave(th);
	s->refs++;
	th->space = s;
}

void scratch_copy(struct thread *th, const struct thread *parent)
{
	struct scratch_map **tail;

	scratch_fresh(th);
	if (!parent->space)
		return;
	th->space->map_error = parent->space->map_error;
	tail = &th->space->maps;
	for (const struct scratch_map *map = parent->space->maps; map; map = map->next) {
		struct scratch_map *copy = xmalloc(sizeof(*copy));

		*copy = *map;
		copy->used = 0;
		copy->checked = false;
		copy->next = NULL;
		*tail = copy;
		tail = &copy->next;
		th->space->slots += copy->slots;
	}
}

/* MAP is in TH's address space: its mark is there (a copy made before it was mapped is not). */
static bool map_present(const struct thread *th, const struct scratch_map *map)
{
	unsigned char mark[SLOT_HEADER];

	return tracee_read(th->tid, map->addr, mark, sizeof(mark)) == 0 &&
	       memcmp(mark, map->mark, sizeof(mark)) == 0;
}

/* A new mapping for S, made by TH (which then makes its call again) into *OUT. 0 or -errno. */
static int map_new(struct thread *th, struct scratch_space *s, struct scratch_map **out)
{
	unsigned n = s->slots < MAP_MIN_SLOTS	? MAP_MIN_SLOTS
		     : s->slots > MAP_MAX_SLOTS ? MAP_MAX_SLOTS
						: s->slots;
	struct scratch_map *map;
	unsigned long ip;
	long addr = tracee_mmap(th->tid, (size_t)n * SLOT_BYTES, &ip);

	if (ip) {
		th->replay = REPLAY_PENDING;
		th->replay_ip = ip;
	}
	if (addr < 0) {
		/* The mmap ran and failed: it is not tried again in this address space. */
		if (ip)
			s->map_error = (int)addr;
		return (int)addr;
	}
	map = xcalloc(1, sizeof(*map));
	map->addr = (unsigned long)addr;
	map->slots = n;
	map->checked = true;
	if (getrandom(map->mark, sizeof(map->mark), 0) != sizeof(map->mark) ||
	    tracee_write(th->tid, map->addr, map->mark, sizeof(map->mark)) < 0) {
		free(map);
		s->map_error = -EFAULT;
		return -EFAULT;
	}
	map->next = s->maps;
	s->maps = map;
	s->slots += n;
	*out = map;
	return 0;
}

/* TH's slot in its address space's scratch area, taken now if need be. Returns 0 or -errno. */
static int take_slot(struct thread *th)
{
	struct scratch_space *s;
	struct scratch_map *map, **link;
	unsigned i;
	int err;

	if (th->slot)
		return 0;
	if (!th->space)
		scratch_fresh(th);
	s = th->space;
	for (link = &s->maps; (map = *link);) {
		if (map->used == (map->slots == MAP_MAX_SLOTS ? ~0ULL : (1ULL << map->slots) - 1)) {
			link = &map->next;
			continue;
		}
		if (!map->checked && !map_present(th, map)) {
			/* Not in this copy of the address space: forgotten here. */
			*link = map->next;
			s->slots -= map->slots;
			free(map);
			continue;
		}
		map->checked = true;
		goto take;
	}
	if (s->map_error)
		return s->map_error;
	err = map_new(th, s, &map);
	if (err < 0)
		return err;
take:
	for (i = 0; map->used & (1ULL << i); i++)
		;
	map->used |= 1ULL << i;
	th->slot = map->addr + i * SLOT_BYTES;
	return 0;
}

/*
 * Without a scratch area (the mmap failed), the old way, on the stack
 * below the red zone; but only on the process's main stack ("[stack]"
 * in its maps), which the kernel made for it and nothing else lives in.
 * Any other stack (a thread's, a coroutine's carved out of the heap)
 * may end anywhere below its pointer: the call is refused there rather
 * than written into memory that may be the program's data.
 */
static int stack_area(struct thread *th, unsigned long sp, unsigned long *low, unsigned long *top)
{
	size_t len;
	autofree char *maps = proc_read_file(th->tid, "maps", &len);
	const char *line = maps;

	while (line && *line) {
		const char *end = strchr(line, '\n');
		size_t n = end ? (size_t)(end - line) : strlen(line);
		unsigned long lo, hi;

		if (n > 8 && memcmp(line + n - 7, "[stack]", 7) == 0 &&
		    sscanf(line, "%lx-%lx", &lo, &hi) == 2) {
			if (sp < lo + ARCH_RED_ZONE || sp > hi)
				return -EFAULT;
			*top = sp - ARCH_RED_ZONE;
			*low = *top - lo > REMAP_MAX_BYTES ? *top - REMAP_MAX_BYTES : lo;
			return 0;
		}
		line = end ? end + 1 : NULL;
	}
	return -EFAULT;
}

void remap_begin(struct remap *m, const arch_regs *regs)
{
	m->regs = *regs;
	m->next = 0;
	m->low = 0;
	m->changed = false;
}

unsigned long remap_place(struct thread *th, struct remap *m, const void *data, size_t len)
{
	unsigned long at;

	if (!m->next) {
		int err = take_slot(th);

		if (err == 0) {
			m->low = th->slot + SLOT_HEADER;
			m->next = th->slot + SLOT_BYTES;
		} else if (err == -ESRCH ||
			   stack_area(th, arch_stack_pointer(&m->regs), &m->low, &m->next) < 0) {
			return 0;
		}
	}
	if (len > m->next - m->low)
		return 0;
	at = (m->next - len) & ~15UL;
	if (at < m->low || (data && tracee_write(th->tid, at, data, len) < 0))
		return 0;
	m->next = at;
	return at;
}

int remap_arg_string(struct thread *th, struct remap *m, int arg, const char *s)
{
	unsigned long at = remap_place(th, m, s, strlen(s) + 1);

	if (!at)
		return -EFAULT;
	arch_set_arg(&m->regs, arg, at);
	m->changed = true;
	return 0;
}

bool remap_commit(struct thread *th, struct remap *m, const arch_regs *orig, bool is_exec)
{
	if (!m->changed)
		return false;
	/* Stopped at ptvfs's mmap: the call, rewritten, enters again. */
	if (th->replay == REPLAY_PENDING)
		regs_call_again(&m->regs, th->replay_ip);
	if (ptrace(PTRACE_SETREGS, th->tid, 0, &m->regs) < 0)
		return false;
	th->saved_regs = *orig;
	th->restore_pending = true;
	th->restore_after_exec = is_exec;
	if (th->replay == REPLAY_PENDING)
		th->replay = REPLAY_COMMITTED;
	return true;
}

void remap_restore_regs(struct thread *th, arch_regs *r)
{
	if (!th->restore_pending)
		return;
	th->restore_pending = false;
	/* A successful exec runs a new program: its registers are its own. */
	if (th->restore_after_exec && arch_return_value(r) == 0)
		return;
	arch_restore_args(r, &th->saved_regs);
	ptrace(PTRACE_SETREGS, th->tid, 0, r);
}

void remap_restore(struct thread *th)
{
	arch_regs r;

	if (th->restore_pending && ptrace(PTRACE_GETREGS, th->tid, 0, &r) == 0)
		remap_restore_regs(th, &r);
	th->restore_pending = false;
}

bool remap_replay_again(struct thread *th)
{
	arch_regs r;

	th->replay = REPLAY_NONE;
	return ptrace(PTRACE_GETREGS, th->tid, 0, &r) == 0 && regs_ip(&r) == th->replay_ip;
}

bool remap_replay_arrived(struct thread *th)
{
	arch_regs r;
	bool same;

	th->replay = REPLAY_NONE;
	same = ptrace(PTRACE_GETREGS, th->tid, 0, &r) == 0 &&
	       arch_syscall_nr(&r) == arch_syscall_nr(&th->saved_regs) &&
	       regs_ip(&r) == regs_ip(&th->saved_regs);
	if (!same)
		th->restore_pending = false; /* another call: what was rewritten never ran */
	return same;
}

void remap_replay_undo(struct thread *th)
{
	arch_regs r = th->saved_regs;

	th->replay = REPLAY_NONE;
	th->restore_pending = false;
	regs_call_again(&r, th->replay_ip);
	ptrace(PTRACE_SETREGS, th->tid, 0, &r);
}
