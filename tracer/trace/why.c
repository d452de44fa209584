// SPDX-License-Identifier: MIT
/* --why GLOB (tracer.h). */
#include "tracer.h"
