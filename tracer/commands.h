/* SPDX-License-Identifier: MIT */
/*
 * The subcommands: `ptvfs show REPORT`, `ptvfs diff UPPER`, `ptvfs apply
 * UPPER` (DESIGN.md §1). Each gets the arguments after its name (ARGV[0]
 * is the subcommand) and returns ptvfs's exit status: 0, 1 for "did not
 * do it" (apply refused), 125 for bad input.
 */
#ifndef PTVFS_COMMANDS_H
#define PTVFS_COMMANDS_H

int show_main(int argc, char **argv); /* show.c */
int diff_main(int argc, char **argv); /* upper_cmd.c */
int apply_main(int argc, char **argv); /* upper_cmd.c */

#endif
