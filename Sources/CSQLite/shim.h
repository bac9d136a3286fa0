#ifndef OCTOPROV_CSQLITE_SHIM_H
#define OCTOPROV_CSQLITE_SHIM_H

// Only OctopusStandIn imports this module, through its `SQLiteDatabase` wrapper. SQLITE_TRANSIENT is
// a cast macro Swift cannot import; the wrapper rebuilds it with `unsafeBitCast`.
#include <sqlite3.h>

#endif
