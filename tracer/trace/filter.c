// SPDX-License-Identifier: MIT
/*
 * The seccomp filter, built from the syscall table with libseccomp: the
 * command stops only on the rows of the table (RET_TRACE, data = syscall
 * number); everything else runs at native speed. A syscall of another ABI
 * (i386 through int 0x80, x32) raises SIGSYS instead of running, which the
 * tracer intercepts to refuse the process: it never runs unrecorded.
 */
#include <errno.h>
#include <seccomp.h>

#include "ptvfs/util.h"
#include "tracer.h"

int filter_install(bool view_mode)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int err = 0;

	if (!ctx)
		return -ENOMEM;
	err = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_TRAP);
	if (err == 0)
		/* A binary tree of syscall numbers: fewer BPF instructions per syscall. */
		err = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	for (size_t i = 0; err == 0 && i < syscall_table_len; i++) {
		const struct syscall_desc *d = &syscall_table[i];

		if (d->view_only && !view_mode)
			continue;

		if (d->stop_if_arg_nonzero != SYS_NO_ARG && d->stop_if_arg_mask)
			err = seccomp_rule_add(ctx, SCMP_ACT_TRACE(d->nr), d->nr, 1,
					       SCMP_CMP((unsigned)d->stop_if_arg_nonzero,
							SCMP_CMP_MASKED_EQ, d->stop_if_arg_mask,
							d->stop_if_arg_mask));
		else if (d->stop_if_arg_nonzero != SYS_NO_ARG)
			err = seccomp_rule_add(
			    ctx, SCMP_ACT_TRACE(d->nr), d->nr, 1,
			    SCMP_CMP((unsigned)d->stop_if_arg_nonzero, SCMP_CMP_NE, 0));
		else
			err = seccomp_rule_add(ctx, SCMP_ACT_TRACE(d->nr), d->nr, 0);
	}
	if (err == 0)
		err = seccomp_load(ctx);
	seccomp_release(ctx);
	return err;
}
