// SPDX-License-Identifier: MIT
/*
 * cpu_spin MS: busy for MS milliseconds without a syscall ptvfs stops on;
 * prints the CPUs it ran on in its last third, as a bit mask, and what
 * sched_getaffinity says it may use.
 */
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(int argc, char **argv)
{
	long ms = argc > 1 ? atol(argv[1]) : 300;
	long start = now_ms(), end = start + ms, late = start + 2 * ms / 3;
	unsigned long seen = 0;
	cpu_set_t allowed;
	volatile unsigned long sink = 0;

	while (now_ms() < end) {
		for (int i = 0; i < 100000; i++)
			sink += i;
		if (now_ms() >= late) {
			int cpu = sched_getcpu();
			if (cpu >= 0 && cpu < 64)
				seen |= 1UL << cpu;
		}
	}
	sched_getaffinity(0, sizeof(allowed), &allowed);
	printf("seen %lu allowed %d\n", seen, CPU_COUNT(&allowed));
	return 0;
}
