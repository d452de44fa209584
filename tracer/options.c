// SPDX-License-Identifier: MIT
/* The command line (options.h). */
#include "options.h"
