// Placeholder until the loader lands (see fastpath.h).
#include "fastpath/fastpath.h"
