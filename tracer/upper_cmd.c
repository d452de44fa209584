// SPDX-License-Identifier: MIT
#include "commands.h"
