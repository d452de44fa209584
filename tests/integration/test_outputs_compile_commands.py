"""--compile-commands: a Makefile-driven build (make -j2) of three sources, one in a
subdirectory, gives one entry per source with the flags only the Makefile knows; clang-tidy -p
reads it and compiles each source with them (a source that fails without -DFOO=1 passes). A
Ninja-driven build gives its entries too, and a compile-and-link of two sources gives one entry
each."""
import json
import os
import subprocess

from ptvfs_test import (PTVFS, check, give_to_nobody, native, run_sections, scratch_dir,
                        unprivileged, write_file)

GUARD = "#if !FOO\n#error FOO is not set: the compile command was not used\n#endif\n"

MAKEFILE = """CFLAGS = -DFOO=1 -Iinclude -O2
OBJS = main.o util.o sub/extra.o

prog: $(OBJS)
\t$(CC) $(OBJS) -o prog

%.o: %.c include/util.h
\t$(CC) $(CFLAGS) -c $< -o $@
"""

BUILD_NINJA = """rule cc
  command = gcc -DFOO=1 -Iinclude -c $in -o $out
rule link
  command = gcc $in -o $out
build main.o: cc main.c
build util.o: cc util.c
build sub/extra.o: cc sub/extra.c
build prog: link main.o util.o sub/extra.o
"""


def project():
    d = scratch_dir()
    write_file(os.path.join(d, "include", "util.h"), "int util(void);\nint extra(void);\n")
    write_file(os.path.join(d, "main.c"),
               GUARD + '#include "util.h"\nint main(void) { return util() + extra(); }\n')
    write_file(os.path.join(d, "util.c"), GUARD + '#include "util.h"\nint util(void) { return 0; }\n')
    write_file(os.path.join(d, "sub", "extra.c"),
               GUARD + '#include "util.h"\nint extra(void) { return 0; }\n')
    write_file(os.path.join(d, "Makefile"), MAKEFILE)
    write_file(os.path.join(d, "build.ninja"), BUILD_NINJA)
    give_to_nobody(d)
    return d


def build_under_ptvfs(d, cmd, as_nobody):
    db_path = os.path.join(d, "compile_commands.json")
    full = [PTVFS, "--compile-commands", db_path, "--", *cmd]
    p = subprocess.run(unprivileged(full) if as_nobody else full, cwd=d, capture_output=True)
    db = json.load(open(db_path)) if os.path.exists(db_path) else None
    return p, db


def check_entries(d, db, who):
    check(isinstance(db, list), f"the database is a JSON array{who}")
    files = sorted(e["file"] for e in db)
    check(files == ["main.c", "sub/extra.c", "util.c"],
          f"one entry per source compiled, no entry for the link{who}: {files}")
    for e in db:
        check(set(e) == {"directory", "arguments", "file", "output"},
              f"each entry has directory, arguments, file, output{who}: {sorted(e)}")
        check(e["directory"] == d, f"directory is where the compiler ran{who}: {e['directory']}")
        check("-DFOO=1" in e["arguments"] and "-Iinclude" in e["arguments"],
              f"the arguments hold the build's flags{who}: {e['arguments']}")
        check(e["arguments"][0] in ("cc", "gcc") and e["file"] in e["arguments"],
              f"arguments start with the driver and name the file{who}: {e['arguments']}")
        check(e["output"] == e["file"][:-2] + ".o", f"output is the object file{who}: "
              f"{e['output']} for {e['file']}")


def clang_tidy_uses_it(d, who):
    for src in ("main.c", "sub/extra.c"):
        p = subprocess.run(["clang-tidy", "--quiet", "--checks=-*,clang-analyzer-core.*",
                            "-p", d, src], cwd=d, capture_output=True)
        out = p.stdout.decode() + p.stderr.decode()
        check(p.returncode == 0 and "Error while processing" not in out and "FOO is not set" not in out,
              f"clang-tidy -p finds {src}'s entry and compiles it with -DFOO=1{who}: {out}")
    # The control: without the database the guard fails, so the pass above came from it.
    p = subprocess.run(["clang-tidy", "--quiet", "--checks=-*,clang-analyzer-core.*", "main.c",
                        "--", "-Iinclude"], cwd=d, capture_output=True)
    out = p.stdout.decode() + p.stderr.decode()
    check(p.returncode != 0 and "FOO is not set" in out,
          f"without the database clang-tidy stops at the guard (the control): {out}")


def make_build(as_nobody):
    who = " (as nobody)" if as_nobody else ""
    d = project()
    p, db = build_under_ptvfs(d, ["make", "-j2"], as_nobody)
    check(p.returncode == 0, f"make -j2 under ptvfs builds{who}: {p.stderr.decode()}")
    check(os.path.exists(os.path.join(d, "prog")), f"the program is linked{who}")
    check_entries(d, db, who)
    check(json.load(open(os.path.join(d, "compile_commands.json"))) == db,
          "the database is plain JSON")
    clang_tidy_uses_it(d, who)


def make_driven():
    make_build(False)


def make_driven_as_nobody():
    make_build(True)


def ninja_driven():
    d = project()
    p, db = build_under_ptvfs(d, ["ninja"], False)
    check(p.returncode == 0, f"ninja under ptvfs builds: {p.stderr.decode()}")
    check_entries(d, db, " (ninja)")
    # The same build again gives the same database (process order, nothing else).
    for name in ("main.o", "util.o", "sub/extra.o", "prog", ".ninja_log", ".ninja_deps"):
        if os.path.exists(os.path.join(d, name)):
            os.unlink(os.path.join(d, name))
    p, again = build_under_ptvfs(d, ["ninja", "-j1"], False)
    p, once_more = build_under_ptvfs(d, ["sh", "-c", "rm -f *.o sub/*.o && ninja -j1"], False)
    check(again == once_more, "a deterministic build gives the same database")


def several_sources_in_one_run():
    d = project()
    p, db = build_under_ptvfs(d, ["gcc", "-DFOO=1", "-Iinclude", "main.c", "util.c",
                                  "sub/extra.c", "-o", "prog"], False)
    check(p.returncode == 0, f"a compile-and-link of three sources runs: {p.stderr.decode()}")
    files = [e["file"] for e in db]
    check(files == ["main.c", "util.c", "sub/extra.c"],
          f"one entry per source, in command-line order: {files}")
    for e in db:
        others = {"main.c", "util.c", "sub/extra.c"} - {e["file"]}
        check(not others & set(e["arguments"]), f"an entry's arguments name its source only: "
              f"{e['arguments']}")
        check(e["output"] == "prog", f"the output is the program linked: {e['output']}")
    clang_tidy_uses_it(d, " (compile and link)")
    p, db = build_under_ptvfs(d, ["sh", "-c", "gcc -E main.c >/dev/null; true"], False)
    check(db == [], f"a run that compiles nothing (gcc -E) gives an empty database: {db}")


run_sections(make_driven, make_driven_as_nobody, ninja_driven, several_sources_in_one_run)
