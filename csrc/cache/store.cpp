// SQLite store: schema, lookups and writes. Every failure is an llvm::Error (or a `problem` text) the caller
// turns into a cache miss plus one warning; nothing here may crash on a damaged or hostile file.
#include "cache/store.h"

#include <sys/stat.h>

#include <chrono>
#include <map>
#include <sys/statfs.h>
#include <unistd.h>

#include "support/bail.h"

namespace pypaccel::cache {

namespace {

const char* kSchema = R"sql(
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE specializations(
  key BLOB PRIMARY KEY, code_hash BLOB NOT NULL, qualname TEXT NOT NULL, firstlineno INTEGER NOT NULL,
  signature TEXT NOT NULL, build TEXT NOT NULL, object BLOB NOT NULL, meta BLOB NOT NULL,
  checksum INTEGER NOT NULL, compile_ms REAL, created REAL NOT NULL, last_used REAL NOT NULL);
CREATE INDEX specializations_qualname ON specializations(qualname, code_hash);
CREATE TABLE profiles(
  code_hash BLOB NOT NULL, signature TEXT NOT NULL, build TEXT NOT NULL, qualname TEXT NOT NULL,
  firstlineno INTEGER NOT NULL, calls INTEGER NOT NULL, entries INTEGER NOT NULL, exits INTEGER NOT NULL,
  state TEXT NOT NULL, reason TEXT, widen TEXT NOT NULL, exit_records TEXT, updated REAL NOT NULL,
  PRIMARY KEY(code_hash, signature, build));
CREATE INDEX profiles_qualname ON profiles(qualname, code_hash);
CREATE TABLE runs(run_id TEXT PRIMARY KEY, started REAL NOT NULL, ended REAL, pid INTEGER, argv TEXT);
CREATE TABLE events(
  run_id TEXT NOT NULL, qualname TEXT NOT NULL, firstlineno INTEGER NOT NULL, kind TEXT NOT NULL,
  offset INTEGER, line INTEGER, reason TEXT, count INTEGER NOT NULL);
CREATE INDEX events_run ON events(run_id);
)sql";

// Schema 1 (pypaccel 0.1): its tables are dropped when a writable process upgrades the file. A cache holds nothing
// that cannot be rebuilt, so there is no data migration.
const char* kDropOld = R"sql(
DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS specializations; DROP TABLE IF EXISTS profiles;
DROP TABLE IF EXISTS runs; DROP TABLE IF EXISTS events;
)sql";

// Unix time for created, last_used and updated, to the microsecond (SQL's julianday('now') is to the millisecond):
// two stores never share a stamp, which editedAway relies on.
double unixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// The code versions of one qualname that were edited away, given when each was last used (code hash -> stamp):
// all but those in `running` and those of the kKeepCodeVersions most recent uses. A use is a stamp: a run stamps
// every version it used alike (Store::recordRun), so same-named code objects that run together (lambdas of one
// line, a property's getter and setter) are one use and stay together, however many there are; a store stamps
// its entry on its own. A function edited 100 times keeps 2 versions.
std::vector<std::string> editedAway(const std::map<std::string, double>& stampOf, const std::set<std::string>& running) {
  std::set<double, std::greater<double>> uses;
  for (const auto& [hash, stamp] : stampOf) uses.insert(stamp);
  if (int(uses.size()) <= kKeepCodeVersions) return {};
  double oldestKept = *std::next(uses.begin(), kKeepCodeVersions - 1);
  std::vector<std::string> out;
  for (const auto& [hash, stamp] : stampOf)
    if (stamp < oldestKept && !running.count(hash)) out.push_back(hash);
  return out;
}

// Pruning, run in the transaction of each store. Old builds go first: after an upgrade of Python, LLVM or pypaccel
// their entries can never match again. Then versions of the same function that were edited away (Store::
// pruneVersions), then whatever was used least recently beyond the cap.
const std::string kPruneBuilds =
    "DELETE FROM specializations WHERE build NOT IN (SELECT build FROM specializations GROUP BY build "
    "ORDER BY max(last_used) DESC LIMIT " + std::to_string(kKeepBuilds) + ")";
