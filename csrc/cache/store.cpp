// SQLite store: schema, lookups and writes. Every failure is an llvm::Error the caller turns into a cache miss.
#include "cache/store.h"

#include "support/bail.h"

namespace pypaccel::cache {

namespace {

const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS specializations(
  key BLOB PRIMARY KEY, code_hash BLOB NOT NULL, qualname TEXT NOT NULL, firstlineno INTEGER NOT NULL,
  signature TEXT NOT NULL, build TEXT NOT NULL, object BLOB NOT NULL, meta BLOB NOT NULL,
  checksum INTEGER NOT NULL, compile_ms REAL, created REAL NOT NULL, last_used REAL);
CREATE TABLE IF NOT EXISTS runs(run_id TEXT PRIMARY KEY, started REAL NOT NULL, ended REAL, pid INTEGER, argv TEXT);
CREATE TABLE IF NOT EXISTS events(
  run_id TEXT NOT NULL, qualname TEXT NOT NULL, firstlineno INTEGER NOT NULL, kind TEXT NOT NULL,
  offset INTEGER, line INTEGER, reason TEXT, count INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id);
)sql";

struct Stmt {
  sqlite3_stmt* s = nullptr;
  ~Stmt() { sqlite3_finalize(s); }
};

llvm::Error sqlError(sqlite3* db, const std::string& what) {
  return support::bail(what + ": " + (db ? sqlite3_errmsg(db) : "cannot open"));
}

int pragmaInt(sqlite3* db, const char* sql) {
  Stmt st;
  if (sqlite3_prepare_v2(db, sql, -1, &st.s, nullptr) != SQLITE_OK) return -1;
  if (sqlite3_step(st.s) != SQLITE_ROW) return -1;
  return sqlite3_column_int(st.s, 0);
}

std::string columnBlob(sqlite3_stmt* s, int i) {
  const void* p = sqlite3_column_blob(s, i);
  int n = sqlite3_column_bytes(s, i);
  return p ? std::string(static_cast<const char*>(p), n) : std::string();
}

}  // namespace

uint64_t checksum(const std::string& bytes) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

Store::~Store() { sqlite3_close_v2(db_); }

llvm::Error Store::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "error";
    sqlite3_free(err);
    return support::bail(std::string("sqlite: ") + msg);
  }
  return llvm::Error::success();
}

llvm::Expected<std::unique_ptr<Store>> Store::open(const std::string& path, bool writable,
                                                   const std::string& modulePath) {
  sqlite3* db = nullptr;
  int flags = writable ? (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) : SQLITE_OPEN_READONLY;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    auto err = sqlError(db, "cannot open " + path);
    sqlite3_close_v2(db);
    return std::move(err);
  }
  std::unique_ptr<Store> store(new Store(db, path, writable));
  sqlite3_busy_timeout(db, 5000);
  int app = pragmaInt(db, "PRAGMA application_id");
  int ver = pragmaInt(db, "PRAGMA user_version");
  if (app < 0) return support::bail(path + " is not a SQLite database");
  if (app != 0 && app != kApplicationId) return support::bail(path + " is not a pypaccel cache");
  if (ver > kSchemaVersion) return support::bail(path + " has a newer schema (" + std::to_string(ver) + ")");
  if (!writable) {
    if (app != kApplicationId) return support::bail(path + " is empty");
    return std::move(store);
  }
  if (app == 0) {
    // An unmarked database is only ours to set up if it is empty: never take over someone else's tables.
    if (pragmaInt(db, "SELECT count(*) FROM sqlite_master") > 0) return support::bail(path + " is not a pypaccel cache");
    if (auto err = store->exec("BEGIN IMMEDIATE")) return std::move(err);
    if (auto err = store->exec(kSchema)) return std::move(err);
    std::string pragmas = "PRAGMA application_id=" + std::to_string(kApplicationId) +
                          "; PRAGMA user_version=" + std::to_string(kSchemaVersion) + ";";
    if (auto err = store->exec(pragmas.c_str())) return std::move(err);
    Stmt st;
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta(key, value) VALUES('module_path', ?), ('schema', ?)", -1,
                       &st.s, nullptr);
    sqlite3_bind_text(st.s, 1, modulePath.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st.s, 2, std::to_string(kSchemaVersion).c_str(), -1, SQLITE_TRANSIENT);
    if (sqlite3_step(st.s) != SQLITE_DONE) return sqlError(db, "writing meta");
    if (auto err = store->exec("COMMIT")) return std::move(err);
  }
  // Only now that it is known to be ours: WAL makes a store a fraction of a millisecond (design.md).
  if (auto err = store->exec("PRAGMA journal_mode=WAL")) llvm::consumeError(std::move(err));
  if (auto err = store->exec("PRAGMA synchronous=NORMAL")) llvm::consumeError(std::move(err));
  return std::move(store);
}

