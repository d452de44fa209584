// SPDX-License-Identifier: MIT
#include "ptvfs/outputs.h"
