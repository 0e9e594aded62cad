// Store: one SQLite database per module (`__pycache__/<module>.cpython-311.pyp`) holding compiled
// specializations keyed by content hash, what earlier runs learned about each function (profiles), and the
// records of each run (what compiled, loaded, exited, fell back). docs/cache-format.md describes the file.
#pragma once
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <llvm/Support/Error.h>

namespace pypaccel::cache {

constexpr int kApplicationId = 0x50595041;  // "PYPA"
constexpr int kSchemaVersion = 2;

// Bounds that keep a database from growing without limit (pruned in the transaction of each store).
constexpr int kKeepBuilds = 2;            // entries of the 2 most recently used build identities
// Per qualname: the code versions of its 2 most recent uses (see editedAway in store.cpp), and any in use.
constexpr int kKeepCodeVersions = 2;
constexpr int kMaxSpecializations = 2000; // least recently used beyond this go
constexpr int kMaxProfiles = 4000;

// SQLite busy timeouts (ms): a write waits for other writers longer than a read waits for a lock.
constexpr int kReadBusyMs = 3000;
constexpr int kWriteBusyMs = 15000;

struct Entry {
  std::string key;  // raw 32-byte hash
  std::string codeHash;
  std::string qualname;
  int firstlineno = 0;
  std::string signature;
  std::string build;
  std::string object;
  std::string meta;
  uint64_t checksum = 0;
  double compileMs = 0;
};

// What a run learned about one function and argument signature; the next process starts from it.
struct Profile {
  std::string codeHash;
  std::string signature;
  std::string build;
  std::string qualname;
  int firstlineno = 0;
  uint64_t calls = 0;    // calls of the function in that run (all signatures)
  uint64_t entries = 0;  // entries into native code with this signature
  uint64_t exits = 0;
  std::string state;     // "native" | "disabled" (exits on most entries) | "failed" (the compiler declined)
  std::string reason;    // why disabled or failed
  std::string widen;     // bytecode offsets compiled generically because their fast path kept exiting: "12,40"
  std::string exitRecords;  // "offset:reason:count;..." of the run, for stats and widening
};

struct Event {
  std::string qualname;
  int firstlineno = 0;
  std::string kind;  // compiled | loaded | native_calls | exit | fallback | disabled
  int offset = -1;
  int line = -1;
  std::string reason;
  uint64_t count = 0;
};

struct OpenOptions {
  bool writable = false;
  std::string modulePath;   // recorded in a new database's meta table
  std::string journal;      // "" (choose: WAL unless on a network filesystem), "wal" or "delete"
  bool checkOwner = true;   // refuse files of other users, or writable by group/others
};

class Store {
 public:
  // Opens (creating if writable) the database at `path`. Errors say why; callers treat them as a cache miss.
  static llvm::Expected<std::unique_ptr<Store>> open(const std::string& path, const OpenOptions& opts);
  ~Store();

  // A stored entry whose object checksum and identity are intact, or nullopt. Trouble (a damaged entry, a locked
  // or malformed database) is reported in *problem; a damaged entry is deleted when the store is writable.
  std::optional<Entry> lookup(const std::string& key, std::string* problem);
  // One BEGIN IMMEDIATE transaction: the entry, then pruning (other builds, older code versions, the size cap).
  // `running`: code hashes of e.qualname in use in this process (several code objects share a qualname: lambdas of
  // one line, a property's getter and setter), never pruned as older versions of it.
  llvm::Error put(const Entry& e, const std::set<std::string>& running = {});
  // Profiles written by `build`: of one code object, or (codeHash empty) of every code object in the file.
  llvm::Expected<std::vector<Profile>> profiles(const std::string& codeHash, const std::string& build);
  // One transaction: the run and its events (the last 20 runs are kept), the profiles learned, and last_used of
  // the entries this run used (loaded or compiled), all stamped alike: the code versions of one use.
  llvm::Error recordRun(const std::string& runId, double started, double ended, long pid, const std::string& argv,
                        const std::vector<Event>& events, const std::vector<Profile>& profiles = {},
                        const std::vector<std::string>& usedKeys = {});
  bool writable() const { return writable_; }
  const std::string& path() const { return path_; }
  const std::string& journalMode() const { return journal_; }
  // Something the caller should warn about although the open succeeded (a damaged file was replaced).
  const std::string& note() const { return note_; }
  // Whether the last failure was a damaged file (SQLITE_CORRUPT / SQLITE_NOTADB), as opposed to a lock.
  bool lastErrorIsDamage() const;
  // Deletes the database file and its journals: a damaged cache, so the next process starts a new one.
  static void remove(const std::string& path);

 private:
  Store(sqlite3* db, std::string path, bool writable) : db_(db), path_(std::move(path)), writable_(writable) {}
  llvm::Error exec(const char* sql);
  llvm::Error begin();  // BEGIN IMMEDIATE, waiting up to kWriteBusyMs for other writers
  llvm::Error setUp(const OpenOptions& opts, int app, int ver);
  llvm::Error pruneVersions(const char* table, const char* stamp, const std::string& qualname,
                            const std::set<std::string>& running);
  sqlite3* db_;
  std::string path_;
  bool writable_;
  std::string journal_;
  std::string note_;
};

// FNV-1a over the object and metadata bytes, stored beside each entry and checked before linking.
uint64_t checksum(const std::string& bytes);

// Why a file may not be trusted as a cache (owned by another user, writable by group or others), or "".
std::string distrustReason(const std::string& path);

}  // namespace pypaccel::cache