std::optional<Entry> Store::lookup(const std::string& key, std::string* problem) {
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "SELECT code_hash, qualname, firstlineno, signature, build, object, meta, checksum "
                         "FROM specializations WHERE key = ?",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    *problem = sqlite3_errmsg(db_);
    return std::nullopt;
  }
  sqlite3_bind_blob(st.s, 1, key.data(), int(key.size()), SQLITE_STATIC);
  int rc = sqlite3_step(st.s);
  if (rc != SQLITE_ROW) {
    if (rc != SQLITE_DONE) *problem = sqlite3_errmsg(db_);
    return std::nullopt;
  }
  Entry e;
  e.key = key;
  e.codeHash = columnBlob(st.s, 0);
  e.qualname = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 1) ?: (const unsigned char*)"");
  e.firstlineno = sqlite3_column_int(st.s, 2);
  e.signature = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 3) ?: (const unsigned char*)"");
  e.build = reinterpret_cast<const char*>(sqlite3_column_text(st.s, 4) ?: (const unsigned char*)"");
  e.object = columnBlob(st.s, 5);
  e.meta = columnBlob(st.s, 6);
  e.checksum = uint64_t(sqlite3_column_int64(st.s, 7));
  if (checksum(e.object + e.meta) != e.checksum) {
    *problem = "damaged entry for " + e.qualname + " (checksum mismatch)";
    return std::nullopt;
  }
  return e;
}

llvm::Error Store::put(const Entry& e) {
  if (!writable_) return llvm::Error::success();
  if (auto err = exec("BEGIN IMMEDIATE")) return err;
  Stmt st;
  if (sqlite3_prepare_v2(db_,
                         "INSERT OR REPLACE INTO specializations(key, code_hash, qualname, firstlineno, signature, "
                         "build, object, meta, checksum, compile_ms, created) "
                         "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, (julianday('now') - 2440587.5) * 86400.0)",
                         -1, &st.s, nullptr) != SQLITE_OK) {
    auto err = sqlError(db_, "store");
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  }
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
  if (sqlite3_step(st.s) != SQLITE_DONE) {
    auto err = sqlError(db_, "store");
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  }
  return exec("COMMIT");
}

llvm::Error Store::recordRun(const std::string& runId, double started, double ended, long pid,
                             const std::string& argv, const std::vector<Event>& events) {
  if (!writable_) return llvm::Error::success();
  if (auto err = exec("BEGIN IMMEDIATE")) return err;
  auto fail = [&](const char* what) {
    auto err = sqlError(db_, what);
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  };
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
  // Keep the run log bounded: the last 20 runs.
  if (auto err = exec("DELETE FROM events WHERE run_id NOT IN (SELECT run_id FROM runs ORDER BY started DESC LIMIT 20);"
                      "DELETE FROM runs WHERE run_id NOT IN (SELECT run_id FROM runs ORDER BY started DESC LIMIT 20);")) {
    llvm::consumeError(exec("ROLLBACK"));
    return err;
  }
  return exec("COMMIT");
}

}  // namespace pypaccel::cache