const std::string kCapSpecs =
    "DELETE FROM specializations WHERE key IN (SELECT key FROM specializations ORDER BY last_used DESC LIMIT -1 "
    "OFFSET " + std::to_string(kMaxSpecializations) + ")";
const std::string kPruneProfileBuilds =
    "DELETE FROM profiles WHERE build NOT IN (SELECT build FROM profiles GROUP BY build "
    "ORDER BY max(updated) DESC LIMIT " + std::to_string(kKeepBuilds) + ");";
const std::string kCapProfiles =
    "DELETE FROM profiles WHERE rowid IN (SELECT rowid FROM profiles ORDER BY updated DESC LIMIT -1 OFFSET " +
    std::to_string(kMaxProfiles) + ");";

// For the length of a write transaction, waits for other writers up to kWriteBusyMs instead of kReadBusyMs.
struct WriteTimeout {
  sqlite3* db;
  explicit WriteTimeout(sqlite3* d) : db(d) { sqlite3_busy_timeout(db, kWriteBusyMs); }
  ~WriteTimeout() { sqlite3_busy_timeout(db, kReadBusyMs); }
};

struct Stmt {
  sqlite3_stmt* s = nullptr;
  Stmt() = default;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  ~Stmt() { sqlite3_finalize(s); }
  void finalize() {
    sqlite3_finalize(s);
    s = nullptr;
  }
};

