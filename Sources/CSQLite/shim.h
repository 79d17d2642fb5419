// The SQLite C API for the Ledger module (Debian: libsqlite3-dev).
#include <sqlite3.h>
