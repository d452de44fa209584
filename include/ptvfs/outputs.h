/* SPDX-License-Identifier: MIT */
/*
 * What build systems consume, written from the record of a run (DESIGN.md
 * §3): a Make/Ninja depfile, Bazel's unused-inputs list, a JSON
 * compilation database. Pure code over struct report: no ptrace.
 *
 * Each writer returns the file's text, malloc'd and NUL-terminated (the
 * caller frees it), its length in *LEN; the same record gives the same
 * text. Paths are the report's: view paths. The starting directory is the
 * report's cwd (report_cwd).
 */
#ifndef PTVFS_OUTPUTS_H
#define PTVFS_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>

#include "ptvfs/util.h"

struct report;
struct report_process;

/*
 * The depfile (--depfile): one rule "TARGETS: DEPS" in the Make syntax
 * GCC's -MD writes (long lines continued with " \" and a newline), each
 * name escaped as Ninja's `deps = gcc` and Make read it (depfile_escape).
 * - TARGETS: TARGET when not NULL; else the files written (ACCESS_WRITE)
 *   that are still there when this is called, looked up on the host
 *   (lstat of report_file.host), less directories and /dev, /proc, /sys.
 *   No target at all gives an empty text: no rule.
 * - DEPS: the regular files (lstat of the host path, so a symbolic link
 *   is left out: the file it leads to is recorded too) read or executed,
 *   less /dev, /proc, /sys and the files the command wrote first.
 * A path below the starting directory is written relative to it, any
 * other absolute. Targets and deps are each sorted by the name written.
 * A path holding a newline cannot be written in a Make rule: it is left
 * out and counted in *SKIPPED (may be NULL).
 */
char *depfile_text(const struct report *r, const char *target, size_t *len, size_t *skipped);

/*
 * Append NAME to SB escaped for a Make rule as GCC writes it and Ninja
 * reads it: a space or tab gets a backslash (and the backslashes right
 * before it are doubled), '#' gets a backslash, '$' is written "$$".
 */
void depfile_escape(struct strbuf *sb, const char *name);

/*
 * The view path NAME as a depfile names it: relative to CWD when below it
 * ("/w/src/a.c" in "/w" is "src/a.c"), else NAME itself. Points into NAME.
 * CWD "/" keeps every path absolute.
 */
const char *depfile_name(const char *name, const char *cwd);

/*
 * The unused-inputs list (--unused-inputs): of the COUNT manifest LINES
 * (view_input_line: "DEST" or "DEST<TAB>SRC", in the order their view
 * paths were given to report_set_inputs), the DEST of each input the
 * command never touched (report_inputs_used), exactly as the line wrote
 * it, one a line, in manifest order.
 */
char *unused_inputs_text(const struct report *r, size_t count, const char *const *lines,
			 size_t *len);

/*
 * The JSON compilation database (--compile-commands): an array of
 * {"directory", "arguments", "file", "output"}, one per source file each
 * compiler-driver process compiled (compile_args), in process order, then
 * the sources' order on its command line. directory is the process's cwd;
 * arguments its argv less the other sources it compiled; file and output
 * as the command line names them (relative to directory, or absolute).
 * An empty array when nothing was compiled.
 */
char *compile_commands_text(const struct report *r, size_t *len);

/*
 * Whether NAME (a basename) is a compiler driver: gcc, g++, cc, c++,
 * clang, clang++, maybe with a target prefix ("x86_64-linux-gnu-gcc") and
 * a version suffix ("gcc-12", "clang++-16", "gcc-12.2").
 */
bool is_compiler_driver(const char *name);

/* What a compiler driver's command line compiles (compile_args). */
enum compile_mode {
	COMPILE_NONE,	  /* compiles nothing: -E, -M, -MM, no source, a -cc1 job */
	COMPILE_OBJECT,	  /* -c: each source to an object file */
	COMPILE_ASSEMBLY, /* -S: each source to assembly */
	COMPILE_LINK,	  /* no -c, -S, -E: sources compiled and linked into one program */
};

struct compile_args {
	enum compile_mode mode;
	size_t nsources;
	size_t *sources;    /* indexes into argv, in order (also with COMPILE_NONE: "-E a.c") */
	const char *output; /* -o, or NULL */
};

/*
 * Parse ARGV (a driver's, NULL-terminated) into OUT: the mode and the
 * source files (by extension: .c .cc .cp .cpp .cxx .c++ .C .CPP .m .mm .M
 * .s .S .sx, or any file after -x with a language of those). Values of
 * options that take one ("-o FILE", "-I DIR", "-include FILE", ...) and
 * response files ("@FILE") are not sources. Free with compile_args_free.
 */
void compile_args_parse(char *const *argv, struct compile_args *out);
void compile_args_free(struct compile_args *args);
/*
 * The output file of source SOURCE (a path from the command line) under
 * ARGS: -o when given, else for -c the source's basename with ".o" for
 * its extension ("src/a.c" gives "a.o"), ".s" for -S, "a.out" for a link.
 * Malloc'd.
 */
char *compile_output(const struct compile_args *args, const char *source);

#endif
