// SPDX-License-Identifier: MIT
#include "ptvfs/upper.h"