llvm::Error sqlError(sqlite3* db, const std::string& what) {
  return support::bail(what + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
}

// -1 when the statement fails (not a database, malformed, locked).
int pragmaInt(sqlite3* db, const char* sql) {
  Stmt st;
  if (sqlite3_prepare_v2(db, sql, -1, &st.s, nullptr) != SQLITE_OK) return -1;
  if (sqlite3_step(st.s) != SQLITE_ROW) return -1;
  return sqlite3_column_int(st.s, 0);
}

std::string pragmaText(sqlite3* db, const char* sql) {
  Stmt st;
  if (sqlite3_prepare_v2(db, sql, -1, &st.s, nullptr) != SQLITE_OK) return "";
  if (sqlite3_step(st.s) != SQLITE_ROW) return "";
  const unsigned char* t = sqlite3_column_text(st.s, 0);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::string columnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

std::string columnText(sqlite3_stmt* s, int i) {
  const unsigned char* t = sqlite3_column_text(s, i);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::string directoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

// WAL needs shared memory between every process that opens the file, so one host: SQLite's documentation says
// not to use it on network filesystems, where it may even seem to work.
bool onNetworkFilesystem(const std::string& path) {
  struct statfs fs;
  if (::statfs(directoryOf(path).c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case 0x6969:      // NFS
    case 0x517B:      // SMB
    case 0xFF534D42:  // CIFS
    case 0xFE534D42:  // SMB2
    case 0x5346414F:  // AFS
    case 0x00C36400:  // Ceph
    case 0x01021997:  // 9P (v9fs)
    case 0x0BD00BD0:  // Lustre
    case 0x47504653:  // GPFS
      return true;
    default:
      return false;
  }
}

}  // namespace

uint64_t checksum(const std::string& bytes) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a 64 offset basis (schema 1 had it one digit short)
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

std::string distrustReason(const std::string& path) {
  struct stat sb;
  if (::stat(path.c_str(), &sb) != 0) return "";
  if (sb.st_uid != ::geteuid())
    return path + " is owned by another user (uid " + std::to_string(sb.st_uid) +
           "); refused: whoever can write a cache can run native code in this process";
  if (sb.st_mode & (S_IWGRP | S_IWOTH))
    return path + " is writable by group or others; refused: whoever can write a cache can run native code in "
                  "this process (chmod go-w fixes it)";
  return "";
}

Store::~Store() { sqlite3_close_v2(db_); }

bool Store::lastErrorIsDamage() const {
  int c = sqlite3_errcode(db_) & 0xff;
  return c == SQLITE_CORRUPT || c == SQLITE_NOTADB;
}

void Store::remove(const std::string& path) {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) ::unlink((path + suffix).c_str());
}

llvm::Error Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    return support::bail(std::string("sqlite: ") + msg);
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Store>> Store::open(const std::string& path, const OpenOptions& opts) {
  struct stat sb;
  bool existed = ::stat(path.c_str(), &sb) == 0;
  if (opts.checkOwner) {
    for (const std::string& p : {path, path + "-wal"}) {
      std::string why = distrustReason(p);
      if (!why.empty()) return support::bail(why);
    }
  }
  sqlite3* db = nullptr;
  int flags = opts.writable ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    auto err = sqlError(db, "cannot open " + path);
    sqlite3_close_v2(db);
    return std::move(err);
  }
  std::unique_ptr<Store> store(new Store(db, path, opts.writable));
  // Writers hold the lock for well under a millisecond (one entry per transaction), but a loaded machine with
  // many writers queues them: writes wait up to kWriteBusyMs. Reads wait less: a lock held that long is someone
  // else's doing, and a program must not stall on it.
  sqlite3_busy_timeout(db, kReadBusyMs);
  // A file we just created has the process's umask; a cache writable by others would be refused by the next run.
  if (!existed && opts.writable && ::stat(path.c_str(), &sb) == 0 && (sb.st_mode & (S_IWGRP | S_IWOTH)))
    ::chmod(path.c_str(), sb.st_mode & ~(S_IWGRP | S_IWOTH) & 07777);
  int app = pragmaInt(db, "PRAGMA application_id");
  if (app < 0) {
    std::string msg = sqlite3_errmsg(db);
    if (sqlite3_errcode(db) == SQLITE_BUSY) return support::bail(path + " is locked by another process (" + msg + ")");
    bool ours = path.size() > 4 && path.compare(path.size() - 4, 4, ".pyp") == 0;
    if (opts.writable && ours && store->lastErrorIsDamage()) {
      // Our own cache file, damaged beyond reading (truncated, overwritten): start a new one rather than warn
      // about the same file in every run. Anything not named like a cache is left alone.
      store.reset();
      remove(path);
      auto fresh = open(path, opts);
      if (fresh) (*fresh)->note_ = path + " was damaged (" + msg + "); replaced with a new cache";
      return fresh;
    }
    return support::bail(path + " is not a SQLite database (" + msg + ")");
  }
  int ver = pragmaInt(db, "PRAGMA user_version");
  if (app != 0 && app != kApplicationId) return support::bail(path + " is not a pypaccel cache");
  if (ver > kSchemaVersion)
    return support::bail(path + " has a newer schema (" + std::to_string(ver) + "), written by a newer pypaccel");
  if (!opts.writable) {
    if (app != kApplicationId) return support::bail(path + " is empty");
    if (ver < kSchemaVersion)
      return support::bail(path + " has an older schema (" + std::to_string(ver) + ") and is read-only");
    store->journal_ = pragmaText(db, "PRAGMA journal_mode");
    return std::move(store);
  }
  if (auto err = store->setUp(opts, app, ver)) return std::move(err);
  return std::move(store);
}

// A writable database: create or upgrade the schema if needed, then choose the journal.
llvm::Error Store::setUp(const OpenOptions& opts, int app, int ver) {
  if (app == 0 || ver < kSchemaVersion) {
    WriteTimeout wait(db_);
    if (auto err = begin()) return err;
    auto fail = [&](llvm::Error err) {
      llvm::consumeError(exec("ROLLBACK"));
      return err;
    };
    // Decided under the lock: another process may have set it up (or upgraded it) while we waited.
    int app2 = pragmaInt(db_, "PRAGMA application_id");
    int ver2 = pragmaInt(db_, "PRAGMA user_version");
    if (app2 == kApplicationId && ver2 == kSchemaVersion) return exec("COMMIT");
    if (app2 != 0 && app2 != kApplicationId) return fail(support::bail(path_ + " is not a pypaccel cache"));
    if (ver2 > kSchemaVersion) return fail(support::bail(path_ + " has a newer schema (" + std::to_string(ver2) + ")"));
    // An unmarked database is only ours to set up if it is empty: never take over someone else's tables.
    if (app2 == 0 && pragmaInt(db_, "SELECT count(*) FROM sqlite_master") != 0)
      return fail(support::bail(path_ + " is not a pypaccel cache"));
    if (app2 == kApplicationId)
      if (auto err = exec(kDropOld)) return fail(std::move(err));
    if (auto err = exec(kSchema)) return fail(std::move(err));
    std::string pragmas = "PRAGMA application_id=" + std::to_string(kApplicationId) +
                          "; PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";";
    if (auto err = exec(pragmas.c_str())) return fail(std::move(err));
    Stmt st;
    sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO meta(key, value) VALUES('module_path', ?), ('schema', ?)", -1,
                       &st.s, nullptr);
    sqlite3_bind_text(st.s, 1, opts.modulePath.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.s, 2, std::to_string(kSchemaVersion).c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.s) != SQLITE_DONE) return fail(sqlError(db_, "writing meta"));
    if (auto err = exec("COMMIT")) return fail(std::move(err));
  }
  // Only now that it is known to be ours (the journal mode is a persistent change to the file). WAL makes a store
  // a fraction of a millisecond (docs/cache-format.md); where it cannot work, the rollback journal is the safe choice.
  bool wantWal = opts.journal == "wal" || (opts.journal.empty() && !onNetworkFilesystem(path_));
  journal_ = pragmaText(db_, wantWal ? "PRAGMA journal_mode=WAL" : "PRAGMA journal_mode=DELETE");
  if (journal_.empty()) journal_ = pragmaText(db_, "PRAGMA journal_mode");  // busy: another process decided
  // WAL without syncs, like a .pyc: a process that dies loses nothing, and damage from an OS crash is detected
  // (replaced file, per-entry checksums). NORMAL cost about 8 fdatasync calls (7 ms) when the caches close at exit.
  if (auto err = exec(journal_ == "wal" ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL"))
    llvm::consumeError(std::move(err));
  return llvm::Error::success();
}

std::optional<Entry> Store::lookup(const std::string& key, std::string* problem) {
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT code_hash, qualname, firstlineno, signature, build, object, meta, checksum "
                         "FROM specializations WHERE key = ?",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    *problem = path_ + ": " + sqlite3_errmsg(db_);
    return std::nullopt;
  }
  sqlite3_bind_blob(st.s, 1, key.data(), int(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) *problem = path_ + ": " + sqlite3_errmsg(db_);
    return std::nullopt;
  }
  Entry e;
  e.key = key;
  e.codeHash = columnBlob(st.s, 0);
  e.qualname = columnText(st.s, 1);
  e.firstlineno = sqlite3_column_int(st.s, 2);
  e.signature = columnText(st.s, 3);
  e.build = columnText(st.s, 4);
  e.object = columnBlob(st.s, 5);
  e.meta = columnBlob(st.s, 6);
  e.checksum = uint64_t(sqlite3_column_int64(st.s, 7));
  if (checksum(e.object + e.meta) == e.checksum) return e;
  *problem = path_ + ": damaged entry for " + e.qualname + " (checksum mismatch); it will be compiled again";
  st.finalize();  // the read is over before the delete below
  if (writable_) {
    // Drop it, so the next process does not trip over it again (the compile that follows stores a good one).
    Stmt del;
    if (sqlite3_prepare_v2(db_, "DELETE FROM specializations WHERE key = ?", -1, &del.s, nullptr) == SQLITE_OK) {
      sqlite3_bind_blob(del.s, 1, key.data(), int(key.size()), SQLITE_STATIC);
      sqlite3_step(del.s);
    }
  }
  return std::nullopt;
}

