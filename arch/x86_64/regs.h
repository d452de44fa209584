/* SPDX-License-Identifier: MIT */
/* x86_64 registers at a syscall stop: the only per-CPU code of the tracer. */
#ifndef PTVFS_ARCH_REGS_H
#define PTVFS_ARCH_REGS_H

#include <linux/audit.h>
#include <sys/user.h>

typedef struct user_regs_struct arch_regs;

#define ARCH_AUDIT AUDIT_ARCH_X86_64
#define ARCH_NAME "x86_64"
/* Bytes below the stack pointer a leaf function may use (the red zone). */
#define ARCH_RED_ZONE 128

static inline unsigned long arch_arg(const arch_regs *r, int i)
{
	switch (i) {
	case 0:
		return r->rdi;
	case 1:
		return r->rsi;
	case 2:
		return r->rdx;
	case 3:
		return r->r10;
	case 4:
		return r->r8;
	default:
		return r->r9;
	}
}

static inline void arch_set_arg(arch_regs *r, int i, unsigned long value)
{
	switch (i) {
	case 0:
		r->rdi = value;
		break;
	case 1:
		r->rsi = value;
		break;
	case 2:
		r->rdx = value;
		break;
	case 3:
		r->r10 = value;
		break;
	case 4:
		r->r8 = value;
		break;
	default:
		r->r9 = value;
	}
}

/* Put back the argument registers of SAVED into R, keeping R's return value. */
static inline void arch_restore_args(arch_regs *r, const arch_regs *saved)
{
	r->rdi = saved->rdi;
	r->rsi = saved->rsi;
	r->rdx = saved->rdx;
	r->r10 = saved->r10;
	r->r8 = saved->r8;
	r->r9 = saved->r9;
}

static inline unsigned long arch_stack_pointer(const arch_regs *r)
{
	return r->rsp;
}

static inline long arch_syscall_nr(const arch_regs *r)
{
	return (long)r->orig_rax;
}

static inline long arch_return_value(const arch_regs *r)
{
	return (long)r->rax;
}

/* Make the stopped syscall not run, and return RET (a -errno) instead. */
static inline void arch_skip_syscall(arch_regs *r, long ret)
{
	r->orig_rax = (unsigned long)-1;
	r->rax = (unsigned long)ret;
}

#endif
