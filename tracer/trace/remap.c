// SPDX-License-Identifier: MIT
/*
 * Rewriting a stopped call's arguments (view mode): the host path a view
 * path stands for is written into the tracee's stack, below the red zone
 * (the 128 bytes below the stack pointer a leaf function such as a
 * syscall wrapper may be using), and the argument register pointed at it.
 * The call then runs on the host path; at its exit stop the argument
 * registers get their old values back, as the code around the syscall
 * instruction expects (they are inputs of the asm, not clobbered). A
 * restarted call (a signal came) thus enters again with the view path and
 * is rewritten again. Nothing outside the stack below the stack pointer
 * is ever written, and that area is free by the ABI.
 */
#include <errno.h>
#include <string.h>
#include <sys/ptrace.h>

#include "ptvfs/util.h"
#include "tracer.h"

void remap_begin(struct remap *m, const arch_regs *regs)
{
	m->regs = *regs;
	m->next = arch_stack_pointer(regs) - ARCH_RED_ZONE;
	m->changed = false;
}

unsigned long remap_place(struct thread *th, struct remap *m, const void *data, size_t len)
{
	unsigned long at = (m->next - len) & ~15UL;

	/* A few pages at most: the stack mapping reaches that far below its pointer. */
	if (m->next - at > REMAP_MAX_BYTES ||
	    arch_stack_pointer(&m->regs) - at > REMAP_MAX_BYTES + ARCH_RED_ZONE)
		return 0;
	if (tracee_write(th->tid, at, data, len) < 0)
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
	if (ptrace(PTRACE_SETREGS, th->tid, 0, &m->regs) < 0)
		return false;
	th->saved_regs = *orig;
	th->restore_pending = true;
	th->restore_after_exec = is_exec;
	return true;
}

void remap_restore(struct thread *th)
{
	arch_regs r;

	if (!th->restore_pending)
		return;
	th->restore_pending = false;
	if (ptrace(PTRACE_GETREGS, th->tid, 0, &r) < 0)
		return;
	/* A successful exec runs a new program: its registers are its own. */
	if (th->restore_after_exec && arch_return_value(&r) == 0)
		return;
	arch_restore_args(&r, &th->saved_regs);
	ptrace(PTRACE_SETREGS, th->tid, 0, &r);
}
