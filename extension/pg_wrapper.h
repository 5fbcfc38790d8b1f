// The one place C++ code includes Postgres headers: inside extern "C", with the few
// macros that clash with the C++ standard library undone afterwards.
#pragma once

extern "C" {
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/float.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
}

// c.h defines these as macros; they break <algorithm> and friends.
#undef Min
#undef Max
#undef gettext
#undef dgettext
#undef ngettext
#undef dngettext