llvm::Error Store::begin() { return exec("BEGIN IMMEDIATE"); }

// Deletes the rows of `qualname` in `table` (specializations or profiles, `stamp` their last_used or updated) of
// code versions that were edited away (see editedAway).
llvm::Error Store::pruneVersions(const char* table, const char* stamp, const std::string& qualname,
                                 const std::set<std::string>& running) {
  std::map<std::string, double> stampOf;
  {
    Stmt st;
    std::string sql = std::string("SELECT code_hash, max(") + stamp + ") FROM " + table +
                      " WHERE qualname = ? GROUP BY code_hash";
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st.s, nullptr) != SQLITE_OK) return sqlError(db_, "prune");
    sqlite3_bind_text(st.s, 1, qualname.c_str(), -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) stampOf[columnBlob(st.s, 0)] = sqlite3_column_double(st.s, 1);
    if (rc != SQLITE_DONE) return sqlError(db_, "prune");
  }
  std::vector<std::string> gone = editedAway(stampOf, running);
  if (gone.empty()) return llvm::Error::success();
  Stmt del;
  std::string sql = std::string("DELETE FROM ") + table + " WHERE qualname = ? AND code_hash = ?";
  if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &del.s, nullptr) != SQLITE_OK) return sqlError(db_, "prune");
  for (const std::string& hash : gone) {
    sqlite3_reset(del.s);
    sqlite3_bind_text(del.s, 1, qualname.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_blob(del.s, 2, hash.data(), int(hash.size()), SQLITE_STATIC);
    if (sqlite3_step(del.s) != SQLITE_DONE) return sqlError(db_, "prune");
  }
  return llvm::Error::success();
}

