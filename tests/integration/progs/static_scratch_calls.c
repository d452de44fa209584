// SPDX-License-Identifier: MIT
/* scratch_calls linked statically (test_view_scratch.py): no libc of the system's reached. */
#include "scratch_calls.c"
