// Store: one SQLite database per module (`__pycache__/<module>.cpython-311.pyp`) holding compiled
// specializations keyed by content hash, and the records of each run (what compiled, loaded, exited, fell back).
#pragma once
#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <llvm/Support/Error.h>

namespace pypaccel::cache {

constexpr int kApplicationId = 0x50595041;  // "PYPA"
constexpr int kSchemaVersion = 1;

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

struct Event {
  std::string qualname;
  int firstlineno = 0;
  std::string kind;  // compiled | loaded | native_calls | exit | fallback | disabled
  int offset = -1;
  int line = -1;
  std::string reason;
  uint64_t count = 0;
};

class Store {
 public:
  // Opens (creating if `writable`) the database at `path`. Errors say why; callers treat them as a cache miss.
  static llvm::Expected<std::unique_ptr<Store>> open(const std::string& path, bool writable,
                                                     const std::string& modulePath);
  ~Store();

  // A stored entry whose object checksum is intact, or nullopt (a damaged entry is reported in *problem).
  std::optional<Entry> lookup(const std::string& key, std::string* problem);
  llvm::Error put(const Entry& e);
  llvm::Error recordRun(const std::string& runId, double started, double ended, long pid, const std::string& argv,
                        const std::vector<Event>& events);
  bool writable() const { return writable_; }
  const std::string& path() const { return path_; }

 private:
  Store(sqlite3* db, std::string path, bool writable) : db_(db), path_(std::move(path)), writable_(writable) {}
  llvm::Error exec(const char* sql);
  sqlite3* db_;
  std::string path_;
  bool writable_;
};

// FNV-1a over the object and metadata bytes, stored beside each entry and checked before linking.
uint64_t checksum(const std::string& bytes);

}  // namespace pypaccel::cache
