// The cache databases of this process: one per source file, opened at its first use, warned about once each.
// Looking up never creates a database; storing does. Cache trouble is a miss plus a warning, never an error.
#pragma once
#include <Python.h>

#include <optional>
#include <string>

#include <llvm/ADT/STLFunctionalExtras.h>

#include "cache/store.h"
#include "profile/code_state.h"
#include "support/ref.h"

namespace pypaccel::cache {

// Where the databases are and how trouble is reported: the hook's configuration hands these over.
struct StoreSettings {
  support::Ref dbPathFor;  // callable filename -> (path, writable[, note]) | None; null: no databases
  support::Ref warning;    // category of cache warnings (null: RuntimeWarning)
  std::string journal;     // OpenOptions::journal
};
void configureStores(const StoreSettings& s);

enum class Open { IfExists, Create };

// The database of a source file, opened on first use (one attempt per file and process); nullptr when there is
// none, it cannot be opened, or the stores were closed.
Store* storeFor(const std::string& filename, Open how);

// The intact entry stored for `key` in the database of `filename` (never created here), or nullopt. A damaged
// entry is warned about; a database failing under us (malformed, locked) is dropped.
std::optional<Entry> lookUp(const std::string& filename, const std::string& key);

// Stores a specialization of `st` in its file's database, creating the database; false when it has no writable
// one. Code objects of the same qualname that this process runs are kept (not pruned as older versions of it).
bool put(profile::CodeState& st, const Entry& e);

// Warns (once per database and process) about the database of `filename`, if it is open.
void warnAbout(const std::string& filename, const std::string& msg);

// A database that failed under us: warn once and use it no more; when it is damaged and ours to write, delete it
// so that the next run starts a new one.
void dropStore(const std::string& filename, const std::string& problem);

// Every database opened so far, with its source file (for writing the run records).
void forEachStore(llvm::function_ref<void(const std::string& filename, Store& store)> fn);

// Closes every database (at exit, after the run records are written), so SQLite checkpoints its WAL and removes
// the -wal/-shm files; later compiles in this process are not stored.
void closeStores();

}  // namespace pypaccel::cache