llvm::Error Store::put(const Entry& e, const std::set<std::string>& running) {
  if (!writable_) return llvm::Error::success();
  WriteTimeout wait(db_);
  if (auto err = begin()) return err;
  auto fail = [&](const char* what) {
    auto err = sqlError(db_, what);
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  };
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_,
                           "INSERT OR REPLACE INTO specializations(key, code_hash, qualname, firstlineno, signature, "
                           "build, object, meta, checksum, compile_ms, created, last_used) "
                           "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?11, ?11)",
                           -1, &st.s, nullptr) != SQLITE_OK)
      return fail("store");
    sqlite3_bind_blob(st.s, 1, e.key.data(), int(e.key.size()), SQLITE_STATIC);
    sqlite3_bind_blob(st.s, 2, e.codeHash.data(), int(e.codeHash.size()), SQLITE_STATIC);
    sqlite3_bind_text(st.s, 3, e.qualname.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_int(st.s, 4, e.firstlineno);
    sqlite3_bind_text(st.s, 5, e.signature.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_text(st.s, 6, e.build.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_blob(st.s, 7, e.object.data(), int(e.object.size()), SQLITE_STATIC);
    sqlite3_bind_blob(st.s, 8, e.meta.data(), int(e.meta.size()), SQLITE_STATIC);
    sqlite3_bind_int64(st.s, 9, int64_t(checksum(e.object + e.meta)));
    sqlite3_bind_double(st.s, 10, e.compileMs);
    sqlite3_bind_double(st.s, 11, unixNow());
    if (sqlite3_step(st.s) != SQLITE_DONE) return fail("store");
  }
  std::set<std::string> inUse = running;
  inUse.insert(e.codeHash);
  llvm::Error err = exec(kPruneBuilds.c_str());
  if (!err) err = pruneVersions("specializations", "last_used", e.qualname, inUse);
  if (!err) err = exec(kCapSpecs.c_str());
  if (err) {
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  }
  return exec("COMMIT");
}

llvm::Expected<std::vector<Profile>> Store::profiles(const std::string& codeHash, const std::string& build) {
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT signature, qualname, firstlineno, calls, entries, exits, state, reason, widen, "
                         "exit_records, code_hash FROM profiles WHERE build = ?1 AND (?2 IS NULL OR code_hash = ?2)",
                         -1, &st.s, nullptr) != SQLITE_OK)
    return sqlError(db_, path_ + ": reading profiles");
  sqlite3_bind_text(st.s, 1, build.c_str(), -1, SQLITE_STATIC);
  if (codeHash.empty()) sqlite3_bind_null(st.s, 2);
  else sqlite3_bind_blob(st.s, 2, codeHash.data(), int(codeHash.size()), SQLITE_STATIC);
  std::vector<Profile> out;
  int rc;
  while ((rc = sqlite3_step(st.s)) == SQLITE_ROW) {
    Profile p;
    p.build = build;
    p.signature = columnText(st.s, 0);
    p.qualname = columnText(st.s, 1);
    p.firstlineno = sqlite3_column_int(st.s, 2);
    p.calls = uint64_t(sqlite3_column_int64(st.s, 3));
    p.entries = uint64_t(sqlite3_column_int64(st.s, 4));
    p.exits = uint64_t(sqlite3_column_int64(st.s, 5));
    p.state = columnText(st.s, 6);
    p.reason = columnText(st.s, 7);
    p.widen = columnText(st.s, 8);
    p.exitRecords = columnText(st.s, 9);
    p.codeHash = columnBlob(st.s, 10);
    out.push_back(std::move(p));
  }
  if (rc != SQLITE_DONE) return sqlError(db_, path_ + ": reading profiles");
  return out;
}

