// SPDX-License-Identifier: MIT
/*
 * A dynamic program whose ELF interpreter and libraries exist only in a view:
 * linked (CMakeLists.txt) with the interpreter /opt/vlib/ld-linux-x86-64.so.2
 * and the run path /opt/vlib, which test_view_exec.py binds. Natively it
 * cannot start.
 *
 * Prints "exe: " and readlink(/proc/self/exe), then "arg: " and each
 * argument, then exits with the status its first argument names, or kills
 * itself with the signal "signal:N" names.
 */
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char exe[PATH_MAX + 1];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	exe[n < 0 ? 0 : n] = '\0';
	printf("exe: %s\n", n < 0 ? "(unreadable)" : exe);
	for (int i = 1; i < argc; i++)
		printf("arg: %s\n", argv[i]);
	fflush(stdout);
	if (argc > 1 && strncmp(argv[1], "signal:", 7) == 0) {
		signal(atoi(argv[1] + 7), SIG_DFL);
		raise(atoi(argv[1] + 7));
	}
	return argc > 1 ? atoi(argv[1]) : 0;
}
