// SPDX-License-Identifier: MIT
/* The run's private directory and its guard (scratch.h). */
#include "scratch.h"
