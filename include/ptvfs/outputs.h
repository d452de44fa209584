/* SPDX-License-Identifier: MIT */
/*
 * What build systems consume, written from the record of a run (DESIGN.md
 * §3): a Make/Ninja depfile, Bazel's unused-inputs list, a JSON
 * compilation database. Pure code over struct report: no ptrace.
 */
#ifndef PTVFS_OUTPUTS_H
#define PTVFS_OUTPUTS_H

#endif