llvm::Error Store::recordRun(const std::string& runId, double started, double ended, long pid,
                             const std::string& argv, const std::vector<Event>& events,
                             const std::vector<Profile>& profiles, const std::vector<std::string>& usedKeys) {
  if (!writable_) return llvm::Error::success();
  WriteTimeout wait(db_);
  if (auto err = begin()) return err;
  auto fail = [&](const char* what) {
    auto err = sqlError(db_, what);
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  };
  // Everything this run used gets one stamp: the code versions of one use (see editedAway).
  const double stamp = unixNow();
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "INSERT OR REPLACE INTO runs(run_id, started, ended, pid, argv) VALUES(?,?,?,?,?)",
                           -1, &st.s, nullptr) != SQLITE_OK)
      return fail("runs");
    sqlite3_bind_text(st.s, 1, runId.c_str(), -1, SQLITE_STATIC);
    sqlite3_bind_double(st.s, 2, started);
    sqlite3_bind_double(st.s, 3, ended);
    sqlite3_bind_int64(st.s, 4, pid);
    sqlite3_bind_text(st.s, 5, argv.c_str(), -1, SQLITE_STATIC);
    if (sqlite3_step(st.s) != SQLITE_DONE) return fail("runs");
  }
  {
    // flush() may run more than once in a process: a run's events are replaced, not duplicated.
    Stmt del;
    if (sqlite3_prepare_v2(db_, "DELETE FROM events WHERE run_id = ?", -1, &del.s, nullptr) != SQLITE_OK)
      return fail("events");
    sqlite3_bind_text(del.s, 1, runId.c_str(), -1, SQLITE_STATIC);
    if (sqlite3_step(del.s) != SQLITE_DONE) return fail("events");
  }
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_,
                           "INSERT INTO events(run_id, qualname, firstlineno, kind, offset, line, reason, count) "
                           "VALUES(?,?,?,?,?,?,?,?)",
                           -1, &st.s, nullptr) != SQLITE_OK)
      return fail("events");
    for (const Event& ev : events) {
      sqlite3_reset(st.s);
      sqlite3_bind_text(st.s, 1, runId.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st.s, 2, ev.qualname.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int(st.s, 3, ev.firstlineno);
      sqlite3_bind_text(st.s, 4, ev.kind.c_str(), -1, SQLITE_STATIC);
      if (ev.offset >= 0) sqlite3_bind_int(st.s, 5, ev.offset); else sqlite3_bind_null(st.s, 5);
      if (ev.line >= 0) sqlite3_bind_int(st.s, 6, ev.line); else sqlite3_bind_null(st.s, 6);
      if (!ev.reason.empty()) sqlite3_bind_text(st.s, 7, ev.reason.c_str(), -1, SQLITE_STATIC);
      else sqlite3_bind_null(st.s, 7);
      sqlite3_bind_int64(st.s, 8, int64_t(ev.count));
      if (sqlite3_step(st.s) != SQLITE_DONE) return fail("events");
    }
  }
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_,
                           "INSERT OR REPLACE INTO profiles(code_hash, signature, build, qualname, firstlineno, calls, "
                           "entries, exits, state, reason, widen, exit_records, updated) "
                           "VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &st.s, nullptr) != SQLITE_OK)
      return fail("profiles");
    for (const Profile& p : profiles) {
      sqlite3_reset(st.s);
      sqlite3_bind_blob(st.s, 1, p.codeHash.data(), int(p.codeHash.size()), SQLITE_STATIC);
      sqlite3_bind_text(st.s, 2, p.signature.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st.s, 3, p.build.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st.s, 4, p.qualname.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_int(st.s, 5, p.firstlineno);
      sqlite3_bind_int64(st.s, 6, int64_t(p.calls));
      sqlite3_bind_int64(st.s, 7, int64_t(p.entries));
      sqlite3_bind_int64(st.s, 8, int64_t(p.exits));
      sqlite3_bind_text(st.s, 9, p.state.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st.s, 10, p.reason.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st.s, 11, p.widen.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_text(st.s, 12, p.exitRecords.c_str(), -1, SQLITE_STATIC);
      sqlite3_bind_double(st.s, 13, stamp);
      if (sqlite3_step(st.s) != SQLITE_DONE) return fail("profiles");
    }
    // Older code versions of each function whose profile was written (those written now are in use), and other
    // builds'.
    std::map<std::string, std::set<std::string>> written;
    for (const Profile& p : profiles) written[p.qualname].insert(p.codeHash);
    for (const auto& [qualname, hashes] : written)
      if (auto err = pruneVersions("profiles", "updated", qualname, hashes)) {
        llvm::consumeError(std::move(err));
        return fail("prune profiles");
      }
    if (!profiles.empty())
      if (auto err = exec(kPruneProfileBuilds.c_str())) {
        llvm::consumeError(std::move(err));
        return fail("prune profiles");
      }
  }
  {
    Stmt st;
    if (sqlite3_prepare_v2(db_, "UPDATE specializations SET last_used = ? WHERE key = ?", -1, &st.s, nullptr) !=
        SQLITE_OK)
      return fail("last_used");
    for (const std::string& k : usedKeys) {
      sqlite3_reset(st.s);
      sqlite3_bind_double(st.s, 1, stamp);
      sqlite3_bind_blob(st.s, 2, k.data(), int(k.size()), SQLITE_STATIC);
      if (sqlite3_step(st.s) != SQLITE_DONE) return fail("last_used");
    }
  }
  // Keep the run log bounded (the last 20 runs) and the profiles too.
  std::string bound =
      "DELETE FROM events WHERE run_id NOT IN (SELECT run_id FROM runs ORDER BY started DESC LIMIT 20);"
      "DELETE FROM runs WHERE run_id NOT IN (SELECT run_id FROM runs ORDER BY started DESC LIMIT 20);" +
      kCapProfiles;
  if (auto err = exec(bound.c_str())) {
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  }
  return exec("COMMIT");
}

}  // namespace pypaccel::cache
