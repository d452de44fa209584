// SPDX-License-Identifier: MIT
/*
 * cpu_spin MS: busy for MS milliseconds without a syscall ptvfs stops on;
 * prints the CPUs it ran on in its last third, as a bit mask, what
 * sched_getaffinity says it may use, and the number of CPUs the kernel
 * really lets it use two thirds into its run (Cpus_allowed_list, which ptvfs
 * does not hide).
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* CPUs in Cpus_allowed_list of /proc/self/status ("0-1", "0", "0,2-3"). */
static int really_allowed(void)
{
	char line[256];
	int count = 0;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f)) {
		char *p;
		if (strncmp(line, "Cpus_allowed_list:", 18) != 0)
			continue;
		for (p = line + 18; *p;) {
			long lo = strtol(p, &p, 10), hi = lo;
			if (*p == '-')
				hi = strtol(p + 1, &p, 10);
			count += hi - lo + 1;
			while (*p && *p != ',' && *p != '\n')
				p++;
			if (*p != ',')
				break;
			p++;
		}
	}
	if (f)
		fclose(f);
	return count;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 300;
	long start = now_ms(), end = start + ms, late = start + 2 * ms / 3;
	unsigned long seen = 0;
	cpu_set_t allowed;
	volatile unsigned long sink = 0;
	int really = -1;

	while (now_ms() < end) {
		for (int i = 0; i < 100000; i++)
			sink += i;
		if (now_ms() >= late) {
			int cpu = sched_getcpu();
			if (really < 0)
				really = really_allowed();
			if (cpu >= 0 && cpu < 64)
				seen |= 1UL << cpu;
		}
	}
	sched_getaffinity(0, sizeof(allowed), &allowed);
	printf("seen %lu allowed %d really %d\n", seen, CPU_COUNT(&allowed), really);
	return 0;
}
